"""The token-id cache: a text corpus tokenised once, kept as memory-mapped arrays, reused by every later command.

Where: ``$SENTAE_CACHE_DIR/tokens`` when ``SENTAE_CACHE_DIR`` is set, else ``~/.cache/sentae/tokens``. A user
cache rather than the run folder: many runs (a sweep, eval, neighbours, transfer of each) share one corpus, and a
run folder is what is pushed and passed around, so it should not carry the ids of its corpus.
``SENTAE_TOKEN_CACHE=off`` turns the cache off (every command reads and tokenises the corpus, as before).

One entry is a folder ``<key>-<tokenizer>``: ``key`` hashes what the data is made from (sentae's version, the
source, each file read with its absolute path, size and modification time, the split settings, ``data.limit`` and
every ``data.options``); ``tokenizer`` is the start of the trained tokenizer's fingerprint. Inside: the tokenizer
(``tokenizer.json`` and its files), per split ``<split>.tokens`` (flat ids), ``<split>.offsets`` (int64, one more
than the sentences) and ``<split>.labels`` (int16, sentences x attributes), and, written last, ``manifest.json``
(sizes, dtypes, attributes, the notes and length report). An entry is built in a hidden ``.tmp-`` folder and
renamed into place, so a reader sees a whole entry or none; one whose manifest is missing or whose file sizes
disagree with it is rebuilt. ``clear()`` deletes entries and leftovers, and only files of the names sentae writes.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..io import atomic_write_text
from ..version import __version__
from .readers import SPLITS, TextSplit
from .token_store import RaggedIds, token_dtype
from .tokenizer_files import TOKENIZER_FILE, TOKENIZER_FILES
from .tokenizers import Tokenizer

__all__ = ["CACHE_ENV", "Entry", "cache_root", "clear", "corpus_key", "discard", "enabled", "expect_tokenizer",
           "manifest_doc", "new_entry", "open_entry", "seal_entry", "write_entry"]

CACHE_ENV = "SENTAE_CACHE_DIR"
SWITCH_ENV = "SENTAE_TOKEN_CACHE"  # "off" (or 0/false/no): no cache
FORMAT = "sentae-token-cache"
VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 8192  # sentences encoded at once while an entry is written
ARRAY_SUFFIXES = (".tokens", ".offsets", ".labels")
ENTRY_NAME = re.compile(r"[0-9a-f]{32}-[0-9a-f]{16}")  # <key>-<tokenizer>: the only folders clear() looks into

# The tokenizer a rebuilt run must have: set by the run folder around build_data, read where the cache is looked up.
_expected: contextvars.ContextVar[Tokenizer | None] = contextvars.ContextVar("sentae_expected_tokenizer", default=None)


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "").strip().lower() not in ("off", "0", "false", "no")


def cache_root() -> Path:
    base = os.environ.get(CACHE_ENV)
    root = Path(base).expanduser() if base else Path("~/.cache/sentae").expanduser()
    return root / "tokens"


@contextlib.contextmanager
def expect_tokenizer(tokenizer: Tokenizer | None) -> Iterator[None]:
    """Within this block, a cache entry is used only if it was made with ``tokenizer`` (a run's saved one), and the
    data takes that tokenizer: a command on a run reads its ids without training a tokenizer again."""
    token = _expected.set(tokenizer)
    try:
        yield
    finally:
        _expected.reset(token)


def expected_tokenizer() -> Tokenizer | None:
    return _expected.get()


def _identity(path: Path) -> list[Any]:
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def corpus_key(source: str, files: Sequence[Path], settings: dict[str, Any], options: Any) -> str:
    """The hash of what a source's data is made from: its files' identities, its settings and options. A local
    pretrained tokenizer's file counts as a file too (its content may change under the same name)."""
    opts = dataclasses.asdict(options) if dataclasses.is_dataclass(options) else dict(options)
    extra = []
    pre = opts.get("pretrained_tokenizer")
    if opts.get("tokenizer") == "pretrained" and pre:
        p = Path(pre).expanduser()
        p = p / TOKENIZER_FILE if p.is_dir() else p
        if p.is_file():
            extra.append(_identity(p))
    doc = {"format": FORMAT, "version": VERSION, "sentae": __version__, "source": source,
           "files": [_identity(Path(f)) for f in files] + extra, "settings": settings, "options": opts}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]


@dataclass
class Entry:
    """An opened cache entry: per split the ids (memory-mapped) and labels, and what the manifest says."""

    path: Path
    tokenizer: Tokenizer
    ids: dict[str, RaggedIds]
    labels: dict[str, dict[str, np.ndarray]]
    manifest: dict[str, Any]


def _entry_dirs(key: str) -> list[Path]:
    root = cache_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob(f"{key}-*") if p.is_dir())


def open_entry(key: str, tokenizer: Tokenizer | None = None) -> Entry | None:
    """The complete entry of ``key`` (made with ``tokenizer`` when one is given), or None. An incomplete or
    corrupt entry counts as none (it is rebuilt, and replaced, by ``write_entry``)."""
    if not enabled():
        return None
    if tokenizer is not None:
        candidates = [cache_root() / f"{key}-{tokenizer.fingerprint()[:16]}"]
    else:
        candidates = _entry_dirs(key)
    for path in candidates:
        entry = _read(path, tokenizer)
        if entry is not None:
            return entry
    return None


def _read(path: Path, tokenizer: Tokenizer | None) -> Entry | None:
    try:
        man = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if man.get("format") != FORMAT or man.get("version") != VERSION:
            return None
        if tokenizer is None:
            tokenizer = Tokenizer.load(path / TOKENIZER_FILE)
        if tokenizer.fingerprint() != man["tokenizer"]["sha256"]:
            return None
        dtype = np.dtype(man["dtype"])
        ids, labels = {}, {}
        for split, info in man["splits"].items():
            n, t, attrs = int(info["sentences"]), int(info["tokens"]), list(info["labels"])
            tokens = _map(path / f"{split}.tokens", dtype, (t,))
            offsets = _map(path / f"{split}.offsets", np.dtype(np.int64), (n + 1,))
            if offsets[0] != 0 or offsets[-1] != t:
                return None
            ids[split] = RaggedIds(tokens, offsets)
            table = _map(path / f"{split}.labels", np.dtype(np.int16), (n, len(attrs))) if attrs else None
            labels[split] = {a: np.asarray(table[:, k]) for k, a in enumerate(attrs)} if table is not None else {}
        return Entry(path, tokenizer, ids, labels, man)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # noqa: BLE001 (any damage means: build it again)
        if (path / MANIFEST).is_file():
            warnings.warn(f"token cache entry {path} is damaged ({type(exc).__name__}: {exc}); it is rebuilt",
                          stacklevel=3)
        return None
    except Exception:  # noqa: BLE001 (a damaged tokenizer file raises the tokenizer's own errors)
        return None


def _map(path: Path, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only memory map of ``path``, which must be exactly ``shape`` of ``dtype`` long."""
    size = int(np.prod(shape)) * dtype.itemsize
    if path.stat().st_size != size:
        raise ValueError(f"{path.name} has {path.stat().st_size} bytes, the manifest says {size}")
    if size == 0:  # an empty file cannot be mapped
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape)


def write_entry(key: str, splits: dict[str, TextSplit], tokenizer: Tokenizer, attributes: dict[str, list[str]],
                max_length: int, length_policy: str, meta: dict[str, Any]) -> Entry:
    """Tokenise ``splits`` (in chunks, with ``encode_batch``; truncated or dropped past ``max_length``) straight
    into a new entry and open it. ``meta`` goes into the manifest (the data's name and notes). Raises OSError
    when the cache folder cannot be written."""
    tmp, final = new_entry(key, tokenizer)
    try:
        dtype = token_dtype(tokenizer.vocab_size)
        names = list(attributes)
        man_splits, report = {}, {}
        for split in [s for s in SPLITS if s in splits] + [s for s in splits if s not in SPLITS]:
            kept, cut, tokens = _write_split(tmp, split, splits[split], tokenizer, names, dtype, max_length,
                                             length_policy)
            man_splits[split] = {"sentences": kept, "tokens": tokens, "labels": names}
            report[split] = {"sentences": kept, ("dropped" if length_policy == "drop" else "truncated"): cut}
        manifest = manifest_doc(key, tokenizer, attributes, max_length, length_policy, report, man_splits, meta)
    except BaseException:
        _remove_entry(tmp)
        raise
    return seal_entry(tmp, final, manifest, tokenizer)


def new_entry(key: str, tokenizer: Tokenizer) -> tuple[Path, Path]:
    """A new hidden folder to build the entry of ``key`` in (holding the tokenizer already) and the entry's final
    path; ``seal_entry`` puts it in place, ``discard`` removes it. Raises OSError when the cache cannot be
    written."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{key}-{tokenizer.fingerprint()[:16]}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        tokenizer.save(tmp / TOKENIZER_FILE)
    except BaseException:
        _remove_entry(tmp)
        raise
    return tmp, final


def manifest_doc(key: str, tokenizer: Tokenizer, attributes: dict[str, list[str]], max_length: int,
                 length_policy: str, report: dict[str, Any], splits: dict[str, Any], meta: dict[str, Any]
                 ) -> dict[str, Any]:
    """The manifest of an entry: what ``_read`` checks its files against, and what the data reports."""
    return {"format": FORMAT, "version": VERSION, "key": key, "dtype": token_dtype(tokenizer.vocab_size).name,
            "tokenizer": {"sha256": tokenizer.fingerprint(), "kind": tokenizer.kind,
                          "vocab_size": tokenizer.vocab_size},
            "attributes": attributes, "max_length": max_length, "length_policy": length_policy,
            "length_report": report, "splits": splits, **meta}


def seal_entry(tmp: Path, final: Path, manifest: dict[str, Any], tokenizer: Tokenizer) -> Entry:
    """Write the manifest of the entry built in ``tmp`` (last: it says the entry is whole), move it to ``final``
    and open it."""
    try:
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=1))
        _move_into_place(tmp, final)
    except BaseException:
        _remove_entry(tmp)
        raise
    entry = _read(final, tokenizer)
    if entry is None:
        raise OSError(f"token cache entry {final} could not be read back after writing")
    return entry


def discard(tmp: Path) -> None:
    """Remove an entry folder that ``new_entry`` made and that will not be sealed."""
    _remove_entry(tmp)


def _write_split(folder: Path, split: str, data: TextSplit, tokenizer: Tokenizer, names: list[str],
                 dtype: np.dtype, max_length: int, length_policy: str) -> tuple[int, int, int]:
    """Write one split's arrays; returns (sentences kept, sentences truncated or dropped, tokens)."""
    kept = cut = total = 0
    offsets = [0]
    label_rows: list[np.ndarray] = []
    with open(folder / f"{split}.tokens", "wb") as tok_f:
        for start in range(0, len(data.texts), CHUNK):
            ids = tokenizer.encode_batch(data.texts[start : start + CHUNK])
            keep = list(range(len(ids)))
            long = [i for i, x in enumerate(ids) if len(x) > max_length]
            cut += len(long)
            if length_policy == "drop":
                gone = set(long)
                keep = [i for i in keep if i not in gone]
                ids = [ids[i] for i in keep]
            elif long:
                ids = [x[:max_length] for x in ids]
            lens = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
            flat = np.fromiter(chain.from_iterable(ids), dtype=dtype, count=int(lens.sum()))
            tok_f.write(flat.tobytes())
            offsets.append(np.cumsum(lens) + total)
            total += int(lens.sum())
            kept += len(ids)
            if names:
                where = np.asarray(keep, dtype=np.int64)
                label_rows.append(np.stack([np.asarray(data.labels[a][start : start + CHUNK], dtype=np.int16)[where]
                                            for a in names], axis=1))
    offs = np.concatenate([np.asarray(o, dtype=np.int64).reshape(-1) for o in offsets])
    (folder / f"{split}.offsets").write_bytes(offs.tobytes())
    if names:
        table = np.concatenate(label_rows) if label_rows else np.zeros((0, len(names)), dtype=np.int16)
        (folder / f"{split}.labels").write_bytes(table.astype(np.int16).tobytes())
    return kept, cut, total


def _move_into_place(tmp: Path, final: Path) -> None:
    """Rename the finished ``tmp`` to ``final``. Another process may have put a whole entry there first (then it is
    kept and ours removed); a damaged one of sentae's is replaced."""
    try:
        os.replace(tmp, final)
        return
    except OSError:
        if not final.exists():
            raise
    if _read(final, None) is not None:
        _remove_entry(tmp)
        return
    _remove_entry(final)  # only sentae's file names; a folder holding anything else stays, and the rename fails
    os.replace(tmp, final)


def _ours(p: Path) -> bool:
    return p.is_file() and (p.name in (MANIFEST, *TOKENIZER_FILES) or p.suffix in ARRAY_SUFFIXES
                            or ".tmp-" in p.name)


def _remove_entry(folder: Path) -> None:
    """Delete the files sentae writes in an entry folder, then the folder if that emptied it."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if _ours(p):
            p.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def clear() -> list[Path]:
    """Delete every entry (and leftover of an interrupted build) in the cache folder; returns the folders removed.
    Only files of the names sentae writes are deleted; a folder holding anything else is left."""
    root = cache_root()
    removed = []
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and (ENTRY_NAME.fullmatch(folder.name) or folder.name.startswith(".tmp-")):
                _remove_entry(folder)
                if not folder.exists():
                    removed.append(folder)
    return removed


def entry_size(path: Path) -> int:
    """Bytes on disk of an entry (for reports)."""
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


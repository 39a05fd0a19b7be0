"""The first build of a corpus with ``data.options.stream: true``: read from disk in chunks, never whole.

Two passes over the files, each holding one chunk of ``CHUNK`` sentences at a time:

1. **vocabulary**: the train sentences go, one at a time, to the tokenizer's trainer (word counts for ``word``,
   ``tokenizers``' iterator trainer for ``bpe``, sentencepiece for ``unigram``) - every train sentence, or the first
   ``vocab_sample`` of them. sentencepiece keeps the sentences it trains on in memory, so ``unigram`` reads at most
   ``UNIGRAM_SAMPLE`` unless ``vocab_sample`` says otherwise. The rule used is written in the entry's notes (and so in
   the run's first line) and follows from the run's recorded ``data.options``.
2. **ids**: every chunk is tokenised with ``encode_batch`` and appended to the token-cache entry's arrays (ids,
   offsets, labels), split by split.

A file read as one pool is split by a seeded draw per sentence (``split_seed``): a sentence goes to test with
probability ``test_fraction``, to validation with ``val_fraction``. The held-out sizes are those fractions on
average, not rounded counts, and the split differs from the in-memory path's (which permutes the whole pool); the
draws come in file order, so both passes and every later build agree. ``tense_labels`` and ``require_labels`` act
chunk by chunk; ``balance`` repeats sentences across the whole split and is refused.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import ConfigError, DataError
from .attributes import TENSES
from .config import DataConfig
from .readers import SPLITS, ReadSpec, csv_rows, file_format, jsonl_rows, row_example
from . import token_cache
from .token_store import token_dtype
from .tokenizers import Tokenizer, train_tokenizer

__all__ = ["CHUNK", "UNIGRAM_SAMPLE", "Chunk", "build_stream_entry", "read_chunks", "numbered_lines"]

CHUNK = 8192  # sentences read, labelled and encoded at once: what the build holds of the corpus
UNIGRAM_SAMPLE = 1_000_000  # train sentences a unigram vocabulary is trained on when vocab_sample is null


def numbered_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, decoded line with its newline) of ``path``, read line by line. Bytes that are not ``encoding``
    are a ``DataError`` naming the line and byte, worded as the in-memory reader words it."""
    if not path.is_file():
        raise DataError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"{path}: unknown encoding '{encoding}' (data.options.encoding)") from None
    if "\n".encode(info.name) != b"\n" or "a".encode(info.name) != b"a":
        # lines are cut at the byte 0x0a before decoding, which is right only where "\n" is that byte
        raise DataError(f"{path}: data.options.stream reads lines as bytes and needs an encoding in which a newline "
                        f"is the byte 0x0a (utf-8, cp1252, latin-1, ...), not '{encoding}'")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    utf8 = info.name == "utf-8"
    offset = 0
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            start = 3 if n == 1 and utf8 and raw.startswith(b"\xef\xbb\xbf") else 0
            try:
                yield n, raw[start:].decode(encoding)
            except UnicodeDecodeError as exc:
                col = start + exc.start
                raise DataError(
                    f"{path}, line {n}: byte 0x{raw[col]:02x} at byte offset {col} of the line (offset {offset + col} "
                    f"in the file) is not valid {encoding} ({exc.reason}); set data.options.encoding (e.g. cp1252) "
                    f"if the file uses another") from None
            offset += len(raw)


def _rows(path: Path, spec: ReadSpec) -> tuple[Iterator[tuple[int, Any]], bool]:
    """(line number, row) of one file as the in-memory readers parse it, lazily; and whether rows are plain text."""
    fmt = file_format(path, spec)
    lines = numbered_lines(path, spec.encoding)
    if fmt == "text":
        if set(spec.attributes) - set(spec.fixed):
            raise DataError(f"{path}: attributes need a JSONL, CSV or TSV file with label columns, not plain text")
        return ((n, line.rstrip("\n")) for n, line in lines), True
    if fmt == "jsonl":
        return iter(jsonl_rows(path, ((n, line.rstrip("\n")) for n, line in lines))), False
    return iter(csv_rows(path, (line for _, line in lines), fmt, spec)), False


@dataclass
class Chunk:
    """At most ``CHUNK`` sentences of one file, as they are assigned to splits: split name -> (texts, labels
    ``int16`` [sentences, attributes])."""

    parts: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)

    def sentences(self) -> int:
        return sum(len(t) for t, _ in self.parts.values())


def read_chunks(files: dict[str, Path], spec: ReadSpec, cfg: DataConfig, tense: bool, require: list[str] | None,
                dropped: dict[str, int] | None = None, chunk: int | None = None) -> Iterator[Chunk]:
    """The sentences of ``files`` (split -> file) in chunks of at most ``chunk`` (default ``CHUNK``) sentences read,
    assigned to splits, tense-labelled and selected as the options ask. ``dropped`` (split -> count) collects the
    sentences that ``require`` removed. Nothing but the chunk being made is held."""
    chunk = chunk or CHUNK
    names = list(spec.attributes) + (["tense"] if tense else [])
    need = [names.index(a) for a in (require or [])]
    held = {"val": cfg.val_fraction if "val" not in files else 0.0,
            "test": cfg.test_fraction if "test" not in files else 0.0}
    if not 0 <= held["val"] + held["test"] < 1:
        raise DataError(f"data.val_fraction ({cfg.val_fraction}) and data.test_fraction ({cfg.test_fraction}) must "
                        f"be in [0, 1) and sum below 1")
    index = {t: i for i, t in enumerate(TENSES)}
    for split, path in files.items():
        rows, plain = _rows(path, spec)
        # one generator per file, seeded alike in every pass: the same sentence always draws the same number
        rng = np.random.default_rng(cfg.split_seed)
        found, where = 0, str(path)
        texts: list[str] = []
        labels: list[list[int]] = []
        for n, row in chain(rows, [(0, None)]):
            if row is not None:
                example = row_example(n, row, where, spec, plain)
                if example is not None:
                    texts.append(example[0])
                    labels.append(example[1])
                    found += 1
            end = row is None or (spec.limit is not None and found >= spec.limit)
            if len(texts) >= chunk or (end and texts):
                yield _assign(split, texts, labels, len(names), tense, index, need, held, rng, dropped)
                texts, labels = [], []
            if end:
                break
        if not found:
            raise DataError(f"{where}: no sentences (only blank lines or blank texts)")


def _assign(split: str, texts: list[str], labels: list[list[int]], width: int, tense: bool, index: dict[str, int],
            need: list[int], held: dict[str, float], rng: np.random.Generator, dropped: dict[str, int] | None) -> Chunk:
    table = np.full((len(texts), width), -1, dtype=np.int16)
    if width - tense:
        table[:, : width - tense] = np.asarray(labels, dtype=np.int16).reshape(len(texts), width - tense)
    if tense:
        from .tense import label_tenses  # imported only by corpora that ask for tense labels

        table[:, -1] = [index.get(t, -1) for t in label_tenses(texts)]
    where = np.full(len(texts), split, dtype=object)
    if split == "train" and (held["val"] or held["test"]):
        u = rng.random(len(texts))
        where[u < held["test"]] = "test"
        where[(u >= held["test"]) & (u < held["test"] + held["val"])] = "val"
    out = Chunk()
    for s in SPLITS:
        mine = where == s
        if need:
            labelled = (table[:, need] >= 0).all(axis=1)
            if dropped is not None:
                dropped[s] = dropped.get(s, 0) + int((mine & ~labelled).sum())
            mine &= labelled
        if mine.any():
            pick = np.flatnonzero(mine)
            out.parts[s] = ([texts[i] for i in pick], table[pick])
    return out


def _vocab_rule(o: Any) -> tuple[int | None, str]:
    """How many train sentences the vocabulary is trained on (None: all) and the note that says so."""
    if o.tokenizer == "pretrained":
        return 0, "tokenizer pretrained (no vocabulary pass)"
    sample = o.vocab_sample if o.vocab_sample is not None else (UNIGRAM_SAMPLE if o.tokenizer == "unigram" else None)
    if sample is None:
        return None, "vocabulary from a first pass over every train sentence"
    return sample, f"vocabulary from the first {sample:,} train sentences"


def _check(o: Any, attributes: dict[str, list[str]]) -> None:
    if o.balance is not None:
        raise ConfigError("data source 'text': data.options.balance repeats train sentences across the whole split, "
                          "which data.options.stream does not hold; balance the file beforehand or drop stream")
    if o.tense_labels and "tense" in attributes:
        raise ConfigError("data source 'text': data.options.tense_labels adds the attribute 'tense', but the "
                          "corpus already has one; drop the option or rename the corpus attribute")
    have = {**attributes, **({"tense": list(TENSES)} if o.tense_labels else {})}
    for name in o.require_labels or []:
        if name not in have:
            raise ConfigError(f"data source 'text': data.options.require_labels names attribute '{name}', which the "
                              f"data does not have (attributes: {', '.join(have) or 'none'})")


def build_stream_entry(cfg: DataConfig, o: Any, files: dict[str, Path], spec: ReadSpec, key: str) -> token_cache.Entry:
    """Build the token-cache entry ``key`` of ``files`` (split -> path) in two streamed passes (see the module)."""
    attributes = {a: list(v) for a, v in spec.attributes.items()}
    _check(o, attributes)
    if o.tense_labels:
        attributes["tense"] = list(TENSES)
    require = o.require_labels
    sample, rule = _vocab_rule(o)

    def train_texts() -> Iterator[str]:
        seen = 0
        for part in read_chunks(files, spec, cfg, o.tense_labels, require):
            for text in part.parts.get("train", ([], None))[0]:
                if sample is not None and seen >= sample:
                    return
                seen += 1
                yield text

    tok = train_tokenizer(o.tokenizer, train_texts() if sample != 0 else [], o.vocab_size, o.min_freq,
                          o.pretrained_tokenizer)
    try:
        tmp, final = token_cache.new_entry(key, tok)
    except OSError as exc:
        raise DataError(f"data.options.stream writes the token ids to the token cache, which cannot be written "
                        f"({exc}); set ${token_cache.CACHE_ENV} to a writable folder") from None
    try:
        manifest = _write_ids(tmp, key, cfg, o, files, spec, tok, attributes, rule)
    except BaseException:
        token_cache.discard(tmp)
        raise
    return token_cache.seal_entry(tmp, final, manifest, tok)


class _SplitWriter:
    """The arrays of one split of an entry, appended to chunk by chunk."""

    def __init__(self, folder: Path, split: str, dtype: np.dtype, width: int) -> None:
        self.dtype, self.width = dtype, width
        self.tokens = open(folder / f"{split}.tokens", "wb")
        self.offsets = open(folder / f"{split}.offsets", "wb")
        self.labels = open(folder / f"{split}.labels", "wb") if width else None
        self.offsets.write(np.zeros(1, dtype=np.int64).tobytes())
        self.kept = self.cut = self.total = 0

    def add(self, ids: list[list[int]], labels: np.ndarray, max_length: int, drop: bool) -> None:
        lens = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        long = lens > max_length
        self.cut += int(long.sum())
        if drop and long.any():
            keep = np.flatnonzero(~long)
            ids, labels, lens = [ids[i] for i in keep], labels[keep], lens[keep]
        elif long.any():
            ids, lens = [x[:max_length] for x in ids], np.minimum(lens, max_length)
        self.tokens.write(np.fromiter(chain.from_iterable(ids), dtype=self.dtype, count=int(lens.sum())).tobytes())
        self.offsets.write((np.cumsum(lens) + self.total).tobytes())
        if self.labels is not None:
            self.labels.write(np.ascontiguousarray(labels, dtype=np.int16).tobytes())
        self.total += int(lens.sum())
        self.kept += len(ids)

    def close(self) -> None:
        for f in (self.tokens, self.offsets, self.labels):
            if f is not None:
                f.close()


def _write_ids(tmp: Path, key: str, cfg: DataConfig, o: Any, files: dict[str, Path], spec: ReadSpec,
               tok: Tokenizer, attributes: dict[str, list[str]], rule: str) -> dict[str, Any]:
    """Pass 2: every chunk encoded and appended to its split's arrays; returns the entry's manifest."""
    dtype, names = token_dtype(tok.vocab_size), list(attributes)
    writers: dict[str, _SplitWriter] = {}
    dropped: dict[str, int] = {}
    drop = o.length_policy == "drop"
    try:
        for part in read_chunks(files, spec, cfg, o.tense_labels, o.require_labels, dropped):
            for split, (texts, labels) in part.parts.items():
                if split not in writers:
                    writers[split] = _SplitWriter(tmp, split, dtype, len(names))
                writers[split].add(tok.encode_batch(texts), labels, o.max_length, drop)
    finally:
        for w in writers.values():
            w.close()
    if "train" not in writers or not writers["train"].kept:
        if o.require_labels and "train" not in writers:
            raise DataError(f"data source 'text': no train sentence has a label for {', '.join(o.require_labels)} "
                            "(data.options.require_labels removed everything)")
        raise DataError("text data 'text': the train split is empty (length_policy drop removed everything?)")
    verb = "dropped" if drop else "truncated"
    order = [s for s in SPLITS if s in writers]
    report = {s: {"sentences": writers[s].kept, verb: writers[s].cut} for s in order}
    splits = {s: {"sentences": writers[s].kept, "tokens": writers[s].total, "labels": names} for s in order}
    notes = []
    if o.require_labels is not None:
        counts = ", ".join(f"{s} {dropped.get(s, 0):,}" for s in order)
        notes.append(f"sentences without a {'/'.join(o.require_labels)} label dropped: {counts}")
    notes.append(f"streamed from disk ({rule})")
    meta = {"name": cfg.source, "notes": notes, "stream": {"vocabulary": rule, "chunk": CHUNK}}
    return token_cache.manifest_doc(key, tok, attributes, o.max_length, o.length_policy, report, splits, meta)

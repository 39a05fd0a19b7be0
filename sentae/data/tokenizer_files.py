"""The files a saved tokenizer is made of, and the standard ``tokenizers`` documents sentae writes into them.

A tokenizer saved as ``tokenizer.json`` is, from version 2 on::

    tokenizer.json          standard Hugging Face `tokenizers` JSON: `tokenizers.Tokenizer.from_file` and
                            `transformers.PreTrainedTokenizerFast(tokenizer_file=...)` read it
    tokenizer_config.json   the four specials and the tokenizer class, for `transformers.AutoTokenizer`
    sentae_tokenizer.json   sentae's metadata: format, version, kind, specials, vocabulary size and the files
                            (kind pretrained: also the pretrained tokenizer itself, which sentae encodes with)
    spiece.model            unigram only: the sentencepiece model, which is what sentae encodes with

Version 1 was one file, ``tokenizer.json`` holding ``{"format": "sentae-tokenizer", ...}``; it is still read. This
module knows names and JSON layouts only: which tokenizer class a kind is, and what it encodes, is
``sentae.data.tokenizers``' business.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError

TOKENIZER_FILE = "tokenizer.json"  # the standard file
META_FILE = "sentae_tokenizer.json"  # sentae's metadata beside it: "sentae_" + the tokenizer file's name
SPIECE_FILE = "spiece.model"  # unigram: the sentencepiece model beside tokenizer.json
HF_CONFIG_FILE = "tokenizer_config.json"  # transformers' AutoTokenizer reads the specials from it
TOKENIZER_FILES = (TOKENIZER_FILE, META_FILE, SPIECE_FILE, HF_CONFIG_FILE)  # every name a save may write in a run
FORMAT = "sentae-tokenizer"
VERSION = 2  # 1: one private file named tokenizer.json; 2: standard tokenizer.json + sentae_tokenizer.json


def meta_path(path: Path) -> Path:
    """Where the metadata of the tokenizer file ``path`` lives."""
    return path.with_name("sentae_" + path.name)


def beside_name(path: Path, default: str) -> str:
    """The name of a file written beside ``path``: ``default`` next to ``tokenizer.json``, prefixed with the
    tokenizer file's stem otherwise (so that two tokenizers saved in one folder do not share it)."""
    return default if path.name == TOKENIZER_FILE else f"{path.stem}.{default}"


@dataclass(frozen=True)
class SavedFiles:
    """What ``read`` found: the tokenizer file's text and JSON, and (version 2) the metadata and the files by role;
    ``meta`` is None for the version-1 single file, whose ``doc`` holds everything."""

    path: Path
    text: str
    doc: Any
    meta: dict[str, Any] | None
    files: dict[str, Path]

    @property
    def kind(self) -> Any:
        return self.doc.get("type") if self.meta is None else self.meta.get("kind")


def write(path: Path, kind: str, specials: Sequence[str], vocab_size: int, standard: str,
          beside: dict[str, tuple[str, bytes]], extra: dict[str, Any] | None = None) -> Path:
    """Write the version-2 files of a tokenizer, each atomically: those beside it, the standard ``path``, the
    transformers config (when ``path`` is ``tokenizer.json``) and, last, the metadata that names them all, with
    ``extra`` (what a kind keeps in its metadata) added to it."""
    from ..io import atomic_write_bytes, atomic_write_text

    files = {"tokenizer": path.name}
    for role, (default, data) in beside.items():
        name = beside_name(path, default)
        atomic_write_bytes(path.with_name(name), data)
        files[role] = name
    atomic_write_text(path, standard)
    if path.name == TOKENIZER_FILE:
        atomic_write_text(path.with_name(HF_CONFIG_FILE), json.dumps(hf_tokenizer_config(specials), indent=2) + "\n")
    meta = {"format": FORMAT, "version": VERSION, "kind": kind, "specials": list(specials), "vocab_size": vocab_size,
            "files": files}
    clash = sorted(set(extra or {}) & set(meta))
    if clash:
        raise ValueError(f"tokenizer metadata: {clash} are sentae's own keys")
    meta.update(extra or {})
    atomic_write_text(meta_path(path), json.dumps(meta, indent=2) + "\n")
    return path


def read(path: Path, specials: Sequence[str]) -> SavedFiles:
    """Read the tokenizer file ``path`` and, unless it is a version-1 single file, its metadata; every problem is one
    ``DataError`` naming the file."""
    if not path.is_file():
        raise DataError(f"tokenizer file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a sentae tokenizer file ({exc})") from None
    if isinstance(doc, dict) and doc.get("format") == FORMAT:  # version 1: everything is in this one file
        if doc.get("specials") != list(specials):
            raise DataError(f"{path}: specials {doc.get('specials')} differ from {list(specials)}")
        return SavedFiles(path, text, doc, None, {})
    mpath = meta_path(path)
    if not mpath.is_file():
        raise DataError(f"{path}: not a sentae tokenizer file (no {mpath.name} beside it, and no "
                        f"\"format\": \"{FORMAT}\" inside)")
    try:
        meta = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{mpath}: corrupt JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{mpath}: not sentae tokenizer metadata (no \"format\": \"{FORMAT}\")")
    version = meta.get("version")
    if not isinstance(version, int) or version < 2:
        raise DataError(f"{mpath}: 'version' must be an integer >= 2, got {version!r}")
    if version > VERSION:
        raise DataError(f"{mpath}: written by a newer sentae (tokenizer format {version}, this one reads up to "
                        f"{VERSION}): upgrade sentae")
    if meta.get("specials") != list(specials):
        raise DataError(f"{mpath}: specials {meta.get('specials')} differ from {list(specials)}")
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a JSON object (a `tokenizers` file)")
    return SavedFiles(path, text, doc, meta, _files(meta, mpath, path))


def _files(meta: dict[str, Any], mpath: Path, path: Path) -> dict[str, Path]:
    """The files the metadata names, by role; a name must be a plain file name (metadata from elsewhere, such as a
    downloaded repository, must not point outside the folder)."""
    named = meta.get("files", {})
    if not isinstance(named, dict):
        raise DataError(f"{mpath}: 'files' must be a mapping of role to file name")
    out = {}
    for role, name in named.items():
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
            raise DataError(f"{mpath}: files.{role} must be a file name in the same folder, got {name!r}")
        out[str(role)] = path.with_name(name)
    return out


def hf_tokenizer_config(specials: Sequence[str]) -> dict[str, Any]:
    """``tokenizer_config.json``: the specials by their transformers names, so that ``AutoTokenizer`` and
    ``PreTrainedTokenizerFast`` know which token pads, begins, ends and stands for unknown words."""
    pad, bos, eos, unk = specials
    return {"tokenizer_class": "PreTrainedTokenizerFast", "pad_token": pad, "bos_token": bos, "eos_token": eos,
            "unk_token": unk, "clean_up_tokenization_spaces": False}


def _added_tokens(specials: Sequence[str]) -> list[dict[str, Any]]:
    return [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
             "special": True} for i, s in enumerate(specials)]


def word_level_json(itos: Sequence[str], specials: Sequence[str], unk: str) -> str:
    """A ``tokenizers`` WordLevel document: one id per whitespace-separated word, unknown words to ``unk``; no
    decoder, so ``tokenizers`` joins the words with single spaces, as sentae does."""
    vocab: dict[str, int] = {}
    for i, word in enumerate(itos):
        if vocab.setdefault(word, i) != i:
            raise DataError(f"word tokenizer: the word {word!r} has two ids ({vocab[word]} and {i}); a vocabulary "
                            f"must list each word once")
    doc = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": _added_tokens(specials),
           "normalizer": None, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": None, "decoder": None,
           "model": {"type": "WordLevel", "vocab": vocab, "unk_token": unk}}
    return json.dumps(doc, ensure_ascii=False)


def word_level_vocab(doc: dict[str, Any], path: Path, specials: Sequence[str]) -> list[str]:
    """The words of a WordLevel document by id (``itos``), checked: ids 0..n-1 once each, the specials first."""
    model = doc.get("model")
    if not isinstance(model, dict) or model.get("type") != "WordLevel" or not isinstance(model.get("vocab"), dict):
        raise DataError(f"{path}: a word tokenizer's file must hold a WordLevel model with a vocab")
    vocab = model["vocab"]
    itos: list[str | None] = [None] * len(vocab)
    for word, i in vocab.items():
        if not isinstance(i, int) or not 0 <= i < len(vocab) or itos[i] is not None:
            raise DataError(f"{path}: the WordLevel vocab must give the ids 0..{len(vocab) - 1} once each "
                            f"(see {word!r}: {i!r})")
        itos[i] = word
    if itos[: len(specials)] != list(specials):
        raise DataError(f"{path}: the WordLevel vocab must start with {list(specials)} at ids 0..{len(specials) - 1}")
    return itos  # type: ignore[return-value]  (every slot was filled above)


def unigram_json(pieces: Sequence[tuple[str, float]], unk_id: int, specials: Sequence[str]) -> str:
    """A ``tokenizers`` Unigram document with sentencepiece's pieces and scores, and its whitespace handling (a
    ``▁`` before every word, runs of spaces as one): on whitespace-normalised text it gives sentencepiece's ids."""
    doc = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": _added_tokens(specials),
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": None,
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": unk_id, "vocab": [[p, float(s)] for p, s in pieces],
                  "byte_fallback": False},
    }
    return json.dumps(doc, ensure_ascii=False)


# Pretrained tokenizers (sentae.data.pretrained_tokenizer): the model types whose ids can be moved past sentae's
# specials faithfully: each holds its vocabulary as token -> id (a list by id for Unigram) and emits ids from it.
SHIFTABLE_MODELS = ("BPE", "WordPiece", "WordLevel", "Unigram")
RENAMED = "pretrained:"  # in front of a pretrained token spelled like one of sentae's specials


def shifted_json(original: str, specials: Sequence[str], unk: str, hf_unk: int | None) -> str:
    """A ``tokenizers`` document that gives sentae's ids for a pretrained tokenizer (``original``, its own
    document): sentae's specials at ``0..len(specials)-1`` and every pretrained id ``j`` at ``j + len(specials)``,
    as ``PretrainedTokenizer.encode`` gives them.

    ``hf_unk`` is the pretrained unknown token's id where sentae maps it to its own ``unk`` (``hf_unk_id``): the
    model then emits ``unk`` for unknown input, and the unknown token's own spelling is dropped from the added
    tokens (its text would otherwise be a second token of that id). A pretrained token spelled like one of
    sentae's specials (T5's ``<pad>``) keeps its id under the spelling ``pretrained:<pad>``: a vocabulary maps each
    spelling to one id. The post-processor goes unless it adds no tokens (byte-level offsets): sentae encodes
    without the model's framing ([CLS] ... [SEP]), which the model adds at its boundary."""
    doc = json.loads(original)
    model = doc.get("model")
    kind = model.get("type") if isinstance(model, dict) else None
    if kind not in SHIFTABLE_MODELS:
        raise DataError(f"a pretrained tokenizer with a {kind!r} model has no standard form with shifted ids "
                        f"(known: {', '.join(SHIFTABLE_MODELS)})")
    offset = len(specials)

    def spelled(token: str) -> str:
        return RENAMED + token if token in specials else token

    if kind == "Unigram":  # ids are positions: sentae's specials go in front, with the neutral score 0
        model["vocab"] = [[s, 0.0] for s in specials] + [[spelled(p), score] for p, score in model["vocab"]]
        if model.get("unk_id") is not None:
            model["unk_id"] = specials.index(unk) if hf_unk is not None else model["unk_id"] + offset
    else:
        own = model.get("unk_token") if hf_unk is not None else None
        vocab = {s: i for i, s in enumerate(specials)}
        for token, i in model["vocab"].items():
            if token != own:
                vocab[spelled(token)] = i + offset
        if own is not None and own not in specials:
            vocab[own] = hf_unk + offset  # still a token of the vocabulary; the model emits <unk> instead
        model["vocab"] = vocab
        if own is not None:
            model["unk_token"] = unk
    added = _added_tokens(specials)
    for token in doc.get("added_tokens") or []:
        if token["content"] not in specials and not (hf_unk is not None and token["id"] == hf_unk):
            added.append({**token, "id": token["id"] + offset})
    doc["added_tokens"] = added
    post = doc.get("post_processor")
    if not (isinstance(post, dict) and post.get("type") == "ByteLevel"):
        doc["post_processor"] = None
    doc["truncation"] = doc["padding"] = None
    return json.dumps(doc, ensure_ascii=False)

"""Tokenizers behind one small interface: word-level (built in), BPE (``tokenizers``) and unigram (``sentencepiece``).

Every tokenizer has the same four specials at the same ids (``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, ``<unk>`` 3),
``encode(text) -> ids`` without specials, ``decode(ids) -> text`` that stops at ``<eos>`` and skips ``<pad>``/``<bos>``,
and saves to one JSON file (``tokenizer.json`` in a run folder). A literal ``<unk>`` in the text (as in the Mikolov
Penn Treebank) is the unknown token for every kind. Text is whitespace-tokenised: ``decode(encode(s))`` gives back
``" ".join(s.split())`` whenever every piece of ``s`` is in the vocabulary.

>>> tok = WordTokenizer.train(["the cat sat", "the dog sat"])
>>> tok.decode(tok.encode("the cat sat"))
'the cat sat'
"""
from __future__ import annotations

import base64
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import DataError

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
UNK = SPECIALS[UNK_ID]
TOKENIZER_FILE = "tokenizer.json"
FORMAT = "sentae-tokenizer"


class Tokenizer:
    """Base class: the shared specials, decoding rules and JSON file layout."""

    kind = ""
    pad_id, bos_id, eos_id, unk_id = PAD_ID, BOS_ID, EOS_ID, UNK_ID
    specials = SPECIALS

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Sequence[int]) -> str:
        kept = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:  # everything after the end of the sentence is padding or noise
                break
            if i not in (PAD_ID, BOS_ID):
                kept.append(i)
        return self._decode(kept)

    def _decode(self, ids: list[int]) -> str:
        raise NotImplementedError

    def _payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def fingerprint(self) -> str:
        """sha256 of the tokenizer's content (kind, specials and vocabulary or model), independent of how the file
        is laid out: two tokenizers with the same fingerprint encode every text the same way."""
        import hashlib

        doc = {"type": self.kind, "specials": list(SPECIALS), **self._payload()}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer as one JSON file (atomically); a folder gets ``tokenizer.json`` inside it."""
        from ..io import atomic_write_text

        path = Path(path)
        if path.is_dir():
            path = path / TOKENIZER_FILE
        doc = {"format": FORMAT, "version": 1, "type": self.kind, "specials": list(SPECIALS), **self._payload()}
        atomic_write_text(path, json.dumps(doc, ensure_ascii=False))
        return path

    @staticmethod
    def load(path: str | Path) -> Tokenizer:
        """Read a tokenizer written by ``save``: a ``tokenizer.json`` file or a run folder holding one."""
        path = Path(path)
        if path.is_dir():
            path = path / TOKENIZER_FILE
        if not path.is_file():
            raise DataError(f"tokenizer file not found: {path}")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: not a sentae tokenizer file ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise DataError(f"{path}: not a sentae tokenizer file (no \"format\": \"{FORMAT}\")")
        kinds = {c.kind: c for c in (WordTokenizer, BPETokenizer, UnigramTokenizer)}
        cls = kinds.get(doc.get("type"))
        if cls is None:
            raise DataError(f"{path}: unknown tokenizer type {doc.get('type')!r} (known: {', '.join(kinds)})")
        if doc.get("specials") != list(SPECIALS):
            raise DataError(f"{path}: specials {doc.get('specials')} differ from {list(SPECIALS)}")
        try:
            return cls._from_payload(doc)
        except Exception as exc:  # noqa: BLE001 (tokenizers raises plain Exception on a bad file)
            raise DataError(f"{path}: corrupt {doc['type']} tokenizer ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_payload(cls, doc: dict[str, Any]) -> Tokenizer:
        raise NotImplementedError

    def _encode_pieces(self, text: str, encode_chunk) -> list[int]:
        """Encode ``text`` chunk by chunk so that a literal ``<unk>`` word becomes the unknown id."""
        words = text.split()
        if UNK not in words:
            return encode_chunk(" ".join(words)) if words else []
        ids: list[int] = []
        chunk: list[str] = []
        for w in words + [UNK]:  # the sentinel flushes the last chunk; its id is dropped below
            if w == UNK:
                if chunk:
                    ids.extend(encode_chunk(" ".join(chunk)))
                    chunk = []
                ids.append(UNK_ID)
            else:
                chunk.append(w)
        return ids[:-1]

    @staticmethod
    def _decode_runs(ids: list[int], decode_run) -> str:
        """Decode the runs between unknown ids separately, so ``<unk>`` comes back as a word of its own."""
        out, run = [], []
        for i in ids + [UNK_ID]:  # the sentinel flushes the last run; its "<unk>" is dropped below
            if i == UNK_ID:
                if run:
                    out.append(decode_run(run).strip())
                    run = []
                out.append(UNK)
            else:
                run.append(i)
        return " ".join(w for w in out[:-1] if w)


class WordTokenizer(Tokenizer):
    """One id per whitespace-separated word; words outside the vocabulary become ``<unk>``."""

    kind = "word"

    def __init__(self, words: Sequence[str]) -> None:
        self.itos = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        # Only "<unk>" of the specials may be written in text; "<pad>"/"<bos>"/"<eos>" there are unknown words.
        self.stoi = {w: i for i, w in enumerate(self.itos) if i > UNK_ID or w == UNK}

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int | None = None, min_freq: int = 1) -> WordTokenizer:
        """Most frequent words first (ties alphabetical, so the vocabulary is deterministic); ``vocab_size`` counts
        the four specials."""
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(t.split())
        for s in SPECIALS:
            counts.pop(s, None)
        ranked = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        if vocab_size is not None:
            ranked = ranked[: max(0, vocab_size - len(SPECIALS))]
        return cls(ranked)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        get = self.stoi.get
        return [get(w, UNK_ID) for w in text.split()]

    def _decode(self, ids: list[int]) -> str:
        n = len(self.itos)
        return " ".join(self.itos[i] if 0 <= i < n else UNK for i in ids)

    def _payload(self) -> dict[str, Any]:
        return {"words": self.itos[len(SPECIALS) :]}

    @classmethod
    def _from_payload(cls, doc: dict[str, Any]) -> WordTokenizer:
        return cls(doc["words"])


class BPETokenizer(Tokenizer):
    """Byte-level BPE from Hugging Face ``tokenizers`` (no unknown bytes; ``<unk>`` only where written)."""

    kind = "bpe"

    def __init__(self, hf_tokenizer: Any) -> None:
        self.hf = hf_tokenizer
        for i, s in enumerate(SPECIALS):
            if self.hf.token_to_id(s) != i:
                raise ValueError(f"special {s} has id {self.hf.token_to_id(s)}, expected {i}")

    @classmethod
    def train(cls, texts: Sequence[str], vocab_size: int = 8000, min_freq: int = 2) -> BPETokenizer:
        from tokenizers import Tokenizer as HFTokenizer, decoders, models, pre_tokenizers, trainers

        hf = HFTokenizer(models.BPE(unk_token=UNK))
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_freq,
            special_tokens=list(SPECIALS),  # first, so they get ids 0..3
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        hf.train_from_iterator(_without_unk(texts), trainer)
        return cls(hf)

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self._encode_pieces(text, lambda s: self.hf.encode(s, add_special_tokens=False).ids)

    def _decode(self, ids: list[int]) -> str:
        n = self.vocab_size
        return self._decode_runs([i if 0 <= i < n else UNK_ID for i in ids], lambda run: self.hf.decode(run, skip_special_tokens=False))

    def _payload(self) -> dict[str, Any]:
        return {"hf_tokenizer": json.loads(self.hf.to_str())}

    @classmethod
    def _from_payload(cls, doc: dict[str, Any]) -> BPETokenizer:
        from tokenizers import Tokenizer as HFTokenizer

        return cls(HFTokenizer.from_str(json.dumps(doc["hf_tokenizer"])))


class UnigramTokenizer(Tokenizer):
    """Unigram language-model pieces from ``sentencepiece`` (identity normalisation, so decoding is exact)."""

    kind = "unigram"

    def __init__(self, model_proto: bytes) -> None:
        import sentencepiece as spm

        self.proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        for i, s in enumerate(SPECIALS):
            if self.sp.piece_to_id(s) != i:
                raise ValueError(f"special {s} has id {self.sp.piece_to_id(s)}, expected {i}")

    @classmethod
    def train(cls, texts: Sequence[str], vocab_size: int = 8000, min_freq: int = 1) -> UnigramTokenizer:
        import sentencepiece as spm

        del min_freq  # sentencepiece prunes by likelihood, not by count
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=_without_unk(texts),
            model_writer=buf,
            model_type="unigram",
            vocab_size=vocab_size,
            hard_vocab_limit=False,  # a small corpus gets a smaller vocabulary instead of an error
            character_coverage=1.0,
            normalization_rule_name="identity",
            pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID, unk_id=UNK_ID,
            pad_piece=SPECIALS[0], bos_piece=SPECIALS[1], eos_piece=SPECIALS[2], unk_piece=UNK,
            num_threads=1,  # one thread: the same corpus always gives the same pieces
            minloglevel=2,
        )
        return cls(buf.getvalue())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self._encode_pieces(text, self.sp.encode_as_ids)

    def _decode(self, ids: list[int]) -> str:
        n = self.vocab_size
        return self._decode_runs([i if 0 <= i < n else UNK_ID for i in ids], self.sp.decode_ids)

    def _payload(self) -> dict[str, Any]:
        return {"model_proto_base64": base64.b64encode(self.proto).decode("ascii")}

    @classmethod
    def _from_payload(cls, doc: dict[str, Any]) -> UnigramTokenizer:
        return cls(base64.b64decode(doc["model_proto_base64"]))


def _without_unk(texts: Iterable[str]) -> Iterable[str]:
    """Training text with literal ``<unk>`` words removed: they are the unknown id, not text to split into pieces."""
    for t in texts:
        words = [w for w in t.split() if w != UNK]
        if words:
            yield " ".join(words)


TOKENIZERS = {c.kind: c for c in (WordTokenizer, BPETokenizer, UnigramTokenizer)}


def train_tokenizer(kind: str, texts: Sequence[str], vocab_size: int | None, min_freq: int) -> Tokenizer:
    """Train a tokenizer of ``kind`` (word | bpe | unigram) on ``texts`` (the train split)."""
    if kind == "word":
        return WordTokenizer.train(texts, vocab_size, min_freq)
    cls = TOKENIZERS[kind]
    size = vocab_size if vocab_size is not None else 8000
    try:
        return cls.train(texts, size, min_freq)
    except ImportError as exc:
        pkg = {"bpe": "tokenizers", "unigram": "sentencepiece"}[kind]
        raise DataError(f"tokenizer '{kind}' needs the '{pkg}' package: pip install {pkg} ({exc})") from None


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Rebuild the tokenizer saved in a run folder (or from a ``tokenizer.json`` file)."""
    return Tokenizer.load(path)

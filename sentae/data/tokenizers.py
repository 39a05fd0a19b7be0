"""Tokenizers behind one small interface: word-level (built in), BPE (``tokenizers``) and unigram (``sentencepiece``).

Every tokenizer has the same four specials at the same ids (``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, ``<unk>`` 3),
``encode(text) -> ids`` without specials, ``decode(ids) -> text`` that stops at ``<eos>`` and skips ``<pad>``/``<bos>``.
A literal ``<unk>`` in the text (as in the Mikolov Penn Treebank) is the unknown token for every kind. Text is
whitespace-tokenised: ``decode(encode(s))`` gives back ``" ".join(s.split())`` whenever every piece of ``s`` is in the
vocabulary.

Saved, a tokenizer is a standard ``tokenizer.json`` that Hugging Face ``tokenizers`` and ``transformers`` read
(word: a ``WordLevel`` model with a ``WhitespaceSplit`` pre-tokenizer; bpe: the ``tokenizers`` file itself; unigram:
the sentencepiece pieces and scores as a ``Unigram`` model, with the exact sentencepiece model beside it as
``spiece.model``, which is what sentae encodes with), ``tokenizer_config.json`` (the specials, for
``AutoTokenizer``) and sentae's own metadata in ``sentae_tokenizer.json`` (format, version, kind, specials, files).
The single-file format of earlier versions (``{"format": "sentae-tokenizer", ...}`` inside ``tokenizer.json``) is
still read, and gives the same ``fingerprint()``.

>>> tok = WordTokenizer.train(["the cat sat", "the dog sat"])
>>> tok.decode(tok.encode("the cat sat"))
'the cat sat'
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import DataError
from . import tokenizer_files as files
from .subword_tokenizers import BPETokenizer, UnigramTokenizer
from .tokenizer_base import BOS_ID, EOS_ID, PAD_ID, SPECIALS, TOKENIZERS, UNK, UNK_ID, Tokenizer  # noqa: F401 (re-exported)
from .tokenizer_files import FORMAT, META_FILE, SPIECE_FILE, TOKENIZER_FILE, TOKENIZER_FILES  # noqa: F401 (re-exported)


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

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        get = self.stoi.get
        return [[get(w, UNK_ID) for w in t.split()] for t in texts]

    def _decode(self, ids: list[int]) -> str:
        n = len(self.itos)
        return " ".join(self.itos[i] if 0 <= i < n else UNK for i in ids)

    def _payload(self) -> dict[str, Any]:
        return {"words": self.itos[len(SPECIALS) :]}

    @classmethod
    def _from_payload(cls, doc: dict[str, Any]) -> WordTokenizer:
        return cls(doc["words"])

    def _standard_json(self) -> str:
        return files.word_level_json(self.itos, SPECIALS, UNK)

    @classmethod
    def _from_files(cls, saved: files.SavedFiles) -> WordTokenizer:
        return cls(files.word_level_vocab(saved.doc, saved.path, SPECIALS)[len(SPECIALS):])



TOKENIZERS.update({c.kind: c for c in (WordTokenizer, BPETokenizer, UnigramTokenizer)})
# The kind 'pretrained' (sentae.data.pretrained_tokenizer) adds itself to TOKENIZERS when sentae.data is imported.


def train_tokenizer(kind: str, texts: Sequence[str], vocab_size: int | None, min_freq: int,
                    pretrained: str | None = None) -> Tokenizer:
    """Train a tokenizer of ``kind`` (word | bpe | unigram) on ``texts`` (the train split); ``pretrained``: read
    the pretrained tokenizer of that name instead (kind ``pretrained``, nothing is trained)."""
    if kind == "pretrained":
        return TOKENIZERS[kind].from_pretrained(pretrained)
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

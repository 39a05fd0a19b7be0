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

import base64
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import DataError
from . import tokenizer_files as files
from .tokenizer_files import FORMAT, META_FILE, SPIECE_FILE, TOKENIZER_FILE, TOKENIZER_FILES  # noqa: F401 (re-exported)

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
UNK = SPECIALS[UNK_ID]


class Tokenizer:
    """Base class: the shared specials, decoding rules and the saved files (``sentae.data.tokenizer_files``).

    A kind saves a standard ``tokenizers`` file by implementing ``_standard_json`` (and ``_beside`` for files it
    needs next to it) and ``_from_files``; ``_payload`` (its content, for ``fingerprint``) and ``_from_payload``
    read the single-file format, which is also how a kind without ``_standard_json`` is saved."""

    kind = ""
    pad_id, bos_id, eos_id, unk_id = PAD_ID, BOS_ID, EOS_ID, UNK_ID
    specials = SPECIALS

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """``[encode(t) for t in texts]``, the ids of each text; kinds with a batch path (word, bpe, unigram)
        override it with one that gives the same ids faster."""
        return [self.encode(t) for t in texts]

    def _encode_batch_pieces(self, texts: Sequence[str], encode_many) -> list[list[int]]:
        """Encode the texts without a literal ``<unk>`` word in one call of ``encode_many`` (whitespace-normalised
        texts -> id lists), the others one by one through ``encode``: the same ids as ``encode`` for every text."""
        out: list[list[int] | None] = [None] * len(texts)
        batch, where = [], []
        for i, t in enumerate(texts):
            words = t.split()
            if not words:
                out[i] = []
            elif UNK in words:
                out[i] = self.encode(t)
            else:
                batch.append(" ".join(words))
                where.append(i)
        if batch:
            for i, ids in zip(where, encode_many(batch)):
                out[i] = list(ids)
        return out  # type: ignore[return-value]  (every slot was filled above)

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

    # -- files: a standard tokenizer.json, sentae's metadata beside it (see sentae.data.tokenizer_files) ----------
    def _standard_json(self) -> str | None:
        """This tokenizer as a standard ``tokenizers`` JSON document. None for a kind that has no such form: it is
        then saved in the version-1 single file (its ``_payload``), which only sentae reads."""
        return None

    def _beside(self) -> dict[str, tuple[str, bytes]]:
        """Files saved beside ``tokenizer.json``: role -> (file name, content); the metadata records the names."""
        return {}

    @classmethod
    def _from_files(cls, saved: files.SavedFiles) -> Tokenizer:
        """Rebuild from the files ``save`` wrote (``saved.doc``: the standard JSON; ``saved.files``: by role)."""
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer, each file atomically: a folder gets ``tokenizer.json`` inside it, and beside it
        go ``sentae_tokenizer.json``, ``tokenizer_config.json`` and what the kind needs (``spiece.model``).
        Returns the path of the tokenizer file.

        >>> WordTokenizer.train(["a b"]).save("runs/demo")  # doctest: +SKIP
        PosixPath('runs/demo/tokenizer.json')
        """
        from ..io import atomic_write_text

        path = Path(path)
        if path.is_dir():
            path = path / TOKENIZER_FILE
        standard = self._standard_json()
        if standard is None:
            doc = {"format": FORMAT, "version": 1, "type": self.kind, "specials": list(SPECIALS), **self._payload()}
            return atomic_write_text(path, json.dumps(doc, ensure_ascii=False))
        return files.write(path, self.kind, SPECIALS, self.vocab_size, standard, self._beside())

    @staticmethod
    def load(path: str | Path) -> Tokenizer:
        """Read a tokenizer written by ``save``, of this version (``tokenizer.json`` with the files beside it) or
        of an earlier one (the single-file format): a ``tokenizer.json`` path or a folder holding one."""
        path = Path(path)
        if path.is_dir():
            path = path / TOKENIZER_FILE
        saved = files.read(path, SPECIALS)
        where = path if saved.meta is None else files.meta_path(path)
        cls = TOKENIZERS.get(saved.kind) if isinstance(saved.kind, str) else None  # read at call time: later kinds too
        if cls is None:
            raise DataError(f"{where}: unknown tokenizer type {saved.kind!r} (known: {', '.join(TOKENIZERS)})")
        try:
            return cls._from_payload(saved.doc) if saved.meta is None else cls._from_files(saved)
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 (tokenizers raises plain Exception on a bad file)
            raise DataError(f"{path}: corrupt {saved.kind} tokenizer ({type(exc).__name__}: {exc})") from None

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

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self._encode_batch_pieces(
            texts, lambda batch: [e.ids for e in self.hf.encode_batch(batch, add_special_tokens=False)])

    def _decode(self, ids: list[int]) -> str:
        n = self.vocab_size
        return self._decode_runs([i if 0 <= i < n else UNK_ID for i in ids], lambda run: self.hf.decode(run, skip_special_tokens=False))

    def _payload(self) -> dict[str, Any]:
        return {"hf_tokenizer": json.loads(self.hf.to_str())}

    @classmethod
    def _from_payload(cls, doc: dict[str, Any]) -> BPETokenizer:
        from tokenizers import Tokenizer as HFTokenizer

        return cls(HFTokenizer.from_str(json.dumps(doc["hf_tokenizer"])))

    def _standard_json(self) -> str:
        return self.hf.to_str()  # already a `tokenizers` document: byte-level BPE with the specials as added tokens

    @classmethod
    def _from_files(cls, saved: files.SavedFiles) -> BPETokenizer:
        from tokenizers import Tokenizer as HFTokenizer

        return cls(HFTokenizer.from_str(saved.text))


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

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self._encode_batch_pieces(texts, self.sp.encode_as_ids)  # sentencepiece takes a list as well

    def _decode(self, ids: list[int]) -> str:
        n = self.vocab_size
        return self._decode_runs([i if 0 <= i < n else UNK_ID for i in ids], self.sp.decode_ids)

    def _payload(self) -> dict[str, Any]:
        return {"model_proto_base64": base64.b64encode(self.proto).decode("ascii")}

    @classmethod
    def _from_payload(cls, doc: dict[str, Any]) -> UnigramTokenizer:
        return cls(base64.b64decode(doc["model_proto_base64"]))

    def _standard_json(self) -> str:
        # For other libraries only: sentae encodes with spiece.model, the exact sentencepiece model.
        pieces = [(self.sp.id_to_piece(i), self.sp.get_score(i)) for i in range(self.vocab_size)]
        return files.unigram_json(pieces, UNK_ID, SPECIALS)

    def _beside(self) -> dict[str, tuple[str, bytes]]:
        return {"sentencepiece": (SPIECE_FILE, self.proto)}

    @classmethod
    def _from_files(cls, saved: files.SavedFiles) -> UnigramTokenizer:
        model = saved.files.get("sentencepiece")
        if model is None or not model.is_file():
            name = model.name if model is not None else SPIECE_FILE
            raise DataError(f"{saved.path}: a unigram tokenizer needs its sentencepiece model {name} beside it, "
                            f"and it is missing")
        return cls(model.read_bytes())


def _without_unk(texts: Iterable[str]) -> Iterable[str]:
    """Training text with literal ``<unk>`` words removed: they are the unknown id, not text to split into pieces."""
    for t in texts:
        words = [w for w in t.split() if w != UNK]
        if words:
            yield " ".join(words)


TOKENIZERS = {c.kind: c for c in (WordTokenizer, BPETokenizer, UnigramTokenizer)}
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

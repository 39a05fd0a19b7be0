"""Subword tokenizers: byte-level BPE (Hugging Face ``tokenizers``) and unigram (``sentencepiece``), each imported
on first use, behind the interface of ``sentae.data.tokenizer_base``."""
from __future__ import annotations

import base64
import io
import json
from typing import Any, Iterable, Sequence

from ..errors import DataError
from . import tokenizer_files as files
from .tokenizer_base import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK, UNK_ID, Tokenizer
from .tokenizer_files import SPIECE_FILE


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


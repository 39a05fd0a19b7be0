"""The tokenizer interface every kind shares (``sentae.data.tokenizers`` has the kinds): the four specials at
fixed ids, decoding rules, saving to and reading from the standard files, and ``TOKENIZERS``, the kinds by name."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError
from . import tokenizer_files as files
from .tokenizer_files import FORMAT, TOKENIZER_FILE

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
UNK = SPECIALS[UNK_ID]


# Every kind by its name, read at load time; sentae.data.tokenizers adds word, bpe and unigram, and
# sentae.data.pretrained_tokenizer adds 'pretrained'.
TOKENIZERS: dict[str, type[Tokenizer]] = {}


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


"""A pretrained model's own tokenizer (GPT-2's, BERT's, SmolLM2's ...) behind sentae's tokenizer interface.

sentae's four specials keep their ids (``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, ``<unk>`` 3); every id of the pretrained
tokenizer is shifted up by four, and its unknown token (where it has one) becomes ``<unk>``. A model reading these
ids maps them back at its boundary (``id - 4``; bos/eos to its own bos/eos tokens). The whole pretrained tokenizer
(its Hugging Face ``tokenizer.json``) is part of what is saved, so a run reads and writes text with no network.

Saved, ``tokenizer.json`` is a standard ``tokenizers`` file whose ids are sentae's (the pretrained vocabulary moved up
by four, sentae's specials at 0-3: ``tokenizer_files.shifted_json``), so that ``tokenizers`` and
``transformers.AutoTokenizer`` encode a text as sentae does; the pretrained tokenizer itself, which is what sentae
encodes with, is kept in ``sentae_tokenizer.json`` (``pretrained_tokenizer``). The single file of earlier versions
is still read, with the same fingerprint.

``data.options.tokenizer: pretrained`` with ``data.options.pretrained_tokenizer: NAME`` selects it; ``NAME`` is a
folder holding ``tokenizer.json`` (a ``from_pretrained`` folder), a ``.gguf`` file (read by ``transformers``), or
a Hugging Face Hub name when the machine is online. Only ``tokenizers`` is needed for a folder with
``tokenizer.json``; ``transformers`` for the rest.

>>> tok = PretrainedTokenizer.from_pretrained("path/to/gpt2")   # doctest: +SKIP
>>> tok.decode(tok.encode("the food was great ."))              # doctest: +SKIP
'the food was great .'
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError
from . import tokenizer_files as files
from .tokenizers import SPECIALS, TOKENIZER_FILE, TOKENIZERS, UNK, UNK_ID, Tokenizer

OFFSET = len(SPECIALS)  # pretrained id j is sentae id j + OFFSET


def load_hf_tokenizer(name: str) -> Any:
    """The ``tokenizers.Tokenizer`` of a pretrained model: from a folder's ``tokenizer.json``, a ``.gguf`` file or a
    Hub name (through ``transformers.AutoTokenizer``, which also converts folders with only vocab files)."""
    from tokenizers import Tokenizer as HFTokenizer

    path = Path(name).expanduser()
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return HFTokenizer.from_file(str(path / "tokenizer.json"))
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise DataError(f"pretrained tokenizer '{name}': not a folder with tokenizer.json; reading it needs the "
                        f"'transformers' package (pip install transformers)") from None
    try:
        if path.suffix == ".gguf" and path.is_file():
            fast = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        else:
            fast = AutoTokenizer.from_pretrained(str(path) if path.exists() else name)
    except (OSError, ValueError) as exc:
        raise DataError(f"pretrained tokenizer '{name}' cannot be read ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    backend = getattr(fast, "backend_tokenizer", None)
    if backend is None:
        raise DataError(f"pretrained tokenizer '{name}' has no fast (tokenizers) version")
    return backend


# an apostrophe with spaces around it between a word and a contraction's ending: "it ' s" -> "it's", "n ' t" -> "n't";
# a quote that stands on its own (" ' hello ' ") is left as it is
_CONTRACTION_SPLIT = re.compile(r"(?<=\w) ' (?=(?:s|t|re|ve|ll|d|m)\b)")


def hf_unk_id(hf: Any) -> int | None:
    """The id of a pretrained tokenizer's unknown token, or None (byte-level BPE has none)."""
    unk = getattr(hf.model, "unk_token", None)
    return hf.token_to_id(unk) if unk else None


class PretrainedTokenizer(Tokenizer):
    """A pretrained tokenizer with ids shifted past sentae's specials (see the module docstring)."""

    kind = "pretrained"

    def __init__(self, hf_tokenizer: Any) -> None:
        self.hf = hf_tokenizer
        # sentae truncates and pads itself; a tokenizer.json may carry its model's fixed padding (MiniLM: 128)
        self.hf.no_truncation()
        self.hf.no_padding()
        self.hf_unk = hf_unk_id(self.hf)
        # WordPiece (BERT, MiniLM) splits every apostrophe off as a token of its own and its decoder puts the spaces
        # back ("it ' s", "is n ' t"); byte-level BPE decodes the text exactly and needs nothing
        self._joins_contractions = type(self.hf.decoder).__name__ == "WordPiece"

    @classmethod
    def from_pretrained(cls, name: str | None) -> PretrainedTokenizer:
        if not name:
            raise DataError("data.options.tokenizer 'pretrained' needs data.options.pretrained_tokenizer: a folder "
                            "with tokenizer.json, a .gguf file, or a Hugging Face Hub name")
        return cls(load_hf_tokenizer(name))

    @classmethod
    def from_json(cls, text: str) -> PretrainedTokenizer:
        """From the Hugging Face ``tokenizer.json`` text (what :meth:`to_json` gives)."""
        from tokenizers import Tokenizer as HFTokenizer

        return cls(HFTokenizer.from_str(text))

    def to_json(self) -> str:
        return self.hf.to_str()

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size() + OFFSET

    def encode(self, text: str) -> list[int]:
        unk = self.hf_unk

        def chunk(s: str) -> list[int]:
            return [UNK_ID if i == unk else i + OFFSET for i in self.hf.encode(s, add_special_tokens=False).ids]

        if unk is None:  # no unknown token to map a literal "<unk>" to: it is text like any other
            words = text.split()
            return chunk(" ".join(words)) if words else []
        return self._encode_pieces(text, chunk)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """The ids ``encode`` gives each text, the texts without a literal ``<unk>`` in one call of the pretrained
        tokenizer (which works through them in parallel)."""
        unk, out = self.hf_unk, [None] * len(texts)
        plain = [i for i, t in enumerate(texts) if unk is None or UNK not in t.split()]
        joined = [" ".join(texts[i].split()) for i in plain]
        for i, text, enc in zip(plain, joined, self.hf.encode_batch(joined, add_special_tokens=False)):
            out[i] = [UNK_ID if j == unk else j + OFFSET for j in enc.ids] if text else []
        return [ids if ids is not None else self.encode(t) for ids, t in zip(out, texts)]

    def _decode(self, ids: list[int]) -> str:
        n = self.vocab_size
        ids = [i if OFFSET <= i < n else UNK_ID for i in ids]
        text = self._decode_runs(ids, lambda run: self.hf.decode([i - OFFSET for i in run], skip_special_tokens=True))
        return _CONTRACTION_SPLIT.sub("'", text) if self._joins_contractions else text

    def _payload(self) -> dict[str, Any]:
        return {"hf_tokenizer": json.loads(self.hf.to_str())}

    @classmethod
    def _from_payload(cls, doc: dict[str, Any]) -> PretrainedTokenizer:
        return cls.from_json(json.dumps(doc["hf_tokenizer"]))

    # -- files: the standard tokenizer.json with sentae's ids; the pretrained tokenizer in the metadata ----------
    def _standard_json(self) -> str:
        return files.shifted_json(self.hf.to_str(), SPECIALS, UNK, self.hf_unk)

    def save(self, path: str | Path) -> Path:
        """Write ``tokenizer.json`` (standard, sentae's ids), ``tokenizer_config.json`` and
        ``sentae_tokenizer.json``, which holds the pretrained tokenizer that sentae encodes with (a file of its
        own would not be among the files a Hub load fetches). A folder gets ``tokenizer.json`` inside it."""
        path = Path(path)
        if path.is_dir():
            path = path / TOKENIZER_FILE
        return files.write(path, self.kind, SPECIALS, self.vocab_size, self._standard_json(), {},
                           extra={"pretrained_tokenizer": json.loads(self.hf.to_str())})

    @classmethod
    def _from_files(cls, saved: files.SavedFiles) -> PretrainedTokenizer:
        doc = (saved.meta or {}).get("pretrained_tokenizer")
        if not isinstance(doc, dict):
            raise DataError(f"{files.meta_path(saved.path)}: a pretrained tokenizer's metadata must hold the "
                            f"pretrained tokenizer ('pretrained_tokenizer': a tokenizers document)")
        return cls.from_json(json.dumps(doc))


TOKENIZERS[PretrainedTokenizer.kind] = PretrainedTokenizer

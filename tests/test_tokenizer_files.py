"""Saved tokenizers are standard files: `tokenizers` (and `transformers`, when installed) read tokenizer.json for
every kind; sentae reads them back and the single-file format of earlier versions, with the same fingerprint."""
from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import pytest

from sentae.data.tokenizer_files import META_FILE, SPIECE_FILE, TOKENIZER_FILE
from sentae.data.tokenizers import (FORMAT, SPECIALS, TOKENIZERS, Tokenizer, UnigramTokenizer, WordTokenizer,
                                    load_tokenizer, train_tokenizer)
from sentae.errors import DataError

KINDS = ("word", "bpe", "unigram")


def _texts() -> list[str]:
    # A small fixed grammar: every sentence is in-vocabulary for the word tokenizer it trains.
    subjects = ["the food", "our waiter", "the pasta", "my friend", "this place", "the staff"]
    verbs = ["was", "is", "will be", "seemed", "looked"]
    objects = ["great", "cold", "friendly .", "slow , sadly", "amazing !", "far too salty"]
    return [f"{s} {v} {o}" for s in subjects for v in verbs for o in objects]


@pytest.fixture(scope="module", params=KINDS)
def trained(request):
    size = None if request.param == "word" else 90
    return train_tokenizer(request.param, _texts(), size, 1)


def _legacy(tok: Tokenizer, path: Path) -> Path:
    """The single file of sentae 0.1 (version 1): {"format": "sentae-tokenizer", ...} named tokenizer.json."""
    doc = {"format": FORMAT, "version": 1, "type": tok.kind, "specials": list(SPECIALS), **tok._payload()}
    path.mkdir(parents=True, exist_ok=True)
    (path / TOKENIZER_FILE).write_text(json.dumps(doc), encoding="utf-8")
    return path / TOKENIZER_FILE


def test_tokenizers_library_reads_the_file_of_every_kind(trained, tmp_path):
    from tokenizers import Tokenizer as HFTokenizer

    trained.save(tmp_path)
    hf = HFTokenizer.from_file(str(tmp_path / TOKENIZER_FILE))
    assert hf.get_vocab_size() == trained.vocab_size
    assert [hf.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3]
    # "today" is not in a word vocabulary. A literal <unk> in byte-level BPE text: tokenizers keeps the space
    # before it as a piece of its own, sentae does not (it encodes the words around <unk> separately).
    unknown = ["the food was <unk> today"] if trained.kind != "bpe" else []
    for text in _texts()[::7] + unknown:
        assert hf.encode(text).ids == trained.encode(text), text
    for text in _texts()[::11]:
        assert hf.decode(trained.encode(text)).strip() == text  # byte-level BPE decodes with its prefix space
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["format"] == FORMAT and meta["version"] == 2 and meta["kind"] == trained.kind
    assert meta["specials"] == list(SPECIALS) and meta["vocab_size"] == trained.vocab_size
    assert "format" not in json.loads((tmp_path / TOKENIZER_FILE).read_text())  # no private keys in the standard file
    assert (tmp_path / SPIECE_FILE).is_file() == (trained.kind == "unigram")


def test_word_level_file_is_wordlevel_with_whitespace_split(tmp_path):
    tok = WordTokenizer.train(["b a c a", "c b a"])
    doc = json.loads(tok.save(tmp_path / TOKENIZER_FILE).read_text())
    assert doc["model"]["type"] == "WordLevel" and doc["pre_tokenizer"] == {"type": "WhitespaceSplit"}
    assert doc["model"]["vocab"] == {"<pad>": 0, "<bos>": 1, "<eos>": 2, "<unk>": 3, "a": 4, "b": 5, "c": 6}
    assert doc["model"]["unk_token"] == "<unk>"


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None,
                    reason="transformers is not installed (pip install transformers to run this check)")
def test_transformers_reads_the_file_of_every_kind(trained, tmp_path):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    trained.save(tmp_path)
    fast = PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / TOKENIZER_FILE))
    auto = AutoTokenizer.from_pretrained(str(tmp_path))  # tokenizer_config.json names the specials
    assert (auto.pad_token_id, auto.bos_token_id, auto.eos_token_id, auto.unk_token_id) == (0, 1, 2, 3)
    for text in _texts()[::9]:
        ids = trained.encode(text)
        assert fast(text, add_special_tokens=False)["input_ids"] == ids
        assert auto(text, add_special_tokens=False)["input_ids"] == ids
        assert auto.decode([1, *ids, 2], skip_special_tokens=True).strip() == text


def test_sentae_reads_back_what_it_wrote_with_the_same_fingerprint(trained, tmp_path):
    path = trained.save(tmp_path / "tok")  # a folder that does not exist yet is a file name...
    assert path == tmp_path / "tok"
    again = load_tokenizer(path)
    assert type(again) is type(trained) and again.fingerprint() == trained.fingerprint()
    folder = tmp_path / "run"
    folder.mkdir()
    assert trained.save(folder) == folder / TOKENIZER_FILE  # ...and a folder gets tokenizer.json inside
    again = load_tokenizer(folder)
    text = "the pasta will be amazing !"
    assert again.encode(text) == trained.encode(text) and again.decode(again.encode(text)) == text
    assert again.encode("<unk> friend")[0] == 3 and again.decode([1, *again.encode(text), 2, 5]) == text


def test_an_old_single_file_tokenizer_still_loads_with_the_same_fingerprint(trained, tmp_path):
    old = load_tokenizer(_legacy(trained, tmp_path / "old"))
    assert type(old) is type(trained) and old.fingerprint() == trained.fingerprint()
    trained.save(tmp_path / "new")
    assert load_tokenizer(tmp_path / "new").fingerprint() == old.fingerprint()  # old and new folders agree
    assert old.encode("the staff seemed cold") == trained.encode("the staff seemed cold")


def test_a_kind_without_a_standard_form_is_saved_in_the_single_file(tmp_path, monkeypatch):
    class Letters(Tokenizer):  # a registered kind that only knows the single-file payload
        kind = "letters"

        @property
        def vocab_size(self) -> int:
            return 4 + 26

        def encode(self, text: str) -> list[int]:
            return [4 + ord(c) - ord("a") for c in text if c.isalpha()]

        def _decode(self, ids: list[int]) -> str:
            return "".join(chr(ord("a") + i - 4) for i in ids)

        def _payload(self) -> dict:
            return {"alphabet": "a-z"}

        @classmethod
        def _from_payload(cls, doc: dict) -> Tokenizer:
            assert doc["alphabet"] == "a-z"
            return cls()

    monkeypatch.setitem(TOKENIZERS, "letters", Letters)
    path = Letters().save(tmp_path)
    assert json.loads(path.read_text())["format"] == FORMAT and not (tmp_path / META_FILE).exists()
    assert load_tokenizer(tmp_path).decode([1, 4, 5, 2, 6]) == "ab"


def test_damaged_or_foreign_files_are_one_clear_error(tmp_path):
    WordTokenizer.train(["a b c"]).save(tmp_path)
    meta = tmp_path / META_FILE
    good = meta.read_text()
    (tmp_path / META_FILE).unlink()
    with pytest.raises(DataError, match=r"tokenizer\.json: not a sentae tokenizer file \(no sentae_tokenizer\.json"):
        load_tokenizer(tmp_path)
    for change, message in [({"version": 3}, "written by a newer sentae"), ({"kind": "morse"}, "unknown tokenizer type 'morse'"),
                            ({"specials": ["<s>"]}, "specials"), ({"files": {"tokenizer": "../x.json"}}, "a file name in the same folder")]:
        meta.write_text(json.dumps({**json.loads(good), **change}))
        with pytest.raises(DataError, match=message):
            load_tokenizer(tmp_path)
    meta.write_text(good)
    doc = json.loads((tmp_path / TOKENIZER_FILE).read_text())
    doc["model"]["vocab"]["c"] = 4  # two words with one id
    (tmp_path / TOKENIZER_FILE).write_text(json.dumps(doc))
    with pytest.raises(DataError, match="ids 0..6 once each"):
        load_tokenizer(tmp_path)


def test_a_unigram_tokenizer_without_its_sentencepiece_model_is_refused(tmp_path):
    tok = train_tokenizer("unigram", _texts(), 90, 1)
    assert isinstance(tok, UnigramTokenizer)
    tok.save(tmp_path)
    (tmp_path / SPIECE_FILE).unlink()
    with pytest.raises(DataError, match=r"needs its sentencepiece model spiece\.model beside it"):
        load_tokenizer(tmp_path)
    # the old single file carries the model itself
    doc = {"format": FORMAT, "version": 1, "type": "unigram", "specials": list(SPECIALS),
           "model_proto_base64": base64.b64encode(tok.proto).decode()}
    (tmp_path / "old.json").write_text(json.dumps(doc))
    assert load_tokenizer(tmp_path / "old.json").fingerprint() == tok.fingerprint()

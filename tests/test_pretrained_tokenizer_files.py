"""The `pretrained` tokenizer kind saves a standard tokenizer.json whose ids are sentae's (the pretrained ids moved up
by four, sentae's specials at 0-3): `tokenizers` and `transformers` encode as sentae does, for every model type of
`tokenizers`. sentae reads it back, and the single file of earlier versions, with the same fingerprint. The
pretrained tokenizers are tiny ones trained here; nothing is downloaded."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from sentae.data.pretrained_tokenizer import OFFSET, PretrainedTokenizer
from sentae.data.tokenizer_files import META_FILE, RENAMED, TOKENIZER_FILE
from sentae.data.tokenizers import FORMAT, SPECIALS, load_tokenizer
from sentae.errors import DataError

pytest.importorskip("tokenizers")

WORDS = ["the food", "our waiter", "the pasta", "this place", "the staff", "my burger"]
TAILS = ["was great .", "is cold", "seemed friendly !", "looked far too salty", "was amazing , sadly"]
CORPUS = [f"{w} {t}" for w in WORDS for t in TAILS]
# in and out of the vocabulary, a literal <unk> and the pretrained tokenizer's own specials written as text
SENTENCES = CORPUS[::4] + ["the zqxw was wonderful today", "my burger was <unk> and cold .", "the [CLS] food",
                           "<unk>", "", "our waiter [SEP] is great"]


def _wordpiece():  # BERT's: its own unknown token [UNK], a post-processor that frames with [CLS] ... [SEP]
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(
        vocab_size=80, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tok


def _byte_bpe():  # GPT-2's: byte-level, no unknown token, one special
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                        show_progress=False))
    return tok


def _bpe_with_unk():  # a character BPE whose unknown token is spelled like sentae's, and a <pad> of its own
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=120, special_tokens=["<s>", "<pad>", "<unk>"],
                                                        show_progress=False))
    return tok


def _unigram():  # T5's kind: a Unigram model (its unknown piece is an ordinary id to sentae) with Metaspace
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(CORPUS, trainers.UnigramTrainer(vocab_size=60, special_tokens=["<pad>", "</s>", "<unk>"],
                                                            unk_token="<unk>", show_progress=False))
    return tok


def _word_level():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(CORPUS[:12], trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]"],
                                                                   show_progress=False))
    return tok


MAKERS = {"wordpiece": _wordpiece, "byte_bpe": _byte_bpe, "bpe_unk": _bpe_with_unk, "unigram": _unigram,
          "wordlevel": _word_level}


@pytest.fixture(scope="module", params=MAKERS)
def pretrained(request, tmp_path_factory) -> PretrainedTokenizer:
    folder = tmp_path_factory.mktemp(request.param)
    MAKERS[request.param]().save(str(folder / TOKENIZER_FILE))  # a from_pretrained folder with tokenizer.json
    return PretrainedTokenizer.from_pretrained(str(folder))


def _literal_specials(text: str) -> bool:
    return any(s in text.split() for s in SPECIALS)


def test_the_standard_file_encodes_as_sentae_does(pretrained, tmp_path):
    from tokenizers import Tokenizer

    pretrained.save(tmp_path)
    hf = Tokenizer.from_file(str(tmp_path / TOKENIZER_FILE))
    assert [hf.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3]
    for text in SENTENCES:
        if pretrained.hf_unk is None and _literal_specials(text):
            continue  # without an unknown token sentae reads "<unk>" as text, the file as its special (docs)
        assert hf.encode(text).ids == pretrained.encode(text), text
    # every id is one of sentae's, and it is the same token: the pretrained id moved up by four
    ids = {i for text in SENTENCES for i in pretrained.encode(text)}
    assert ids and max(ids) < pretrained.vocab_size and hf.get_vocab_size() <= pretrained.vocab_size
    for i in ids - {3}:  # (a pretrained token spelled like a sentae special is renamed: a spelling has one id)
        theirs = pretrained.hf.id_to_token(i - OFFSET)
        assert hf.id_to_token(i) == (RENAMED + theirs if theirs in SPECIALS else theirs)
    text = CORPUS[3]
    assert hf.decode(pretrained.encode(text)).strip().replace(" ,", ",") == pretrained.decode(
        pretrained.encode(text)).replace(" ,", ",")
    doc = json.loads((tmp_path / TOKENIZER_FILE).read_text())
    assert "format" not in doc and doc["added_tokens"][:4] == [
        {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True} for i, s in enumerate(SPECIALS)]


def test_no_id_is_lost_where_no_pretrained_token_is_spelled_like_a_special(tmp_path):
    tok = PretrainedTokenizer(_wordpiece())
    tok.save(tmp_path)
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(tmp_path / TOKENIZER_FILE))
    assert hf.get_vocab_size() == tok.vocab_size
    assert hf.token_to_id("[CLS]") == tok.hf.token_to_id("[CLS]") + OFFSET
    assert hf.encode("zqxw").ids == [3] == tok.encode("zqxw")  # the unknown word is sentae's <unk>


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None,
                    reason="transformers is not installed (pip install transformers to run this check)")
def test_auto_tokenizer_reads_the_folder(pretrained, tmp_path):
    from transformers import AutoTokenizer

    pretrained.save(tmp_path)
    auto = AutoTokenizer.from_pretrained(str(tmp_path))
    assert (auto.pad_token_id, auto.bos_token_id, auto.eos_token_id, auto.unk_token_id) == (0, 1, 2, 3)
    for text in CORPUS[::5] + ["the zqxw was wonderful today"]:
        ids = pretrained.encode(text)
        assert auto(text, add_special_tokens=False)["input_ids"] == ids, text
        if 3 not in ids:  # sentae's specials framing a sentence are dropped by skip_special_tokens
            assert auto.decode([1, *ids, 2], skip_special_tokens=True) == auto.decode(ids)


def test_sentae_reads_it_back_with_the_same_fingerprint(pretrained, tmp_path):
    path = pretrained.save(tmp_path)
    assert path == tmp_path / TOKENIZER_FILE
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["kind"] == "pretrained" and meta["vocab_size"] == pretrained.vocab_size
    back = load_tokenizer(tmp_path)
    assert isinstance(back, PretrainedTokenizer) and back.fingerprint() == pretrained.fingerprint()
    for text in SENTENCES:
        assert back.encode(text) == pretrained.encode(text)
        assert back.decode(back.encode(text)) == pretrained.decode(pretrained.encode(text))


def _old_file(tok: PretrainedTokenizer, folder: Path) -> Path:
    """The private single file the pretrained kind wrote before: the whole pretrained tokenizer inside."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "version": 1, "type": "pretrained", "specials": list(SPECIALS),
           "hf_tokenizer": json.loads(tok.hf.to_str())}
    (folder / TOKENIZER_FILE).write_text(json.dumps(doc), encoding="utf-8")
    return folder / TOKENIZER_FILE


def test_an_old_single_file_still_loads_with_the_same_fingerprint(pretrained, tmp_path):
    old = load_tokenizer(_old_file(pretrained, tmp_path / "old"))
    assert isinstance(old, PretrainedTokenizer) and old.fingerprint() == pretrained.fingerprint()
    assert all(old.encode(t) == pretrained.encode(t) for t in SENTENCES)
    old.save(tmp_path / "old")  # converting an old folder keeps its fingerprint (so model.json still matches)
    assert load_tokenizer(tmp_path / "old").fingerprint() == pretrained.fingerprint()
    assert "format" not in json.loads((tmp_path / "old" / TOKENIZER_FILE).read_text())


def test_metadata_without_the_pretrained_tokenizer_is_one_clear_error(tmp_path):
    PretrainedTokenizer(_byte_bpe()).save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    del meta["pretrained_tokenizer"]
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"sentae_tokenizer\.json: a pretrained tokenizer's metadata must hold"):
        load_tokenizer(tmp_path)


def test_wordpiece_text_comes_back_with_its_contractions_joined():
    # WordPiece splits the apostrophe off ("it ' s"); decoded text joins it again, a lone quote stays apart
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    corpus = ["it's cold", "the food isn't great", "i've been there", "we'll see", "the ' best ' pasta"]
    wp = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wp.normalizer = normalizers.BertNormalizer(lowercase=True)
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wp.decoder = decoders.WordPiece()
    wp.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=120, special_tokens=["[UNK]"],
                                                             show_progress=False))
    tok = PretrainedTokenizer(wp)
    assert [tok.decode(tok.encode(s)) for s in corpus] == corpus
    assert tok.decode(tok.encode("it ' s")) == "it's"  # the corpus's own spacing comes back joined too
    byte_level = PretrainedTokenizer(_byte_bpe())  # decodes exactly: nothing is joined
    assert byte_level.decode(byte_level.encode("the food was great .")) == "the food was great ."

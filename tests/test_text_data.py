"""Text data: readers and their error messages, the real corpora, tokenizers, length policy and bucketed batches."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

import sentae.data.text as text  # registers the text sources
from sentae.config import DataConfig
from sentae.data import build_data, source_names
from sentae.data.readers import read_labelled_pairs
from sentae.data.tokenizers import BPETokenizer, UnigramTokenizer, WordTokenizer, load_tokenizer
from sentae.errors import DataError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")


@pytest.fixture
def shared_data(monkeypatch):
    if not SHARED.is_dir():
        pytest.skip("the shared corpora are not available")
    monkeypatch.setenv("SENTAE_DATA_DIR", str(SHARED))
    return SHARED


def make(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def build(path: Path | None = None, source: str = "text", **kw) -> text.TextData:
    options = kw.pop("options", {})
    return build_data(DataConfig(source=source, path=str(path) if path else None, options=options, **kw))


def corpus(n: int = 300, seed: int = 5) -> list[str]:
    """A generated corpus (no copied text) with varied lengths."""
    rng = random.Random(seed)
    words = "the a cat dog bird sat ran flew on under over mat tree roof quickly slowly big small red . , n't 's".split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 17))) for _ in range(n)]


# -- bad input: each message names the file and the line -----------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="path not found"):
        build(tmp_path / "nope.txt")
    make(tmp_path / "train.txt", "a b\n")
    with pytest.raises(DataError, match=r"valid\.txt: file not found"):
        build(tmp_path, options={"train": "train.txt", "valid": "valid.txt"})
    with pytest.raises(DataError, match=r"ptb\.train\.txt: file not found"):
        build(tmp_path, source="ptb")


def test_empty_and_blank_files(tmp_path):
    with pytest.raises(DataError, match=r"e\.txt: the file is empty"):
        build(make(tmp_path / "e.txt", b""))
    with pytest.raises(DataError, match=r"b\.txt: no sentences \(only blank lines"):
        build(make(tmp_path / "b.txt", "\n   \n\t\n\n"))
    with pytest.raises(DataError, match=r"b\.jsonl: no sentences"):
        build(make(tmp_path / "b.jsonl", '\n{"text": "  "}\n'))


def test_undecodable_bytes_name_line_and_offset(tmp_path):
    p = make(tmp_path / "bad.txt", b"fine line\nsecond line\nthird \xff here\n")
    with pytest.raises(DataError) as err:
        build(p)
    msg = str(err.value)
    assert "bad.txt, line 3" in msg and "0xff" in msg and "byte offset 6 of the line" in msg and "offset 28" in msg
    # the same bytes read as cp1252 are fine
    assert build(p, options={"encoding": "cp1252"}, val_fraction=0, test_fraction=0).split_size("train") == 3


def test_overlong_line_is_an_error(tmp_path):
    p = make(tmp_path / "long.txt", "short line\n" + " ".join(["w"] * 10_000) + "\nanother\n")
    with pytest.raises(DataError, match=r"long\.txt, line 2: 10,000 tokens, more than data.options.max_line_tokens=1,000"):
        build(p)
    with pytest.raises(DataError, match="line 1: 2 tokens"):
        build(p, options={"max_line_tokens": 1})


def test_missing_columns(tmp_path):
    p = make(tmp_path / "c.jsonl", '{"text": "a b"}\n{"sentence": "c d"}\n')
    with pytest.raises(DataError, match=r"c\.jsonl, line 2: no column 'text'.*sentence"):
        build(p)
    p = make(tmp_path / "d.jsonl", '{"text": "a b", "label": "x"}\n\n{"text": "c d"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl, line 3: no column 'label' \(attribute 'style'"):
        build(p, options={"attributes": {"style": ["x", "y"]}, "attribute_columns": {"style": "label"}})
    p = make(tmp_path / "e.csv", "sentence,label\nhello there,1\n")
    with pytest.raises(DataError, match=r"e\.csv, line 1 \(header\): no column 'text' \(columns: sentence, label\)"):
        build(p)
    p = make(tmp_path / "f.jsonl", '{"text": "a"}\nnot json\n')
    with pytest.raises(DataError, match=r"f\.jsonl, line 2: not valid JSON"):
        build(p)


def test_attribute_value_outside_declared_set(tmp_path):
    p = make(tmp_path / "a.tsv", "text\tsentiment\nthe food was good\t1\nthe food \" was bad\t0\nmeh\tneutral\n")
    with pytest.raises(DataError) as err:
        build(p, options={"attributes": {"sentiment": [0, 1]}})
    msg = str(err.value)
    assert "a.tsv, line 4" in msg and "'neutral'" in msg and "allowed: 0, 1" in msg


def test_unknown_option_and_bad_values(tmp_path):
    p = make(tmp_path / "t.txt", "a b\n")
    with pytest.raises(DataError, match="did you mean 'vocab_size'"):
        build(p, options={"vocab_sise": 10})
    with pytest.raises(DataError, match="length_policy"):
        build(p, options={"length_policy": "cut"})
    with pytest.raises(DataError, match="attributes need a JSONL, CSV or TSV"):
        build(p, options={"attributes": {"s": ["a"]}})



@pytest.mark.parametrize("options, message", [
    ({"vocab_size": 4}, r"'data.options.vocab_size' must be above 4 \(or null\), got 4"),
    ({"vocab_size": "big"}, r"'data.options.vocab_size' must be an integer or null, got 'big' \(str\)"),
    ({"min_freq": 1.5}, r"'data.options.min_freq' must be an integer, got 1.5 \(float\)"),
    ({"require_labels": "tense"}, r"'data.options.require_labels' must be a list of a string or null"),
    ({"attributes": {"s": []}}, r"'data.options.attributes' must be a mapping of attribute name -> list"),
    ({"attribute_columns": {"s": "label"}}, r"'data.options.attribute_columns' must be a mapping of declared"),
    ({"train": 3}, r"'data.options.train' must be a string or null, got 3 \(int\)"),
])
def test_options_of_the_wrong_type(tmp_path, options, message):
    p = make(tmp_path / "t.txt", "a b\n")
    with pytest.raises(DataError, match=r"^data source 'text': " + message):
        build(p, options=options)


def test_options_of_a_named_corpus_are_only_the_shared_ones(tmp_path):
    with pytest.raises(DataError, match=r"data source 'ptb': unknown option 'data.options.text_column'"):
        build(tmp_path, source="ptb", options={"text_column": "sentence"})
    with pytest.raises(DataError, match=r"data source 'hf': 'data.options.hf_dataset' is required"):
        build(source="hf", options={})


def test_read_labelled_pairs(tmp_path):
    p = make(tmp_path / "l.csv", "sentence,mood\nthe soup was cold,negative\nno label here,\nwe loved it,positive\n")
    assert read_labelled_pairs(p, "mood", text_column="sentence") == [
        ("the soup was cold", "negative"), ("we loved it", "positive")]
    j = make(tmp_path / "l.jsonl", json.dumps({"text": "fine", "mood": None}) + "\n")
    with pytest.raises(DataError, match=r"l\.jsonl: no sentence has a 'mood' value"):
        read_labelled_pairs(j, "mood")
    with pytest.raises(DataError, match=r"must be \.jsonl, \.csv or \.tsv"):
        read_labelled_pairs(make(tmp_path / "l.txt", "a\n"), "mood")


# -- readers and splits ---------------------------------------------------------------------------------------


def test_missing_labels_are_minus_one(tmp_path):
    p = make(tmp_path / "m.jsonl", "\n".join(json.dumps(r) for r in [
        {"text": "good food", "sentiment": 1}, {"text": "bad food", "sentiment": None},
        {"text": "ok food", "sentiment": ""}, {"text": "bad", "sentiment": 0}]) + "\n")
    data = build(p, options={"attributes": {"sentiment": ["0", "1"]}}, val_fraction=0, test_fraction=0)
    batch = data.get_batch("train", [0, 1, 2, 3])
    assert batch["attr_sentiment"].tolist() == [1, -1, -1, 0]
    assert data.info.attributes == {"sentiment": ["0", "1"]}
    c = make(tmp_path / "m.csv", 'text,stars\n"good, really",pos\nbad,\n')
    data = build(c, options={"attributes": {"s": ["neg", "pos"]}, "attribute_columns": {"s": "stars"}},
                 val_fraction=0, test_fraction=0)
    assert data.get_batch("train", [0, 1])["attr_s"].tolist() == [1, -1]
    assert data.tokenizer.decode(data.ids["train"][0]) == "good, really"


def test_single_file_split_is_reproducible_and_folder_is_detected(tmp_path):
    lines = corpus(200)
    p = make(tmp_path / "all.txt", "\n".join(lines) + "\n")
    a = build(p, val_fraction=0.1, test_fraction=0.2, split_seed=3)
    b = build(p, val_fraction=0.1, test_fraction=0.2, split_seed=3)
    assert [a.split_size(s) for s in ("train", "val", "test")] == [140, 20, 40]
    assert a.ids == b.ids
    assert build(p, split_seed=4).ids["test"] != a.ids["test"]
    folder = tmp_path / "corpus"
    folder.mkdir()
    make(folder / "my.train.txt", "\n".join(lines[:150]))
    make(folder / "my-dev.txt", "\n".join(lines[150:170]))
    make(folder / "README.md", "not a split")
    d = build(folder, test_fraction=0.1)
    assert (d.split_size("train"), d.split_size("val"), d.split_size("test")) == (135, 20, 15)


def test_rt_polarity_0x85_is_not_a_line_break(tmp_path):
    pos = b"a fine film \x85 really .\nsecond \x93quoted\x94 line\n"
    neg = b"dull\x85dull\x85dull\nbad \x96 worse \x97 worst\nthird\n"
    make(tmp_path / "rt-polarity.pos", pos)
    make(tmp_path / "rt-polarity.neg", neg)
    data = build(tmp_path, source="rt_polarity", val_fraction=0, test_fraction=0)
    assert data.split_size("train") == len(pos.split(b"\n")) - 1 + len(neg.split(b"\n")) - 1 == 5
    assert len(pos.decode("latin-1").splitlines()) == 3  # the trap: latin-1 gives NEL, which splitlines breaks at
    words = set(data.tokenizer.itos)
    assert "dull\u2026dull\u2026dull" in words and "\u201cquoted\u201d" in words
    labels = data.get_batch("train", list(range(5)))["attr_sentiment"].tolist()
    assert sorted(labels) == [0, 0, 0, 1, 1]


# -- the real corpora -----------------------------------------------------------------------------------------


def test_real_rt_polarity(shared_data):
    data = build(source="rt_polarity")
    sizes = [data.split_size(s) for s in ("train", "val", "test")]
    assert sum(sizes) == 5331 + 5331 and sizes[1] == sizes[2] == 1066
    labels = torch.cat([data.labels[s]["sentiment"] for s in ("train", "val", "test")])
    assert (labels == 1).sum() == 5331 and (labels == 0).sum() == 5331


def test_real_ptb_vocabulary(shared_data):
    data = build_data(DataConfig(source="ptb"))  # its loading time is measured by benchmarks/data_speed.py
    assert [data.split_size(s) for s in ("train", "val", "test")] == [42068, 3370, 3761]
    # Mikolov's 10k vocabulary: 9,999 word types in train, one of them its own <unk>, which becomes our unk id;
    # so 9,998 words + <pad> <bos> <eos> <unk>.
    assert data.info.vocab_size == 9998 + 4
    assert data.tokenizer.encode("<unk> the N")[0] == data.info.unk_id == 3
    assert "<unk>" not in data.tokenizer.itos[4:]


def test_real_yelp_splits(shared_data):
    data = build(source="yelp")  # its loading time is measured by benchmarks/data_speed.py
    assert [data.split_size(s) for s in ("train", "val", "test")] == [167_017, 3_856, 1_000]
    assert data.info.attributes == {"sentiment": ["negative", "positive"]}
    assert int((data.labels["test"]["sentiment"] == 1).sum()) == 500
    assert (data.labels["train"]["sentiment"] >= 0).all()
    assert "train 167,017" in data.describe()


def test_build_data_finds_ptb_by_name(shared_data):
    assert {"text", "ptb", "yelp", "rt_polarity", "hf"} <= set(source_names())
    data = build_data(DataConfig(source="ptb", limit=50))
    assert data.info.modality == "text" and data.split_size("train") == 50


# -- tokenizers -----------------------------------------------------------------------------------------------


def test_word_tokenizer_vocab_and_round_trip(tmp_path):
    tok = WordTokenizer.train(["b a c a", "c b a", "d <eos>"], vocab_size=7, min_freq=1)
    assert tok.itos == ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c"]  # a 3x, b 2x = c 2x (alphabetical)
    assert tok.encode("a d <eos> <unk> <pad>") == [4, 3, 3, 3, 3]
    assert tok.decode([1, 4, 5, 2, 6, 0]) == "a b"
    assert WordTokenizer.train(["b a c a", "c b a", "d"], min_freq=2).itos[4:] == ["a", "b", "c"]
    path = tok.save(tmp_path / "tokenizer.json")
    again = load_tokenizer(path)
    assert isinstance(again, WordTokenizer) and again.itos == tok.itos
    assert load_tokenizer(tmp_path).encode("c a") == tok.encode("c a")
    make(tmp_path / "bad.json", '{"format": "other"}')
    with pytest.raises(DataError, match=r"bad\.json: not a sentae tokenizer"):
        load_tokenizer(tmp_path / "bad.json")


@pytest.mark.parametrize("kind, cls", [("bpe", BPETokenizer), ("unigram", UnigramTokenizer)])
def test_subword_tokenizers_round_trip(tmp_path, kind, cls):
    lines = corpus(400, seed=11)
    p = make(tmp_path / "c.txt", "\n".join(lines) + "\n")
    data = build(p, options={"tokenizer": kind, "vocab_size": 300}, val_fraction=0.1, test_fraction=0)
    tok = data.tokenizer
    assert isinstance(tok, cls) and 4 < data.info.vocab_size <= 300
    assert [tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id] == [0, 1, 2, 3]
    for line in lines[:50]:
        assert tok.decode(tok.encode(line)) == line
    assert tok.encode("the <unk> cat")[1] == 3 and tok.decode(tok.encode("the <unk> cat")) == "the <unk> cat"
    ids = tok.encode("the big cat")
    assert tok.decode([1, *ids, 2, *ids]) == "the big cat"
    run = tmp_path / "run"
    run.mkdir()
    data.save(run)
    again = load_tokenizer(run)
    assert isinstance(again, cls) and again.encode(lines[0]) == tok.encode(lines[0])
    assert again.decode(tok.encode(lines[1])) == lines[1]


# -- batches --------------------------------------------------------------------------------------------------


@pytest.fixture
def small(tmp_path):
    return build(make(tmp_path / "s.txt", "\n".join(corpus(700)) + "\n"), val_fraction=0.1, test_fraction=0.0)


def test_get_batch_layout(small):
    batch = small.get_batch("val", [0, 3, 5])
    tokens, lengths = batch["tokens"], batch["lengths"]
    assert tokens.dtype == lengths.dtype == torch.long and tokens.shape == (3, int(lengths.max()))
    for row, n, ids in zip(tokens, lengths, (small.ids["val"][i] for i in (0, 3, 5))):
        assert row[0] == 1 and row[n - 1] == 2 and row[1 : n - 1].tolist() == ids and (row[n:] == 0).all()
    with pytest.raises(DataError, match="no split 'test'"):
        small.get_batch("test", [0])


def test_bucketed_batches_are_deterministic_and_complete(small):
    torch.manual_seed(1)
    a = small.batches("train", 7, epoch=2, seed=9)
    torch.manual_seed(2)  # the global RNG must not matter
    random.seed(3)
    assert small.batches("train", 7, epoch=2, seed=9) == a
    assert small.batches("train", 7, epoch=3, seed=9) != a
    assert small.batches("train", 7, epoch=2, seed=10) != a
    flat = sorted(i for b in a for i in b)
    assert flat == list(range(small.split_size("train")))
    assert all(1 <= len(b) <= 7 for b in a)
    lengths = small.lengths["train"]
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in a]
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(0)).tolist()
    random_spread = [max(lengths[i] for i in order[j:j + 7]) - min(lengths[i] for i in order[j:j + 7])
                     for j in range(0, len(order), 7)]
    assert sum(spread) / len(spread) <= 1.0 < sum(random_spread) / len(random_spread)
    assert small.batches("val", 4, shuffle=False) == [list(range(i, min(i + 4, 70))) for i in range(0, 70, 4)]


def test_length_policy_truncate_and_drop(tmp_path):
    lines = ["a b c d e f g h", "a b", "a b c d e", "c"]
    p = make(tmp_path / "l.txt", "\n".join(lines))
    cut = build(p, options={"max_length": 4}, val_fraction=0, test_fraction=0)
    assert cut.length_report == {"train": {"sentences": 4, "truncated": 2}}
    assert cut.get_batch("train", [0])["tokens"].tolist() == [[1, *cut.tokenizer.encode("a b c d"), 2]]
    assert cut.info.max_length == 6 and "sentences truncated as longer: train 2)" in cut.describe()
    drop = build(p, options={"max_length": 4, "length_policy": "drop"}, val_fraction=0, test_fraction=0)
    assert drop.length_report == {"train": {"sentences": 2, "dropped": 2}}
    assert [drop.tokenizer.decode(x) for x in drop.ids["train"]] == ["a b", "c"]


# -- Hugging Face datasets (a local JSON file through load_dataset; nothing is downloaded) -------------------


@pytest.mark.parametrize("streaming", [False, True])
def test_hf_dataset_code_path(tmp_path, monkeypatch, streaming):
    pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = [{"text": line, "label": i % 2 if i % 5 else None} for i, line in enumerate(corpus(60))]
    train = make(tmp_path / "train.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    test = make(tmp_path / "test.jsonl", "\n".join(json.dumps(r) for r in rows[:9]) + "\n")
    options = {"hf_dataset": "json", "hf_data_files": {"train": str(train), "test": str(test)},
               "cache_dir": str(tmp_path / "cache"), "streaming": streaming, "attributes": {"label": [0, 1]}}
    data = build(source="hf", options=options, limit=50, val_fraction=0.2)
    assert (data.split_size("train"), data.split_size("val"), data.split_size("test")) == (40, 10, 9)
    labels = data.get_batch("test", list(range(9)))["attr_label"].tolist()
    assert labels == [-1, 1, 0, 1, 0, -1, 0, 1, 0]
    assert data.tokenizer.decode(data.ids["test"][3]) == rows[3]["text"]
    if streaming:
        with pytest.raises(DataError, match="streaming needs data.limit"):
            build(source="hf", options=options)
    bad = {**options, "text_column": "sentence"}
    with pytest.raises(DataError, match="split 'train', line 1: no column 'sentence'"):
        build(source="hf", options=bad, limit=5)

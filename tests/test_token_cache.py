"""The token-id cache (sentae.data.token_cache): the same data as the in-memory path, batch by batch; reused
without reading the corpus or training a tokenizer; invalidated by a changed file or option; damaged entries
rebuilt; files sentae did not write left alone; batch tokenisation identical to one-by-one encoding."""
from __future__ import annotations

import json
import random
import warnings

import numpy as np
import pytest
import torch

import sentae.data.text as text_module
from sentae.data import DataConfig, build_data
from sentae.data import token_cache
from sentae.data.text import TextData
from sentae.data.token_store import BatchList, bucketed_batches
from sentae.data.tokenizers import UNK, BPETokenizer, UnigramTokenizer, WordTokenizer
from word_corpus import private_token_cache, sentences


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    # several chunks per split, so their seams are tested too
    return private_token_cache(tmp_path, monkeypatch, token_cache, 37)


def labelled_corpus(path, n=900, seed=0):
    rng = random.Random(seed)
    rows = []
    for s in sentences(n, seed):
        value = rng.choice(["negative", "positive", None, "positive"])
        rows.append(json.dumps({"text": s, "sentiment": value}))
    path.write_text("\n".join(rows) + "\n")
    return path


def in_memory(cfg: DataConfig, monkeypatch) -> TextData:
    with monkeypatch.context() as m:
        m.setenv(token_cache.SWITCH_ENV, "off")
        return build_data(cfg)


def assert_same_data(a: TextData, b: TextData) -> None:
    assert a.split_names() == b.split_names()
    assert a.describe() == b.describe()
    assert a.info == b.info
    assert a.tokenizer.fingerprint() == b.tokenizer.fingerprint()
    for split in a.split_names():
        assert a.split_size(split) == b.split_size(split)
        assert [list(x) for x in a.ids[split]] == [list(x) for x in b.ids[split]]
        assert list(a.lengths[split]) == list(b.lengths[split])
        assert {k: v.tolist() for k, v in a.labels[split].items()} == {k: v.tolist() for k, v in b.labels[split].items()}
        for bs, epoch, seed in ((3, 0, 0), (7, 2, 9), (64, 1, 5)):
            old, new = a.batches(split, bs, epoch=epoch, seed=seed), b.batches(split, bs, epoch=epoch, seed=seed)
            assert isinstance(old, list) and isinstance(new, BatchList)
            assert len(old) == len(new) and [list(x) for x in new] == old
            for indices in old[:5] + old[-2:]:
                ba, bb = a.get_batch(split, indices), b.get_batch(split, indices)
                assert ba.keys() == bb.keys()
                for key in ba:
                    assert ba[key].dtype == bb[key].dtype and torch.equal(ba[key], bb[key]), key
        assert a.batches(split, 5, shuffle=False) == b.batches(split, 5, shuffle=False)


OPTION_SETS = [
    ({}, {}),
    ({"val_fraction": 0.2, "test_fraction": 0.15, "split_seed": 3, "limit": 700},
     {"max_length": 6, "length_policy": "drop"}),
    ({"val_fraction": 0.1, "test_fraction": 0.0}, {"max_length": 5, "require_labels": ["sentiment"]}),
    ({}, {"balance": "sentiment", "balance_max_repeat": 3, "tense_labels": True, "min_freq": 2}),
    ({}, {"tokenizer": "bpe", "vocab_size": 120, "max_length": 9}),
    ({}, {"tokenizer": "unigram", "vocab_size": 60}),
]


@pytest.mark.parametrize("settings,options", OPTION_SETS)
def test_cached_data_equals_the_in_memory_data_batch_by_batch(tmp_path, monkeypatch, cache_dir, settings, options):
    corpus = labelled_corpus(tmp_path / "c.jsonl")
    opts = {"attributes": {"sentiment": ["negative", "positive"]}, **options}
    cfg = DataConfig(source="text", path=str(corpus), options=opts, **settings)
    reference = in_memory(cfg, monkeypatch)
    assert not cache_dir.exists()  # off means off
    first = build_data(cfg)  # builds the entry and reads it back
    assert len(list(cache_dir.iterdir())) == 1
    second = build_data(cfg)  # reads it only
    assert_same_data(reference, first)
    assert_same_data(reference, second)


def test_a_second_build_reads_no_file_and_trains_no_tokenizer(tmp_path, monkeypatch):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(sentences(300)) + "\n")
    cfg = DataConfig(source="text", path=str(corpus))
    first = build_data(cfg)

    def refuse(*a, **k):
        raise AssertionError("the corpus was read or a tokenizer trained on a cache hit")

    monkeypatch.setattr(text_module, "read_file", refuse)
    monkeypatch.setattr(text_module, "train_tokenizer", refuse)
    again = build_data(cfg)
    assert again.ids["train"] == first.ids["train"] and again.tokenizer.fingerprint() == first.tokenizer.fingerprint()


def test_reviews_and_ptb_style_sources_are_cached(tmp_path, monkeypatch, cache_dir):
    cfg = DataConfig(source="reviews", options={"size": 240, "seed": 4})
    assert_same_data(in_memory(cfg, monkeypatch), build_data(cfg))
    for split in ("train", "valid", "test"):
        (tmp_path / f"ptb.{split}.txt").write_text("\n".join(sentences(50, seed=len(split))) + "\n")
    ptb = DataConfig(source="ptb", path=str(tmp_path))
    assert_same_data(in_memory(ptb, monkeypatch), build_data(ptb))
    assert len(list(cache_dir.iterdir())) == 2


def test_a_changed_file_or_option_is_another_entry(tmp_path, cache_dir):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(sentences(200)) + "\n")
    a = build_data(DataConfig(source="text", path=str(corpus)))
    corpus.write_text("\n".join(sentences(200, seed=1)) + "\n")  # same name, other content (and size, mtime)
    b = build_data(DataConfig(source="text", path=str(corpus)))
    assert a.ids["train"] != b.ids["train"]
    build_data(DataConfig(source="text", path=str(corpus), options={"max_length": 4}))
    build_data(DataConfig(source="text", path=str(corpus), split_seed=1))
    assert len(list(cache_dir.iterdir())) == 4


@pytest.mark.parametrize("damage", ["truncate", "manifest", "offsets"])
def test_a_damaged_entry_is_rebuilt(tmp_path, monkeypatch, cache_dir, damage):
    corpus = labelled_corpus(tmp_path / "c.jsonl", n=200)
    cfg = DataConfig(source="text", path=str(corpus), options={"attributes": {"sentiment": ["negative", "positive"]}})
    reference = in_memory(cfg, monkeypatch)
    build_data(cfg)
    (entry,) = cache_dir.iterdir()
    if damage == "truncate":
        raw = (entry / "train.tokens").read_bytes()
        (entry / "train.tokens").write_bytes(raw[: len(raw) // 2])
    elif damage == "manifest":
        (entry / token_cache.MANIFEST).unlink()
    else:
        offsets = np.fromfile(entry / "train.offsets", dtype=np.int64)
        offsets[-1] += 1
        offsets.tofile(entry / "train.offsets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rebuilt = build_data(cfg)
    assert_same_data(reference, rebuilt)
    assert [p.name for p in cache_dir.iterdir()] == [entry.name]
    assert token_cache._read(entry, None) is not None  # whole again


def test_files_sentae_did_not_write_are_kept(tmp_path, monkeypatch, cache_dir):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(sentences(120)) + "\n")
    cfg = DataConfig(source="text", path=str(corpus))
    reference = in_memory(cfg, monkeypatch)
    build_data(cfg)
    (entry,) = cache_dir.iterdir()
    (entry / "notes.txt").write_text("mine")
    (entry / token_cache.MANIFEST).unlink()  # damaged: sentae would replace it, but a file of yours is inside
    with pytest.warns(UserWarning, match="token cache not written"):
        data = build_data(cfg)  # falls back to the in-memory data
    assert type(data.ids["train"]) is list and data.ids["train"] == reference.ids["train"]
    assert (entry / "notes.txt").read_text() == "mine"
    (cache_dir / "elsewhere").mkdir()
    (cache_dir / "elsewhere" / "train.tokens").write_text("not sentae's folder")
    token_cache.clear()
    assert (entry / "notes.txt").read_text() == "mine" and not (entry / "train.tokens").exists()
    assert (cache_dir / "elsewhere" / "train.tokens").is_file()
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".tmp-")]  # no leftover of the failed build


def test_a_second_writer_keeps_the_first_whole_entry(tmp_path, cache_dir):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(sentences(100)) + "\n")
    data = build_data(DataConfig(source="text", path=str(corpus)))
    (path,) = cache_dir.iterdir()
    key = json.loads((path / token_cache.MANIFEST).read_text())["key"]
    before = (path / "train.tokens").stat().st_ino
    # another process finishing the same entry later: its rename fails, the whole entry already there stays
    again = token_cache.write_entry(key, {"train": text_module.TextSplit(["a b c"], {})}, data.tokenizer, {}, 50,
                                    "truncate", {"name": "text", "notes": []})
    assert again.path == path and (path / "train.tokens").stat().st_ino == before
    assert len(again.ids["train"]) == data.split_size("train")
    assert [p.name for p in cache_dir.iterdir()] == [path.name]  # its temporary folder went


def test_batch_list_slices_like_a_list():
    lengths = np.array([random.Random(i).randint(1, 9) for i in range(1000)], dtype=np.int32)
    lazy = bucketed_batches(lengths, 6, seed=2, epoch=1)
    full = lazy.tolist()
    assert sorted(i for b in full for i in b) == list(range(1000))
    assert [list(b) for b in lazy[3:9]] == full[3:9]
    assert [list(b) for b in lazy[1::2][:7]] == full[1::2][:7]  # the Trainer's per-rank share
    assert lazy[-1] == full[-1] and lazy == full


# -- encode_batch ------------------------------------------------------------------------------------------------

TRICKY = ["the cat sat", "  the  dog\tsat on  ", "", "   ", f"a {UNK} on the mat", UNK, "zebra quagga cat",
          "café déjà vu", "the the the the"]


@pytest.mark.parametrize("cls", [WordTokenizer, BPETokenizer, UnigramTokenizer])
def test_encode_batch_gives_the_ids_of_encode(cls):
    train = sentences(400) + ["café déjà vu"] * 3
    tok = cls.train(train) if cls is WordTokenizer else cls.train(train, 90)
    texts = TRICKY + sentences(50, seed=7)
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]
    assert tok.encode_batch([]) == []


# -- a run's commands reuse the entry and the saved tokenizer ----------------------------------------------------


@pytest.fixture
def text_run(tmp_path):
    pytest.importorskip("sentae_text")
    import sentae

    corpus = labelled_corpus(tmp_path / "c.jsonl", n=300)
    recipe = {"name": "tiny", "model": {"type": "rnn_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 5},
              "data": {"source": "text", "path": str(corpus),
                       "options": {"attributes": {"sentiment": ["negative", "positive"]}}},
              "train": {"max_steps": 2, "batch_size": 16, "eval_every": 2, "ckpt_every": 2, "progress": "none"}}
    return sentae.train(recipe, out=tmp_path / "run").path, corpus


def test_rebuilding_a_run_reads_its_entry_with_the_saved_tokenizer(text_run, monkeypatch, cache_dir):
    from sentae.generation.labelled import training_pairs
    from sentae.run import RunFolder

    run_dir, corpus = text_run
    run = RunFolder(run_dir)
    reference = in_memory(run.data_config(), monkeypatch)
    with monkeypatch.context() as m:
        m.setattr(text_module, "read_file", lambda *a, **k: pytest.fail("the corpus was read"))
        m.setattr(text_module, "train_tokenizer", lambda *a, **k: pytest.fail("a tokenizer was trained"))
        data = run.rebuild_data()
        pairs = training_pairs(run_dir, "sentiment", ["negative", "positive"])
    assert_same_data(reference, data)
    assert data.tokenizer.fingerprint() == run.load_tokenizer().fingerprint()
    assert len(pairs) == sum(1 for v in reference.labels["train"]["sentiment"].tolist() if v >= 0)
    token_cache.clear()  # no entry: the corpus is read, the tokenizer trained again and compared with the saved one
    assert_same_data(reference, run.rebuild_data())
    corpus.write_text(json.dumps({"text": "other words entirely", "sentiment": None}) + "\n")
    with pytest.raises(Exception, match="another tokenizer than the saved one"):
        run.rebuild_data()


# -- sentae.train(data=...) ---------------------------------------------------------------------------------------

TINY = {"model": {"type": "rnn_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 5},
        "train": {"max_steps": 2, "batch_size": 8, "eval_every": 2, "ckpt_every": 2, "progress": "none"}}


def test_train_takes_sentences_and_rows_and_the_run_rebuilds_them(tmp_path):
    pytest.importorskip("sentae_text")
    import sentae
    from sentae.run import RunFolder

    plain = sentences(120)
    run = sentae.train({**TINY, "name": "plain"}, out=tmp_path / "plain", data=plain)
    data = RunFolder(run.path).rebuild_data()
    texts = [data.tokenizer.decode(x) for s in data.split_names() for x in data.ids[s]]
    assert sorted(texts) == sorted(plain)  # every sentence, split by the recipe's fractions
    assert (run.path / "train_data.jsonl").is_file() and run.recipe.data.source == "text"

    rng = random.Random(3)
    rows = [{"text": s, "tense": rng.choice(["past", "future", None])} for s in sentences(150, seed=2)]
    recipe = {**TINY, "name": "rows", "data": {"source": "text", "val_fraction": 0.2, "options": {"max_length": 9}}}
    run = sentae.train(recipe, out=tmp_path / "rows", data=rows)
    data = RunFolder(run.path).rebuild_data()
    assert data.info.attributes == {"tense": ["past", "future"]} and data.info.max_length == 11
    assert data.split_size("val") == 30
    labelled = sum(1 for s in ("train", "val", "test") for v in data.labels[s]["tense"].tolist() if v >= 0)
    assert labelled == sum(1 for r in rows if r["tense"])
    assert sentae.load(run.path).sample(2, seed=0)


def test_train_data_mistakes_are_named(tmp_path):
    import sentae
    from sentae.errors import DataError, SentaeError

    with pytest.raises(DataError, match="row 2: the 'text' column is missing"):
        sentae.train({**TINY, "name": "x"}, out=tmp_path / "x", data=[{"text": "a b"}, {"txt": "c"}])
    with pytest.raises(DataError, match="no sentences"):
        sentae.train({**TINY, "name": "x"}, out=tmp_path / "x", data=[])
    with pytest.raises(SentaeError, match="also names data.path"):
        sentae.train({**TINY, "name": "x", "data": {"source": "text", "path": "c.txt"}}, out=tmp_path / "x",
                     data=["a b"])


def test_train_takes_a_datasets_dataset(tmp_path):
    pytest.importorskip("sentae_text")
    datasets = pytest.importorskip("datasets")
    import sentae
    from sentae.run import RunFolder

    ds = datasets.Dataset.from_dict({"sentence": sentences(100, seed=5)})  # one column: the text, whatever its name
    run = sentae.train({**TINY, "name": "ds"}, out=tmp_path / "ds", data=ds)
    data = RunFolder(run.path).rebuild_data()
    assert sum(data.split_size(s) for s in data.split_names()) == 100

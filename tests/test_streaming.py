"""Streaming text data (data.options.stream): the corpus read in bounded chunks, the same ids as the in-memory path
where the splits are files, a seeded per-sentence split of one file, the vocabulary rule, windows that shuffle and
bucket within themselves, disjoint rank shards, and one clear message for bad input."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from sentae.data import DataConfig, build_data
from sentae.data import stream_build, token_cache
from sentae.data.streaming import StreamPlan
from sentae.data.token_store import bucketed_batches
from sentae.data.tokenizers import WordTokenizer
from sentae.errors import ConfigError, DataError
from word_corpus import private_token_cache, sentences


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    # many chunks per file, so their seams are tested too
    return private_token_cache(tmp_path, monkeypatch, stream_build, 41)


def write_split(path, n, seed, fmt):
    rng = random.Random(seed + 100)
    rows = sentences(n, seed)
    if fmt == "text":
        path.write_text("\n".join(rows[: n // 2]) + "\n\n" + "\n".join(rows[n // 2 :]) + "\n")  # a blank line inside
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"text": s, "sentiment": rng.choice(["neg", "pos", None])}) + "\n"
                                for s in rows))
    else:
        path.write_text("text\tsentiment\n" + "".join(f"{s}\t{rng.choice(['neg', 'pos', ''])}\n" for s in rows))


def folder(tmp_path, fmt, sizes=(700, 90, 80)):
    root = tmp_path / f"corpus-{fmt}"
    root.mkdir()
    suffix = {"text": "txt", "jsonl": "jsonl", "tsv": "tsv"}[fmt]
    for (name, n), seed in zip(zip(("train", "valid", "test"), sizes), (0, 1, 2)):
        write_split(root / f"{name}.{suffix}", n, seed, fmt)
    return root


def options(fmt, **extra):
    attrs = {} if fmt == "text" else {"attributes": {"sentiment": ["neg", "pos"]}}
    return {"max_length": 9, **attrs, **extra}


@pytest.mark.parametrize("fmt", ["text", "jsonl", "tsv"])
@pytest.mark.parametrize("policy", ["truncate", "drop"])
def test_split_files_stream_to_the_ids_of_the_in_memory_path(tmp_path, monkeypatch, fmt, policy):
    root = folder(tmp_path, fmt)
    opts = options(fmt, length_policy=policy)
    with monkeypatch.context() as m:
        m.setenv(token_cache.SWITCH_ENV, "off")
        mem = build_data(DataConfig(source="text", path=str(root), options=opts))
    st = build_data(DataConfig(source="text", path=str(root), options={**opts, "stream": True}))
    assert st.tokenizer.fingerprint() == mem.tokenizer.fingerprint()  # the first pass sees every train sentence
    assert st.length_report == mem.length_report
    for split in mem.split_names():
        assert [list(x) for x in st.ids[split]] == [list(x) for x in mem.ids[split]]
        for a, labels in mem.labels[split].items():
            assert st.labels[split][a].tolist() == labels.tolist()
    assert "streamed from disk (vocabulary from a first pass over every train sentence)" in st.describe()


def test_the_reader_holds_one_chunk_and_reads_lazily(tmp_path, monkeypatch):
    """Counting, not timing: the first chunk comes after exactly CHUNK lines have been read, every chunk holds at
    most CHUNK sentences, and the encoder never sees more than a chunk at once."""
    path = tmp_path / "pool.txt"
    path.write_text("\n".join(sentences(1000)) + "\n")
    pulled = []
    real = stream_build.numbered_lines

    def counting(p, enc):
        for item in real(p, enc):
            pulled.append(item[0])
            yield item

    monkeypatch.setattr(stream_build, "numbered_lines", counting)
    spec = stream_build.ReadSpec()
    cfg = DataConfig(source="text", path=str(path), val_fraction=0.1, test_fraction=0.1)
    chunks = stream_build.read_chunks({"train": path}, spec, cfg, False, None)
    first = next(chunks)
    assert len(pulled) == stream_build.CHUNK == first.sentences()
    sizes = [first.sentences()] + [c.sentences() for c in chunks]
    assert max(sizes) <= stream_build.CHUNK and sum(sizes) == 1000

    seen = []
    monkeypatch.setattr(WordTokenizer, "encode_batch", lambda self, texts: seen.append(len(texts)) or
                        [[self.stoi.get(w, 3) for w in t.split()] for t in texts])
    data = build_data(DataConfig(source="text", path=str(path), options={"stream": True}))
    assert max(seen) <= stream_build.CHUNK and sum(seen) == sum(data.split_size(s) for s in data.split_names())


def test_one_file_is_split_by_a_seeded_draw_per_sentence(tmp_path):
    path = tmp_path / "pool.txt"
    path.write_text("\n".join(sentences(4000)) + "\n")
    cfg = dict(source="text", path=str(path), val_fraction=0.1, test_fraction=0.05, options={"stream": True})
    a = build_data(DataConfig(**cfg))
    sizes = {s: a.split_size(s) for s in a.split_names()}
    assert sum(sizes.values()) == 4000
    assert abs(sizes["val"] - 400) < 80 and abs(sizes["test"] - 200) < 60  # fractions on average, not counts
    token_cache.clear()
    b = build_data(DataConfig(**cfg))  # built again from the file: the same draws
    assert {s: [list(x) for x in b.ids[s]] for s in sizes} == {s: [list(x) for x in a.ids[s]] for s in sizes}
    c = build_data(DataConfig(**{**cfg, "split_seed": 1}))
    assert [list(x) for x in c.ids["val"]] != [list(x) for x in a.ids["val"]]


def test_vocab_sample_trains_the_vocabulary_on_the_first_train_sentences(tmp_path):
    root = folder(tmp_path, "text")
    data = build_data(DataConfig(source="text", path=str(root), options={"stream": True, "vocab_sample": 30}))
    train = [s for s in (root / "train.txt").read_text().split("\n") if s.strip()]
    assert data.tokenizer.fingerprint() == WordTokenizer.train(train[:30]).fingerprint()
    assert "vocabulary from the first 30 train sentences" in data.describe()


def test_the_shuffle_buffer_reuses_the_entry(tmp_path, cache_dir):
    root = folder(tmp_path, "jsonl")
    a = build_data(DataConfig(source="text", path=str(root), options=options("jsonl", stream=True, shuffle_buffer=50)))
    b = build_data(DataConfig(source="text", path=str(root), options=options("jsonl", stream=True, shuffle_buffer=70)))
    assert a.store == b.store and len(list(cache_dir.iterdir())) == 1
    assert a.batches("train", 8, seed=0).buffer == 50 and b.batches("train", 8, seed=0).buffer == 70


# ---------------------------------------------------------------------------------------------------------------
# the plan: windows, bucketing inside them, shards


def offsets_of(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


LENGTHS = np.random.default_rng(0).integers(1, 30, 1003)


def test_every_batch_lies_in_one_window_bucketed_as_a_whole_split_is():
    offs = offsets_of(LENGTHS)
    plan = StreamPlan(offs, 8, 100, seed=3, epoch=2)
    batches = list(plan)
    assert sorted(i for b in batches for i in b) == list(range(1003))  # each sentence once per epoch
    held = []
    by_window: dict[int, list[list[int]]] = {}
    for k in range(len(plan)):
        batch = plan[k]
        held.append(plan.held())
        windows = {i // 100 for i in batch}
        assert len(windows) == 1  # bucketing never mixes windows: a window is the shuffle buffer
        by_window.setdefault(windows.pop(), []).append(batch)
    assert max(held) <= 100  # one window's plan at a time
    for w, got in by_window.items():
        ref = bucketed_batches(LENGTHS[w * 100 : (w + 1) * 100], 8, seed=((3 * 1_000_003 + 2) * 1_000_033 + w) % (1 << 62), epoch=0)
        assert got == [[w * 100 + i for i in b] for b in ref]
    # bucketed: batches of similar lengths (far less spread than the window as a whole)
    spread = np.mean([np.ptp(LENGTHS[b]) for b in batches if len(b) == 8])
    assert spread < 0.5 * np.ptp(LENGTHS)


def test_the_plan_is_a_function_of_seed_and_epoch():
    offs = offsets_of(LENGTHS)
    a = list(StreamPlan(offs, 8, 100, seed=3, epoch=0))
    assert a == list(StreamPlan(offs, 8, 100, seed=3, epoch=0))
    assert a != list(StreamPlan(offs, 8, 100, seed=3, epoch=1)) != list(StreamPlan(offs, 8, 100, seed=4, epoch=0))


@pytest.mark.parametrize("n, world", [(1000, 2), (1000, 4), (1003, 3), (1003, 2)])
def test_rank_shards_are_disjoint_equal_and_cover_the_split(n, world):
    offs = offsets_of(LENGTHS[:n])
    whole = StreamPlan(offs, 8, 100, seed=1, epoch=0)
    shards = [whole.shard(r, world) for r in range(world)]
    assert len({len(s) for s in shards}) == 1  # every rank steps the same number of times
    seen = [{i for b in s for i in b} for s in shards]
    for r in range(world):
        for q in range(r + 1, world):
            assert not seen[r] & seen[q]
        assert {i // 100 for i in seen[r]} <= set(whole.order[r::world].tolist())  # its own windows only
    union = set().union(*seen)
    counts = [int(-(-min(100, n - w * 100) // 8)) for w in range(-(-n // 100))]
    per_rank = [sum(counts[w] for w in whole.order[r::world]) for r in range(world)]
    if len(set(per_rank)) == 1:
        assert union == set(range(n))  # equal shards: every sentence, once
    else:  # the longer shards are cut to the shortest: only their last batches are left out
        missing = set(range(n)) - union
        assert len(missing) <= (max(per_rank) - min(per_rank)) * 8 * world


def test_position_names_the_window_the_next_batch_comes_from():
    plan = StreamPlan(offsets_of(LENGTHS), 8, 100, seed=0, epoch=5, store="abc")
    pos = plan.position(20)
    first = plan[20]
    assert pos["window"] == first[0] // 100 and pos["window_start"] == pos["window"] * 100
    assert pos["epoch"] == 5 and pos["pos"] == 20 and pos["store"] == "abc" and pos["sentences"] == 1003
    assert plan.position(len(plan))["window"] == -1


# ---------------------------------------------------------------------------------------------------------------
# bad input: one message naming the file and the line


def test_bad_bytes_name_the_file_and_line_as_the_in_memory_reader_does(tmp_path, monkeypatch):
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"the food was great\nthe service was slow \x97 very slow\n")
    with monkeypatch.context() as m:
        m.setenv(token_cache.SWITCH_ENV, "off")
        with pytest.raises(DataError) as mem:
            build_data(DataConfig(source="text", path=str(path)))
    with pytest.raises(DataError) as st:
        build_data(DataConfig(source="text", path=str(path), options={"stream": True}))
    assert str(st.value) == str(mem.value)
    assert f"{path}, line 2: byte 0x97 at byte offset 21 of the line (offset 40 in the file)" in str(st.value)


@pytest.mark.parametrize("content, expected", [
    ('{"text": "a b", "sentiment": "neg"}\n{"text": "c", "sentiment": "meh"}\n',
     "corpus.jsonl, line 2: value 'meh' in column 'sentiment' is not an allowed value"),
    ('{"text": "a b", "sentiment": "neg"}\n{"text": "c", sentiment: 1}\n', "corpus.jsonl, line 2: not valid JSON"),
    ("\n\n  \n", "corpus.jsonl: no sentences (only blank lines or blank texts)"),
    ("", "corpus.jsonl: the file is empty"),
])
def test_bad_jsonl_lines_are_named(tmp_path, content, expected):
    path = tmp_path / "corpus.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=None) as err:
        build_data(DataConfig(source="text", path=str(path), options=options("jsonl", stream=True)))
    assert expected in str(err.value)


def test_a_long_line_deep_in_the_file_is_named(tmp_path):
    path = tmp_path / "pool.txt"
    lines = sentences(500)
    lines[333] = " ".join(["w"] * 50)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        build_data(DataConfig(source="text", path=str(path), options={"stream": True, "max_line_tokens": 40}))
    assert f"{path}, line 334: 50 tokens, more than data.options.max_line_tokens=40" in str(err.value)


def test_options_stream_cannot_honour_are_refused(tmp_path, monkeypatch):
    root = folder(tmp_path, "jsonl")
    with pytest.raises(ConfigError, match="balance .* whole split"):
        build_data(DataConfig(source="text", path=str(root), options=options("jsonl", stream=True, balance="sentiment")))
    with pytest.raises(DataError, match="Hugging Face dataset streams with data.options.streaming"):
        build_data(DataConfig(source="text", options={"stream": True, "hf_dataset": "json"}))
    with pytest.raises(DataError, match="newline is the byte 0x0a"):
        build_data(DataConfig(source="text", path=str(root), options=options("jsonl", stream=True, encoding="utf-16")))
    with pytest.raises(DataError, match="data.options.shuffle_buffer"):
        build_data(DataConfig(source="text", path=str(root), options=options("jsonl", stream=True, shuffle_buffer=0)))
    monkeypatch.setenv(token_cache.SWITCH_ENV, "off")
    with pytest.raises(DataError, match="keeps the token ids in the token cache"):
        build_data(DataConfig(source="text", path=str(root), options=options("jsonl", stream=True)))

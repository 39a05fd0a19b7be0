"""The embedded review corpus: generation, the judge that re-derives its labels, and the ``reviews`` data source."""
from __future__ import annotations

from collections import Counter

import pytest
import torch

from sentae.config import DataConfig
from sentae.data import build_data, source_names
from sentae.data.reviews import (ADJ, MODIFIER, NOUN, POLARITY, SENTIMENTS, TENSES, VERB, generate_reviews, judge,
                                 split_reviews)
from sentae.errors import DataError

CELLS = [(s, t) for s in SENTIMENTS for t in TENSES]


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, str]]:
    return generate_reviews(24_000, seed=0)  # its speed is measured by benchmarks/data_speed.py, not here


# -- generation ------------------------------------------------------------------------------------------------


def test_default_corpus_is_pinned(corpus):
    rows = corpus
    # The default corpus is part of every quickstart result: a grammar change shows up here first.
    assert rows[:3] == [
        {"text": "the bill is really insane .", "sentiment": "negative", "tense": "present"},
        {"text": "the bistro was amazing .", "sentiment": "positive", "tense": "past"},
        {"text": "the prices there seem great .", "sentiment": "positive", "tense": "present"},
    ]


def test_deterministic_per_seed():
    a, b, c = generate_reviews(300, seed=7), generate_reviews(300, seed=7), generate_reviews(300, seed=8)
    assert a == b
    assert [r["text"] for r in a] != [r["text"] for r in c]
    assert generate_reviews(0, seed=1) == []


def test_distinct_size_length_and_form(corpus):
    rows = corpus
    texts = [r["text"] for r in rows]
    assert len(texts) == 24_000 and len(set(texts)) == 24_000
    lengths = Counter(len(t.split()) for t in texts)
    assert min(lengths) == 4 and max(lengths) == 15
    for t in texts:
        assert t == t.lower() and t.split()[-1] in (".", "!") and "  " not in t
    vocab = {w for t in texts for w in t.split()}
    assert 400 <= len(vocab) <= 1000
    assert any(" n't " in t for t in texts) and any(" 's " in t for t in texts) and any(" wo n't " in t for t in texts)


def test_class_balance(corpus):
    rows = corpus
    assert Counter((r["sentiment"], r["tense"]) for r in rows) == {cell: 4_000 for cell in CELLS}
    counts = Counter((r["sentiment"], r["tense"]) for r in generate_reviews(605, seed=3))
    assert sorted(counts.values()) == [100, 101, 101, 101, 101, 101]


def test_bad_size():
    with pytest.raises(DataError, match="non-negative integer"):
        generate_reviews(-1, seed=0)


# -- judge -----------------------------------------------------------------------------------------------------


def test_judge_agrees_with_every_default_sentence(corpus):
    rows = corpus
    labels = [{"sentiment": r["sentiment"], "tense": r["tense"]} for r in rows]
    wrong = [(r["text"], judge(r["text"])) for r, want in zip(rows, labels) if judge(r["text"]) != want]
    assert not wrong, f"{len(wrong)} disagreements, e.g. {wrong[:3]}"


def test_judge_agrees_on_another_seed():
    rows = generate_reviews(6_000, seed=12345)
    assert all(judge(r["text"]) == {"sentiment": r["sentiment"], "tense": r["tense"]} for r in rows)


@pytest.mark.parametrize("text, sentiment, tense", [
    # negation flips the first polar word after it, within its clause
    ("the food was not good .", "negative", "past"),
    ("the soup was n't very bland .", "positive", "past"),
    ("i ca n't complain .", "positive", "present"),
    ("we had no complaints .", "positive", "past"),
    ("we did n't like the cold pasta .", "negative", "past"),
    ("the food was n't good and the staff was rude .", "negative", "past"),
    # future: will, 'll, wo n't, be going to (adverbs and negators around it)
    ("you 'll love it !", "positive", "future"),
    ("we wo n't be back .", "negative", "future"),
    ("it 's going to be great .", "positive", "future"),
    ("i 'm not going to definitely come back .", "negative", "future"),
    ("the check will take forever .", "negative", "future"),
    # agreement: a bare verb is present after a plural subject, not after "the" or "to"
    ("my kids love the pizza .", "positive", "present"),
    ("the fries here taste bland .", "negative", "present"),
    ("the wait was worth it .", "positive", "past"),
    ("you have to try the pasta .", None, "present"),
    ("the pasta was cooked perfectly .", "positive", "past"),
    ("we keep coming back .", "positive", "present"),
    # conflicts: majority, then the last polar word / time words, then the last verb group
    ("the food was great but the service was slow .", "negative", "past"),
    ("the food was great and fresh but the service was slow .", "positive", "past"),
    ("we loved it and we will come back .", "positive", "future"),
    ("tomorrow the staff is going to be rude and the food was cold .", "negative", "future"),
    # no evidence, prepositions, unknown words, untokenised text
    ("the pasta with <unk> sauce", None, None),
    ("it tastes like chicken .", None, "present"),
    ("great food , friendly staff , next time !", "positive", "future"),
    ("We didn't hate it, and we won't forget it.", "positive", "future"),
])
def test_judge_hand_written(text, sentiment, tense):
    assert judge(text) == {"sentiment": sentiment, "tense": tense}


def test_lexicon_is_consistent():
    sides = [set(side) for pair in ADJ.values() for side in pair]
    negative = set().union(*sides[0::2])
    positive = set().union(*sides[1::2])
    assert not negative & positive
    neutral = {w for pair in NOUN.values() for side in pair for w in side} | {w for m in MODIFIER.values() for w in m}
    assert not neutral & set(POLARITY)
    forms = {f for lemma, rest in VERB.items() for f in (lemma, *rest)}
    assert not neutral & forms  # a plural or modifier that is also a verb would carry tense


# -- the data source -------------------------------------------------------------------------------------------


def test_reviews_source_batches():
    assert "reviews" in source_names()
    data = build_data(DataConfig(source="reviews", options={"size": 600, "seed": 4, "max_length": 20}))
    assert [data.split_size(s) for s in ("train", "val", "test")] == [540, 30, 30]
    assert data.info.attributes == {"sentiment": SENTIMENTS, "tense": TENSES}
    batch = data.get_batch("train", data.batches("train", 16, seed=2)[0])
    assert batch["tokens"].shape[0] == 16
    assert batch["attr_sentiment"].dtype == torch.long and batch["attr_tense"].dtype == torch.long
    for row, s, t in zip(batch["tokens"].tolist(), batch["attr_sentiment"], batch["attr_tense"]):
        assert judge(data.tokenizer.decode(row)) == {"sentiment": SENTIMENTS[s], "tense": TENSES[t]}
    # every split holds each cell: 5 % of 100 per cell in val and test
    for split in ("val", "test"):
        pairs = Counter(zip(data.labels[split]["sentiment"].tolist(), data.labels[split]["tense"].tolist()))
        assert sorted(pairs.values()) == [5] * 6


def test_splits_disjoint_and_deterministic():
    rows = generate_reviews(1_200, seed=9)
    splits = split_reviews(rows)
    texts = {s: {r["text"] for r in v} for s, v in splits.items()}
    assert [len(texts[s]) for s in ("train", "val", "test")] == [1_080, 60, 60]
    assert not texts["train"] & texts["val"] and not texts["train"] & texts["test"] and not texts["val"] & texts["test"]
    assert split_reviews(generate_reviews(1_200, seed=9)) == splits


def test_reviews_source_limit_and_options():
    data = build_data(DataConfig(source="reviews", limit=50, options={"size": 240}))
    assert [data.split_size(s) for s in ("train", "val", "test")] == [50, 12, 12]
    with pytest.raises(DataError, match="unknown option 'data.options.sise'; did you mean 'size'"):
        build_data(DataConfig(source="reviews", options={"sise": 600}))
    with pytest.raises(DataError, match="'data.options.size' must be at least 120, got"):
        build_data(DataConfig(source="reviews", options={"size": 60}))
    with pytest.raises(DataError, match="'data.options.seed' must be an integer"):
        build_data(DataConfig(source="reviews", options={"seed": "zero"}))

"""The review-domain lexicon: word polarities induced from labelled sentences, negation scope left out, topic nouns
kept out; and the lexicon judge reading those words where the general lexicons have none."""
import json
import os
from pathlib import Path

import pytest

from sentae.errors import SentaeError
from sentae.evaluation.domain_lexicon import induce_lexicon, yelp_lexicon
from sentae.evaluation.lexicon_sentiment import LexiconSentimentJudge

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # as tests/conftest.py's shared_data


def _data_dir() -> Path:
    return Path(os.environ.get("SENTAE_DATA_DIR", SHARED_DATA))


def test_polar_words_in_and_topic_nouns_and_rare_words_out():
    examples = ([("the fries were soggy .", "negative")] * 40 + [("the fries were tasty .", "positive")] * 40
                + [("the crust was crispy .", "positive")] * 5 + [("we were waiting .", "negative")] * 40
                + [("we waited and waited .", "negative")] * 200)
    lex = induce_lexicon(examples)
    assert lex["soggy"] == -1 and lex["tasty"] == 1
    assert "fries" not in lex  # a noun, and used on both sides anyway
    assert "crispy" not in lex  # 5 uses: below the count a verdict needs
    assert "were" not in lex and "the" not in lex  # even use: no opinion
    assert "waited" not in lex  # never after a linking verb: a narrative verb, not an opinion


def test_words_inside_a_negation_do_not_count_for_their_sentence():
    # "good" is used 40 times in negative sentences, but always negated: it must not become a negative word
    examples = ([("the soup was not good .", "negative")] * 40 + [("the soup was good .", "positive")] * 40
                + [("the soup was cold .", "negative")] * 40)
    lex = induce_lexicon(examples)
    assert lex["good"] == 1 and lex["cold"] == -1
    assert "not" not in lex  # a negator is a rule of the judge, not a word of the lexicon


def test_class_sizes_cancel_out():
    # three times more positive sentences: "decent" is used in both equally often per sentence, so it is no opinion
    examples = ([("the place is decent , the staff is lovely .", "positive")] * 90
                + [("the place is decent , the staff is awful .", "negative")] * 30)
    lex = induce_lexicon(examples)
    assert "decent" not in lex and lex["lovely"] == 1 and lex["awful"] == -1


def test_bad_labels_and_one_sided_data_are_clear_errors():
    with pytest.raises(SentaeError, match="neither 'positive' nor 'negative'"):
        induce_lexicon([("fine .", "neutral")])
    with pytest.raises(SentaeError, match="both sentiments"):
        induce_lexicon([("fine .", "positive")] * 50)


def test_a_missing_or_broken_yelp_split_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("SENTAE_DATA_DIR", raising=False)
    with pytest.raises(SentaeError, match="SENTAE_DATA_DIR"):
        yelp_lexicon()
    with pytest.raises(SentaeError, match="not found"):
        yelp_lexicon(tmp_path)
    (tmp_path / "yelp").mkdir()
    (tmp_path / "yelp" / "train.jsonl").write_text(json.dumps({"text": "ok ."}) + "\n")
    with pytest.raises(SentaeError, match=r"train\.jsonl:1"):
        yelp_lexicon(tmp_path)


@pytest.fixture(scope="module")
def yelp_words():
    root = _data_dir()
    if not (root / "yelp" / "train.jsonl").is_file():
        pytest.skip(f"Yelp train split not found under {root}")
    return yelp_lexicon(root)


def test_yelp_words_are_the_restaurant_vocabulary_general_lexicons_lack(yelp_words):
    for word, sign in {"tasty": 1, "juicy": 1, "flavorful": 1, "soggy": -1, "overcooked": -1, "watery": -1,
                       "inedible": -1, "unprofessional": -1}.items():
        assert yelp_words.get(word) == sign, word
    for word in ("told", "asked", "waiting", "minutes", "manager"):  # the story of a bad visit, not opinions
        assert word not in yelp_words, word


def test_the_judge_reads_domain_words_only_where_the_general_lexicons_have_none(yelp_words):
    root = _data_dir() / "sentiment_lexicons"
    if not (root / "opinion_lexicon.zip").is_file():
        pytest.skip(f"sentiment lexicons not found at {root}")
    general = LexiconSentimentJudge.from_data_dir(root)
    judge = LexiconSentimentJudge.from_data_dir(root, domain=yelp_words, domain_name="Yelp words")
    assert general.predict(["the fries were soggy ."]) == [None]
    assert judge.predict(["the fries were soggy .", "the fries were n't soggy .", "the steak is juicy !"]) == [
        "negative", "positive", "positive"]
    assert judge.lexicon["good"] == general.lexicon["good"] == 1  # Hu & Liu keep their words
    assert "Yelp words" in judge.describe()
    # On the real sentences of sentae's generated review corpus (whose word lists the judge never saw), the words
    # learnt from Yelp close most of the general lexicons' gaps.
    from sentae.data.reviews import generate_reviews, split_reviews

    test = split_reviews(generate_reviews(24_000, 0))["test"]
    texts, labels = [r["text"] for r in test], [r["sentiment"] for r in test]
    acc = {name: sum(p == y for p, y in zip(j.predict(texts), labels)) / len(test)
           for name, j in (("general", general), ("yelp", judge))}
    assert acc["yelp"] >= 0.94 and acc["yelp"] > acc["general"] + 0.02, acc


def test_vader_adds_rated_words_the_other_lexicons_lack():
    pytest.importorskip("vaderSentiment", reason="VADER's lexicon comes with the vaderSentiment package")
    root = _data_dir() / "sentiment_lexicons"
    if not (root / "opinion_lexicon.zip").is_file():
        pytest.skip(f"sentiment lexicons not found at {root}")
    general = LexiconSentimentJudge.from_data_dir(root)
    judge = LexiconSentimentJudge.from_data_dir(root, vader=True)
    texts = ["we will avoid this place .", "the waiter forgot our drinks .", "our host never forgets our order ."]
    assert general.predict(texts) == [None, None, None]
    assert judge.predict(texts) == ["negative", "negative", "positive"]  # lemmas: forgot -> forget
    assert judge.lexicon["good"] == 1 and any("VADER" in s for s in judge.sources)
    assert ":)" not in judge.lexicon  # emoticons are not words of a sentence


def test_vader_missing_is_a_clear_error(monkeypatch):
    import importlib.util

    root = _data_dir() / "sentiment_lexicons"
    if not (root / "opinion_lexicon.zip").is_file():
        pytest.skip(f"sentiment lexicons not found at {root}")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vaderSentiment"
                        else real(name, *a))
    with pytest.raises(SentaeError, match="pip install 'vaderSentiment"):
        LexiconSentimentJudge.from_data_dir(root, vader=True)

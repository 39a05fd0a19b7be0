"""The lexicon sentiment judge: Hu & Liu + Pattern from $SENTAE_DATA_DIR/sentiment_lexicons, with negation scope."""
import io
import os
import zipfile
from pathlib import Path

import pytest

from sentae.errors import SentaeError
from sentae.evaluation.lexicon_sentiment import (
    LexiconSentimentJudge,
    lexicon_sentiment_judge,
    tokens,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # as tests/conftest.py's shared_data


@pytest.fixture(scope="module")
def judge():
    root = Path(os.environ.get("SENTAE_DATA_DIR", SHARED_DATA)) / "sentiment_lexicons"
    if not (root / "opinion_lexicon.zip").is_file():
        pytest.skip(f"sentiment lexicons not found at {root}")
    return LexiconSentimentJudge.from_data_dir(root)


@pytest.mark.parametrize("text, want", [
    ("no issues at all .", "positive"),
    ("the service was not good .", "negative"),
    ("never took forever .", "positive"),
    ("our food took forever .", "negative"),
    ("we did n't hate it .", "positive"),
    ("We didn't hate it.", "positive"),  # untokenised text is split first
    ("i ca n't complain .", "positive"),
    ("the staff was rude .", "negative"),
    ("the pasta was delicious !", "positive"),
    ("we are not really pleased .", "negative"),  # the negation reaches past the adverb
    ("the booths are not going to be amazing .", "negative"),  # ... and past "going to be"
    ("they do n't love the careless waitress .", "negative"),  # it stops at its first opinion word
    ("the soup was cold but the staff was lovely .", "positive"),  # after "but" counts more
    ("the staff was lovely but the soup was cold .", "negative"),
    ("the server treated us rudely .", "negative"),  # an -ly adverb scores as its adjective
    ("she adores the bread .", "positive"),  # an inflection scores as its lemma
    ("we 'll be back !", "positive"),
    ("i will never come back .", "negative"),
    ("the coffee tastes like burnt toast .", "negative"),  # "like" after a linking verb is no opinion
    ("well , the room was dirty .", "negative"),  # a discourse "well"
    ("the prices were pretty outrageous .", "negative"),  # an intensifier "pretty"
])
def test_sentences(judge, text, want):
    assert judge.predict([text]) == [want], [(t, s) for t, s in zip(tokens(text), judge.word_scores(tokens(text)))]


def test_negation_stops_at_the_clause_and_the_window(judge):
    # "and" closes the scope: "great" is not negated
    assert judge.predict(["the food was not bad and the staff was great ."]) == ["positive"]
    # far past the negator (beyond NEGATION_WINDOW tokens) the opinion word keeps its polarity
    assert judge.predict(["we did not see any of the many very fine dishes ."]) == ["positive"]


def test_no_opinion_word_is_no_verdict_and_is_counted(judge):
    before = judge.undecided
    assert judge.predict(["the pasta .", "we ate the soup ."]) == [None, None]
    assert judge.undecided == before + 2
    assert judge.predict([]) == []


def test_pattern_adds_adjectives_hu_and_liu_lack(judge, shared_data):
    plain = LexiconSentimentJudge.from_data_dir(shared_data / "sentiment_lexicons", pattern=False)
    assert len(plain.lexicon) < len(judge.lexicon)
    added = sorted(set(judge.lexicon) - set(plain.lexicon))
    assert "deluxe" in added and "balmy" in added  # Pattern adjectives Hu & Liu do not list
    assert judge.predict(["the room was deluxe ."]) == ["positive"]
    assert plain.predict(["the room was deluxe ."]) == [None]
    # Hu & Liu win where both have the word, and Pattern's intensity adverbs are not opinions
    assert all(plain.lexicon[w] == judge.lexicon[w] for w in plain.lexicon)
    assert "very" not in judge.lexicon and "really" not in judge.lexicon


def test_judge_pair_for_control_report(shared_data):
    predict, description = lexicon_sentiment_judge()  # $SENTAE_DATA_DIR/sentiment_lexicons
    assert predict(["the service was not good ."]) == ["negative"]
    assert "Hu & Liu" in description and "Pattern" in description and "n't" in description


def test_missing_data_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(SentaeError, match=r"opinion lexicon not found: .*opinion_lexicon\.zip"):
        LexiconSentimentJudge.from_data_dir(tmp_path)
    monkeypatch.delenv("SENTAE_DATA_DIR", raising=False)
    with pytest.raises(SentaeError, match=r"set \$SENTAE_DATA_DIR .*sentiment_lexicons/opinion_lexicon\.zip"):
        LexiconSentimentJudge.from_data_dir()
    monkeypatch.setenv("SENTAE_DATA_DIR", str(tmp_path))
    with pytest.raises(SentaeError, match=str(tmp_path / "sentiment_lexicons" / "opinion_lexicon.zip")):
        LexiconSentimentJudge.from_data_dir()


def test_a_lexicon_folder_without_pattern_or_with_a_wrong_zip(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("opinion_lexicon/positive-words.txt", ";;; comment\n;\ngood\nlovely\n".encode("latin-1"))
        zf.writestr("opinion_lexicon/negative-words.txt", "; comment\nbad\nna\xefve\n".encode("latin-1"))
    (tmp_path / "opinion_lexicon.zip").write_bytes(buf.getvalue())
    with pytest.raises(SentaeError, match=r"Pattern sentiment lexicon not found: .*pattern-en-sentiment\.xml"):
        LexiconSentimentJudge.from_data_dir(tmp_path)
    small = LexiconSentimentJudge.from_data_dir(tmp_path, pattern=False)
    assert small.lexicon == {"good": 1, "lovely": 1, "bad": -1, "na\xefve": -1}  # comments skipped, latin-1 read
    assert small.predict(["not good .", "good but bad .", "bad but good ."]) == ["negative", "negative", "positive"]
    with zipfile.ZipFile(tmp_path / "opinion_lexicon.zip", "w") as zf:
        zf.writestr("words.txt", "good\n")
    with pytest.raises(SentaeError, match="no member opinion_lexicon/positive-words.txt"):
        LexiconSentimentJudge.from_data_dir(tmp_path, pattern=False)

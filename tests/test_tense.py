"""Rule-based tense labeller: hand-checked sentences, input forms, speed, and the ``tense_labels`` data option."""
from __future__ import annotations

import json

import pytest

from sentae.config import DataConfig
from sentae.data import build_data
from sentae.data.tense import TENSES, label_tense, label_tenses
from sentae.errors import ConfigError, DataError

# (sentence in Yelp-style PTB tokenisation, tense a careful reader gives it)
CASES = [
    # plain finite verbs, noun/verb look-alikes
    ("the food was great .", "past"),
    ("the staff works hard .", "present"),
    ("we will return .", "future"),
    ("i love it .", "present"),
    ("they loved it .", "past"),
    ("the service is going to improve .", "future"),
    ("the kids love the pizza here .", "present"),
    ("the pizza place rocks !", "present"),
    ("my wife ordered the salmon .", "past"),
    ("interest rates rose sharply .", "past"),
    ("service was slow but friendly .", "past"),
    ("wait staff was rude .", "past"),
    ("the prices here are reasonable .", "present"),
    ("this place looks great .", "present"),
    ("we came here for lunch .", "past"),
    ("everyone seems happy .", "present"),
    # negation
    ("i do n't like the decor .", "present"),
    ("we did n't stay long .", "past"),
    ("the fries were not crispy .", "past"),
    ("i never go there anymore .", "present"),
    ("they have n't called back .", "present"),
    # contractions: 'll, wo n't, 's (is / has / possessive), 'd, 're, 'm, 've
    ("i 'll be back !", "future"),
    ("we wo n't be back .", "future"),
    ("it 's a great place .", "present"),
    ("she 's been here before .", "present"),
    ("john 's car was in the lot .", "past"),
    ("the chef 's special was amazing .", "past"),
    ("my mom 's favorite dish is the curry .", "present"),
    ("i 'd recommend this place .", "past"),
    ("we 'd eaten there before .", "past"),
    ("you 're going to love it .", "future"),
    ("i 'm not going to come back .", "future"),
    ("we 've been coming here for _num_ years .", "present"),
    ("i ca n't wait to go back .", "present"),
    ("we were going to leave .", "past"),
    ("i 'm gonna try the ribs next time .", "future"),
    ("i 'm going to the store .", "present"),
    # questions
    ("did you like it ?", "past"),
    ("is it worth the price ?", "present"),
    ("will they ever learn ?", "future"),
    ("are you going to order ?", "future"),
    ("what happened to the service ?", "past"),
    ("why does it take so long ?", "present"),
    # imperatives
    ("try the pizza !", "present"),
    ("do n't go here .", "present"),
    ("love this place !", "present"),
    ("stay away from the buffet .", "present"),
    # no finite verb
    ("great food !", "none"),
    ("the best pizza in town .", "none"),
    ("friendly staff and great prices .", "none"),
    ("what a great place !", "none"),
    ("located in the mall .", "none"),
    # a clause or a participle before the main verb, appositives
    ("when we arrived , the place was empty .", "past"),
    ("based on the reviews , we expected more .", "past"),
    ("the manager , a nice guy , fixed it .", "past"),
    ("the chicken served with rice was cold .", "past"),
    # modals other than will
    ("you should try the tacos .", "present"),
    ("we could n't find a table .", "past"),
    ("you can park in the back .", "present"),
    ("i would give zero stars .", "past"),
    ("it might rain later .", "present"),
    # cased and untokenised input
    ("The Food Was Great!", "past"),
    ("I didn't like it.", "past"),
    ("We'll definitely be back.", "future"),
]


@pytest.mark.parametrize(("sentence", "expected"), CASES)
def test_hand_checked(sentence, expected):
    assert label_tense(sentence) == expected


def test_case_count_and_classes():
    assert len(CASES) >= 40
    assert TENSES == ["past", "present", "future"]
    assert {e for _, e in CASES} == {*TENSES, "none"}


def test_tokens_and_strings_agree():
    for sentence, _ in CASES[:20]:
        assert label_tense(sentence.split()) == label_tense(sentence)
    assert label_tenses([s for s, _ in CASES]) == [e for _, e in CASES]


def test_empty_and_punctuation_only():
    assert label_tense("") == "none"
    assert label_tense([]) == "none"
    assert label_tense(". , !") == "none"


# -- the data option ---------------------------------------------------------------------------------------------


def test_tense_labels_option(tmp_path):
    lines = ["the food was great .", "i love this place .", "we will come back .", "great food !",
             "the staff works hard .", "they loved it ."]
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "valid.txt").write_text("did you see it ?\n", encoding="utf-8")
    (tmp_path / "test.txt").write_text("i 'll be back .\nnice view .\n", encoding="utf-8")
    data = build_data(DataConfig(source="text", path=str(tmp_path), options={"tense_labels": True}))
    assert data.info.attributes["tense"] == ["past", "present", "future"]
    batch = data.get_batch("train", list(range(len(lines))))
    assert batch["attr_tense"].tolist() == [0, 1, 2, -1, 1, 0]
    assert data.get_batch("val", [0])["attr_tense"].tolist() == [0]
    assert data.get_batch("test", [0, 1])["attr_tense"].tolist() == [2, -1]
    assert "attribute tense: past/present/future" in data.describe()


def test_tense_labels_keeps_other_attributes(tmp_path):
    rows = [{"text": "the food was great .", "sentiment": "1"}, {"text": "i hate it .", "sentiment": "0"}]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    opts = {"tense_labels": True, "attributes": {"sentiment": ["0", "1"]}}
    data = build_data(DataConfig(source="text", path=str(path), options=opts, val_fraction=0.0, test_fraction=0.0))
    batch = data.get_batch("train", [0, 1])
    assert batch["attr_sentiment"].tolist() == [1, 0]
    assert batch["attr_tense"].tolist() == [0, 1]


def test_tense_labels_errors(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"text": "it was fine .", "tense": "past"}) + "\n", encoding="utf-8")
    opts = {"tense_labels": True, "attributes": {"tense": ["past", "present"]}}
    with pytest.raises(ConfigError, match="already has one"):
        build_data(DataConfig(source="text", path=str(path), options=opts))
    with pytest.raises(DataError, match="tense_labels' must be true or false"):
        build_data(DataConfig(source="text", path=str(path), options={"tense_labels": "yes"}))


# -- selecting and balancing by a label ----------------------------------------------------------------------------


def _tense_corpus(tmp_path):
    lines = ["the food was great .", "i love this place .", "we will come back .", "great food !",
             "the staff works hard .", "they loved it .", "it is fine .", "nice view ."]
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "valid.txt").write_text("did you see it ?\nwhat a day !\n", encoding="utf-8")
    (tmp_path / "test.txt").write_text("i 'll be back .\nnice view .\n", encoding="utf-8")
    return lines


def test_require_labels_drops_unlabelled_sentences_in_every_split(tmp_path):
    _tense_corpus(tmp_path)
    opts = {"tense_labels": True, "require_labels": ["tense"]}
    data = build_data(DataConfig(source="text", path=str(tmp_path), options=opts))
    # "great food !" and "nice view ." have no finite verb: gone from train; "what a day !" from val
    assert [data.tokenizer.decode(x) for x in data.ids["train"]] == [
        "the food was great .", "i love this place .", "we will come back .", "the staff works hard .",
        "they loved it .", "it is fine ."]
    assert data.get_batch("train", list(range(6)))["attr_tense"].tolist() == [0, 1, 2, 1, 0, 1]
    assert data.split_size("val") == 1 and data.split_size("test") == 1
    assert "without a tense label dropped: train 2, val 1, test 1" in data.describe()


def test_balance_repeats_rare_values_in_train_only(tmp_path):
    _tense_corpus(tmp_path)
    # labelled train: past 2, present 3, future 1 -> future x3 (round(3 / 1)), past x2 (round(1.5)), present x1
    opts = {"tense_labels": True, "balance": "tense"}
    data = build_data(DataConfig(source="text", path=str(tmp_path), options=opts))
    labels = data.labels["train"]["tense"].tolist()
    assert labels.count(0) == 4 and labels.count(1) == 3 and labels.count(2) == 3 and labels.count(-1) == 2
    assert data.split_size("val") == 2 and data.split_size("test") == 2
    assert "train balanced by tense: past 2 x2, present 3 x1, future 1 x3 (12 sentences)" in data.describe()
    # the cap: no value is repeated more than balance_max_repeat times
    capped = build_data(DataConfig(source="text", path=str(tmp_path),
                                   options={**opts, "balance_max_repeat": 2}))
    assert capped.labels["train"]["tense"].tolist().count(2) == 2
    # the vocabulary is that of the distinct sentences, so repeating does not change it
    plain = build_data(DataConfig(source="text", path=str(tmp_path), options={"tense_labels": True}))
    assert capped.info.vocab_size == plain.info.vocab_size


def test_selection_options_name_the_bad_attribute(tmp_path):
    _tense_corpus(tmp_path)
    with pytest.raises(ConfigError, match="require_labels names attribute 'mood'.*attributes: tense"):
        build_data(DataConfig(source="text", path=str(tmp_path),
                              options={"tense_labels": True, "require_labels": ["mood"]}))
    with pytest.raises(ConfigError, match="balance names attribute 'tense'.*attributes: none"):
        build_data(DataConfig(source="text", path=str(tmp_path), options={"balance": "tense"}))
    with pytest.raises(DataError, match="balance_max_repeat' must be at least 1, got 0"):
        build_data(DataConfig(source="text", path=str(tmp_path), options={"balance_max_repeat": 0}))

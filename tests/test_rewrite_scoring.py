"""The pure scoring of benchmarks/yelp_rewrite.py: Li et al.'s file formats, the rewriting tasks, judging, the
target table and the choice of the control knob."""
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from rewrite_scoring import (
    TARGETS,
    TASKS,
    build_tasks,
    choose_scale,
    judge_task,
    normalize,
    pooled_ppl,
    read_published,
    read_references,
    target_table,
)


def write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def lijuncen(tmp_path: Path) -> Path:
    """A tiny copy of the repository's layout: two systems (one with the human files' two columns) and references."""
    out = tmp_path / "evaluation" / "outputs" / "yelp"
    write(out / "sentiment.test.0.orgin", ["the food was bad .\tthe food was good .\t0", "rude staff .\tnice staff .\t0"])
    write(out / "sentiment.test.1.orgin", ["great pizza !\tawful pizza !\t1"])
    write(out / "sentiment.test.0.human", ["the food was bad .\tThe food wasn't bad.", "rude staff .\tKind staff."])
    write(out / "sentiment.test.1.human", ["great pizza !\tTerrible pizza!"])
    write(tmp_path / "data" / "yelp" / "reference.0", ["the food was bad .\tThe food wasn't bad.",
                                                       "rude staff .\tKind staff."])
    write(tmp_path / "data" / "yelp" / "reference.1", ["great pizza !\tTerrible pizza!"])
    return tmp_path


def test_read_published_groups_systems_by_side(lijuncen):
    systems = read_published(lijuncen)
    assert sorted(systems) == ["human", "orgin"]
    assert systems["orgin"]["negative"] == [("the food was bad .", "the food was good ."), ("rude staff .", "nice staff .")]
    assert systems["orgin"]["positive"] == [("great pizza !", "awful pizza !")]
    assert systems["human"]["positive"] == [("great pizza !", "Terrible pizza!")]  # no label column: still read
    assert read_references(lijuncen)["negative"][0] == ("the food was bad .", "The food wasn't bad.")


def test_read_published_needs_both_sides_and_tabs(lijuncen):
    (lijuncen / "evaluation" / "outputs" / "yelp" / "sentiment.test.0.lonely").write_text("a\tb\n")
    with pytest.raises(FileNotFoundError, match="lonely"):
        read_published(lijuncen)
    (lijuncen / "evaluation" / "outputs" / "yelp" / "sentiment.test.1.lonely").write_text("a\tb\nno tab here\n")
    with pytest.raises(ValueError, match="line 2"):
        read_published(lijuncen)
    with pytest.raises(FileNotFoundError, match="Sentiment-and-Style-Transfer"):
        read_published(lijuncen / "elsewhere")


@pytest.mark.parametrize("raw, corpus", [
    ("It didn't taste watered down at all.", "it did n't taste watered down at all ."),
    ("She said she'd be back, and I can't wait!!", "she said she 'd be back , and i ca n't wait ! !"),
    ('We paid $5.50 for "the best" tacos... won\'t go', "we paid $ _num_ for `` the best '' tacos ... wo n't go"),
    ("Dr. Smith opens at 8:30 on the 2nd", "dr. smith opens at 8:30 on the 2nd"),
    ("it \u2019s (really) good", "it 's ( really ) good"),
])
def test_normalize_gives_the_corpus_form(raw, corpus):
    assert normalize(raw) == corpus
    assert normalize(corpus) == corpus  # corpus text is left as it is


def test_build_tasks_asks_each_sentence_the_right_values():
    tasks = build_tasks(["negative", "positive", "negative", "positive"], ["past", "present", "future", "none"])
    assert set(tasks) == set(TASKS)
    assert tasks["sentiment negative->positive"] == [(0, {"sentiment": "positive"}), (2, {"sentiment": "positive"})]
    assert tasks["tense past->present"] == [(0, {"tense": "present"})]
    assert tasks["tense present->past"] == [(1, {"tense": "past"})]
    assert [i for i, _ in tasks["tense past/present->future"]] == [0, 1]
    assert tasks["sentiment and tense"] == [(0, {"sentiment": "positive", "tense": "present"}),
                                            (1, {"sentiment": "negative", "tense": "past"}),
                                            (2, {"sentiment": "positive", "tense": "past"})]
    assert tasks["unchanged"][2] == (2, {"sentiment": "negative", "tense": "future"})
    assert tasks["unchanged"][3] == (3, {"sentiment": "positive"})  # no tense read: none asked
    with pytest.raises(ValueError):
        build_tasks(["negative"], [])


def test_judge_task_scores_each_attribute_and_both_at_once():
    def sentiment(texts):
        return ["positive" if "good" in t else "negative" for t in texts]

    def tense(texts):
        return ["past" if " was " in f" {t} " else None for t in texts]

    src = ["the food was bad .", "the staff is rude .", "it was awful ."]
    out = ["the food is good .", "the staff was good .", "it was awful ."]
    asks = [{"sentiment": "positive", "tense": "present"}, {"sentiment": "positive", "tense": "past"},
            {"sentiment": "positive", "tense": "past"}]
    r = judge_task(out, src, asks, {"sentiment": sentiment, "tense": tense}, references=out)
    assert r["acc_sentiment"] == pytest.approx(2 / 3)
    assert r["acc_tense"] == pytest.approx(2 / 3)  # "is" has no verdict from this judge: wrong
    assert r["accuracy"] == pytest.approx(1 / 3)  # only the second is right on both
    assert r["identical"] == pytest.approx(1 / 3)
    assert r["ref_bleu"] == pytest.approx(100.0)
    assert 0 < r["self_bleu"] < 100
    assert "acc2_sentiment" not in r
    with pytest.raises(ValueError):
        judge_task(out[:2], src, asks, {"sentiment": sentiment, "tense": tense})


def test_a_second_judge_is_reported_beside_the_first_and_not_mixed_in():
    def first(texts):
        return ["positive" if "good" in t else "negative" for t in texts]

    def second(texts):
        return ["positive" if "great" in t else None for t in texts]

    out = ["the food is good .", "the staff was great .", "it was good and great ."]
    asks = [{"sentiment": "positive"}] * 3
    r = judge_task(out, out, asks, {"sentiment": first}, second_judges={"sentiment": second})
    assert r["acc_sentiment"] == pytest.approx(2 / 3) and r["accuracy"] == pytest.approx(2 / 3)
    assert r["acc2_sentiment"] == pytest.approx(2 / 3)  # the second and third, by the other judge


def test_pooled_ppl_weights_by_predicted_tokens():
    a = {"nats_per_word": 2.0, "tokens": 9, "sentences": 1}  # 10 predicted tokens
    b = {"nats_per_word": 4.0, "tokens": 27, "sentences": 3}  # 30
    assert pooled_ppl([a, b]) == pytest.approx(math.exp((20 + 120) / 40))


def test_target_table_met_not_met_and_not_measured():
    measured = {"recon_bleu": 61.0, "sentiment negative->positive/accuracy": 0.9,
                "sentiment negative->positive/self_bleu": 44.9, "fluency_ppl": 70.0, "unchanged/self_bleu": 80.0}
    rows = {r["measure"]: r for r in target_table(measured, real_ppl=48.0)}
    assert len(rows) == len(TARGETS)
    assert rows["reconstruction BLEU of test (greedy)"]["met"] is True
    assert rows["sentiment negative->positive"]["met"] is False  # accuracy met, self-BLEU 0.1 short
    assert rows["sentiment positive->negative"]["met"] is None  # not measured
    assert rows["fluency PPL of the rewrites (Yelp LM)"]["met"] is True  # 70 <= 1.5 x 48 = 72
    assert "72.0" in rows["fluency PPL of the rewrites (Yelp LM)"]["target"]
    assert rows["unchanged attribute: self-BLEU"]["met"] is True  # the bound itself counts
    assert target_table({**measured, "fluency_ppl": 72.5}, 48.0)[-2]["met"] is False


def test_choose_scale_takes_most_content_among_accurate_enough():
    curve = {0.5: {"accuracy": 0.6, "self_bleu": 70.0}, 1.0: {"accuracy": 0.86, "self_bleu": 50.0},
             2.0: {"accuracy": 0.95, "self_bleu": 30.0}, 3.0: {"accuracy": 0.99, "self_bleu": 50.0}}
    assert choose_scale(curve, {"accuracy": 0.85}) == (1.0, True)  # tie on self-BLEU: the smaller scale
    assert choose_scale(curve, {"accuracy": 0.97}) == (3.0, True)
    assert choose_scale(curve, {"accuracy": 0.999}) == (3.0, False)  # none: the one closest to the bound
    both = {1.0: {"acc_sentiment": 0.9, "acc_tense": 0.5, "self_bleu": 60.0},
            2.0: {"acc_sentiment": 0.7, "acc_tense": 0.75, "self_bleu": 40.0}}
    assert choose_scale(both, {"acc_sentiment": 0.8, "acc_tense": 0.8}) == (2.0, False)  # worst shortfall 0.1 < 0.3
    with pytest.raises(ValueError):
        choose_scale({}, {"accuracy": 0.85})


def test_markdown_tables_reports_published_rows():
    from rewrite_scoring import BOTH, markdown_tables

    row = {"name": "DeleteAndRetrieve", "paper": "Li et al. 2018", "sentiment negative->positive": {"accuracy": 0.926},
           "sentiment positive->negative": {"accuracy": 0.894},
           BOTH: {"accuracy": 0.91, "self_bleu": 36.74, "ref_bleu": 15.99, "fluency": {"ppl_per_word": 75.47}}}
    text = markdown_tables([], {"orgin": row}, [1.0])
    assert "| DeleteAndRetrieve (Li et al. 2018) | 0.926 | 0.894 | 0.910 | – | 36.7 | 16.0 | 75.5 |" in text

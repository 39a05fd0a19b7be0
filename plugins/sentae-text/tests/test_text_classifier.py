"""text_classifier: a keyword-labelled corpus is learned, missing labels are skipped, the CLI trains and predicts."""
import json
import random
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import sentae
from sentae import StepContext
from sentae.cli import main
from sentae.errors import CheckpointError, ConfigError, SentaeError
from sentae.evaluation.classifier import EVAL_FILE, AttributeClassifier, classifier_recipe
from sentae.testing import run_conformance

FILLER = ("the a my our this that place food staff menu room table soup coffee bread service was is "
          "felt seemed quite very today again here there and with").split()
POSITIVE = ["excellent", "wonderful", "delightful"]
NEGATIVE = ["awful", "terrible", "disgusting"]
TINY = {"embedding_size": 16, "filter_widths": [2, 3], "num_filters": 12, "dropout": 0.1}


def sentence(rng: random.Random, keyword: str) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(3, 9))]
    words.insert(rng.randint(0, len(words)), keyword)
    return " ".join(words)


def corpus(n: int, seed: int) -> list[dict]:
    """Sentiment decided by one keyword among filler words; every 10th line has no label."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = rng.choice(["negative", "positive"])
        rows.append({"text": sentence(rng, rng.choice(POSITIVE if label == "positive" else NEGATIVE)),
                     "sentiment": None if i % 10 == 0 else label})
    return rows


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A classifier trained through `sentae classifier train`."""
    root = tmp_path_factory.mktemp("clf")
    path = root / "reviews.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in corpus(1000, 0)) + "\n")
    args = ["classifier", "train", "--data", str(path), "--attribute", "sentiment", "--out", str(root / "run"),
            "--max-steps", "300", "--set", "data.options.attributes={sentiment: [negative, positive]}",
            "--set", "train.progress=none", "--set", "train.eval_every=100"]
    args += [x for k, v in TINY.items() for x in ("--set", f"model.{k}={v}")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "run folder:" in res.output and "sentiment classifier (cnn, test accuracy" in res.output
    return root / "run"


def test_learns_the_keyword_and_records_heldout_accuracy(run_dir):
    clf = AttributeClassifier(run_dir)
    assert clf.attribute == "sentiment" and clf.values == ["negative", "positive"] and clf.arch == "cnn"
    saved = json.loads((run_dir / EVAL_FILE).read_text())
    # test split: 10% of 1,000 lines (data.test_fraction default), of which the unlabelled ones are not counted
    assert saved["split"] == "test" and saved["attribute"] == "sentiment" and 80 <= saved["n"] < 100
    assert clf.heldout_accuracy == saved["accuracy"] > 0.9
    assert re.fullmatch(r"sentiment classifier \(cnn, test accuracy 0\.9\d\d on \d\d sentences\)|"
                        r"sentiment classifier \(cnn, test accuracy 1\.000 on \d\d sentences\)", clf.describe())
    fresh = corpus(200, 7)
    texts = [r["text"] for r in fresh]
    gold = [r["sentiment"] or ("positive" if any(w in t.split() for w in POSITIVE) else "negative")
            for r, t in zip(fresh, texts)]
    assert clf.accuracy(texts, gold) > 0.9
    assert clf.accuracy(texts, [clf.values.index(g) for g in gold]) == clf.accuracy(texts, gold)
    # words the classifier never saw (its own tokenizer maps them to <unk>) do not break it
    assert clf.predict(["zebras were excellent", "zebras were disgusting"]) == ["positive", "negative"]
    with pytest.raises(SentaeError, match="not a value of attribute 'sentiment'"):
        clf.accuracy(["a"], ["neutral"])


def test_probabilities_do_not_depend_on_the_batch(run_dir):
    clf = AttributeClassifier(run_dir)
    long = "the food was excellent and the staff was very wonderful with our table today again here"
    alone = clf.predict_proba(["excellent"])
    mixed = clf.predict_proba([long, "excellent", "", "awful soup"])
    assert mixed.shape == (4, 2) and torch.allclose(mixed.sum(1), torch.ones(4))
    assert torch.allclose(alone[0], mixed[1], atol=1e-6)  # a 1-word sentence padded to 17 tokens: same answer
    assert clf.predict_proba([]).shape == (0, 2)


def test_cli_predict(run_dir, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("the soup was excellent\n\nthe staff was terrible\n")
    res = CliRunner().invoke(main, ["classifier", "predict", str(run_dir), str(src)])
    assert res.exit_code == 0, res.output
    lines = [line.split("\t") for line in res.output.strip().splitlines() if "\t" in line]
    assert [(v, t) for v, _, t in lines] == [("positive", "the soup was excellent"), ("negative", "the staff was terrible")]
    assert all(0.5 < float(p) <= 1 for _, p, _ in lines)
    res = CliRunner().invoke(main, ["classifier", "predict", str(run_dir)], input="our coffee was wonderful\n")
    assert res.exit_code == 0 and res.output.splitlines()[-1].startswith("positive\t")


def test_missing_labels_are_skipped():
    torch.manual_seed(0)
    model = sentae.create_model("text_classifier", **{**TINY, "dropout": 0.0})
    batch = model.example_batch(9, torch.Generator().manual_seed(3))
    labels = batch["attr_sentiment"].clone()
    labels[::2] = -1
    batch["attr_sentiment"] = labels
    known = labels >= 0
    loss = model.training_step(batch, StepContext()).loss
    logits = model.logits(batch["tokens"], batch["lengths"])
    expected = torch.nn.functional.cross_entropy(logits[known], labels[known])
    assert torch.allclose(loss, expected)
    assert model.evaluate([batch])["labelled"] == int(known.sum()) == 4
    batch["attr_sentiment"] = torch.full_like(labels, -1)
    out = model.training_step(batch, StepContext())
    assert float(out.loss.detach()) == 0.0 and out.loss.requires_grad
    out.loss.backward()  # touches the graph: every parameter gets a (zero) gradient
    assert all(p.grad is not None and float(p.grad.abs().sum()) == 0 for p in model.parameters())
    assert model.evaluate([batch])["labelled"] == 0


def test_wrong_attribute_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"no attribute 'tense'.*its attributes: sentiment"):
        sentae.create_model("text_classifier", attribute="tense")
    path = tmp_path / "plain.txt"
    path.write_text("a b c\nd e f\n" * 20)
    res = CliRunner().invoke(main, ["classifier", "train", "--data", str(path), "--attribute", "sentiment",
                                    "--out", str(tmp_path / "run")])
    assert res.exit_code == 1
    assert "error:" in res.output and "no attribute 'sentiment'" in res.output and "its attributes: none" in res.output


def test_not_a_classifier_run(tmp_path):
    from sentae.run import RunFolder

    RunFolder(tmp_path / "lm").save_model(sentae.create_model("rnn_lm", embedding_size=5, hidden_size=6))
    with pytest.raises(CheckpointError, match="not a classifier run"):
        AttributeClassifier(tmp_path / "lm")


def test_bigru_conforms_and_recipe_shape():
    run_conformance("text_classifier", {"embedding_size": 11, "hidden_size": 13, "arch": "bigru", "dropout": 0.0})
    recipe = classifier_recipe("yelp", "sentiment", "bigru", max_steps=5)
    assert recipe["model"] == {"type": "text_classifier", "attribute": "sentiment", "arch": "bigru"}
    assert recipe["data"] == {"source": "yelp"} and recipe["train"]["max_steps"] == 5
    sentae.load_recipe(recipe)  # valid as written
    shipped = Path(__file__).resolve().parents[3] / "recipes" / "yelp_sentiment_classifier.yaml"
    if shipped.is_file():  # the recipe in the repository is the one the CLI builds
        built = sentae.load_recipe(classifier_recipe("yelp", "sentiment")).to_dict()
        assert {**sentae.load_recipe(shipped).to_dict(), "name": None} == {**built, "name": None}

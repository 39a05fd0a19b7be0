"""The README quickstart's promise: ctrl_vae trained by recipes/quickstart.yaml on the embedded reviews corpus writes
sentences with the sentiment and tense asked for. Judged twice, independently of the model: by the corpus's
construction rules (``sentae.data.reviews.judge``) and, for tense, by the general rule-based labeller.

Uses the run the README's first command writes (``runs/quickstart``, as CI does before the tests); trains the same
recipe into a temporary folder when that run is missing (a few minutes, hence ``slow``)."""
from pathlib import Path

import pytest

import sentae
from sentae.data.reviews import judge
from sentae.evaluation.control import control_report, format_control, tense_judge

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def _complete(run: Path) -> bool:
    if not all((run / name).is_file() for name in ("model.safetensors", "config.yaml", "trainer_state.pt")):
        return False
    import torch
    import yaml

    saved = yaml.safe_load((run / "config.yaml").read_text())
    recipe = sentae.load_recipe(ROOT / "recipes" / "quickstart.yaml").to_dict()
    # The recipe's train.max_time_s stops a run early on a busy machine (before the control losses even start, at
    # worst); the thresholds below are for the full step budget, so a run that stopped short is trained again.
    steps = torch.load(run / "trainer_state.pt", weights_only=True)["step"]
    return (saved.get("model") == recipe["model"] and saved.get("data") == recipe["data"]
            and steps == recipe["train"]["max_steps"])


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory) -> Path:
    run = ROOT / "runs" / "quickstart"
    if _complete(run):
        return run
    # Without the time budget: every step of the recipe, however long the machine takes for them.
    return sentae.train(ROOT / "recipes" / "quickstart.yaml", ["train.progress=none", "train.max_time_s=null"],
                        out=tmp_path_factory.mktemp("qs") / "quickstart").path


def _rules(attr):
    return (lambda texts: [judge(t)[attr] for t in texts]), f"reviews construction rules ({attr})"


def test_quickstart_controls_sentiment_and_tense(quickstart_run):
    sampler = sentae.load(quickstart_run)
    report = control_report(sampler, {"sentiment": _rules("sentiment"), "tense": _rules("tense")}, per_cell=50,
                            seed=0, strategy="greedy")
    print(format_control(report))
    assert report["accuracy"]["tense"] >= 0.9, format_control(report)
    assert report["accuracy"]["sentiment"] >= 0.8, format_control(report)
    assert report["joint_accuracy"] >= 0.75, format_control(report)
    # every one of the six cells is controlled, not just the easy ones
    assert min(c["acc_joint"] for c in report["cells"]) >= 0.5, format_control(report)
    # sampled (top-p 0.9) sentences: the README's table; diverse and still mostly right
    sampled = control_report(sampler, {"sentiment": _rules("sentiment"), "tense": _rules("tense")}, per_cell=50,
                             seed=1, strategy="sample", top_p=0.9)
    assert sampled["joint_accuracy"] >= 0.65 and sampled["distinct_2"] >= 0.3, format_control(sampled)


def test_quickstart_tense_agrees_with_the_general_labeller(quickstart_run):
    sampler = sentae.load(quickstart_run)
    report = control_report(sampler, {"tense": tense_judge()}, per_cell=30, seed=2, strategy="greedy")
    assert report["accuracy"]["tense"] >= 0.85, format_control(report)

"""Image metrics and reports, and every image model's digits recipe trained for a few seconds."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import sentae
from sentae.cli import main
from sentae.evaluation.images import (evaluate_image_run, format_image_report, is_image_run, linear_probe, pca_baseline,
                                      reconstruction_errors)

ROOT = Path(__file__).resolve().parents[3]
IMAGE_MODELS = {e.name for e in sentae.list_models() if e.distribution == "sentae-image"}
DIGITS_RECIPES = sorted(p for p in (ROOT / "recipes").glob("*digits*.yaml")
                        if sentae.load_recipe(p).model.type in IMAGE_MODELS)


def test_reconstruction_errors_by_hand():
    x = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]], [[[1.0, 1.0], [0.0, 0.0]]]])
    r = torch.tensor([[[[0.5, 1.0], [0.5, 0.0]]], [[[1.0, 0.5], [0.0, 0.0]]]])
    errs = reconstruction_errors(r, x)
    assert errs["sse"] == pytest.approx((0.5 + 0.25) / 2)  # image 1: 0.25 + 0.25, image 2: 0.25
    # BCE: exact pixels cost -log(1 - 1e-7) each (clipped); each 0.5 costs log 2
    assert errs["bce"] == pytest.approx((2 * np.log(2) + np.log(2)) / 2, abs=1e-5)


def test_pca_baseline_recovers_low_rank_images():
    g = torch.Generator().manual_seed(0)
    basis = torch.rand(3, 20, generator=g)
    make = lambda n: (torch.rand(n, 3, generator=g) @ basis / 3).view(n, 1, 4, 5)
    train, test = make(50), make(10)
    exact = pca_baseline(train, test, 3)
    assert exact["components"] == 3 and exact["sse"] < 1e-10
    lossy = pca_baseline(train, test, 1)
    assert lossy["sse"] > 1e-3 and lossy["codes_eval"].shape == (10, 1)


def test_linear_probe_on_separable_and_random_codes():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    codes = np.eye(3)[y] * 5 + rng.normal(size=(120, 3)) * 0.1
    assert linear_probe(codes[::2], y[::2], codes[1::2], y[1::2])["accuracy"] == 1.0
    noise = rng.normal(size=(120, 3))
    assert linear_probe(noise[::2], y[::2], noise[1::2], y[1::2])["accuracy"] < 0.7


@pytest.mark.parametrize("recipe", DIGITS_RECIPES, ids=lambda p: p.stem)
def test_digits_recipe_trains_and_lowers_its_loss(recipe, tmp_path):
    # How long the recipes take is measured by their runs (docs/image.md), not asserted here: a timed test fails
    # on a busy machine for reasons that are not the code's.
    steps, every, first_eval = 200, 20, 20
    overrides = ["train.ckpt_every=0", "train.progress=none", "train.threads=1"]
    if sentae.load_recipe(recipe).model.type == "deep_ae":
        # 4 RBMs x 100 CD steps, then 600 fine-tuning steps; compare from the first validation after unrolling
        steps, every, first_eval = 1000, 100, 500
        overrides.append("model.pretrain_steps=100")
    run = sentae.train(recipe, [*overrides, f"train.max_steps={steps}", f"train.eval_every={every}"], out=tmp_path / "run")
    val = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    val = {r["step"]: r["val/loss"] for r in val if "val/loss" in r}
    assert val[steps] < val[first_eval] - 0.5, val  # nats per image


@pytest.fixture(scope="module")
def sparse_run(tmp_path_factory):
    recipe = {"name": "tiny", "model": {"type": "sparse_ae", "hidden_size": 24, "sparsity_weight": 0.5},
              "data": {"source": "digits", "limit": 600},
              "train": {"max_steps": 150, "batch_size": 50, "lr": 0.01, "progress": "none", "eval_every": 0}}
    return sentae.train(recipe, out=tmp_path_factory.mktemp("img") / "run").path


def test_image_run_report_and_figures(sparse_run):
    report = evaluate_image_run(sparse_run, max_images=40)
    m = report["metrics"]
    assert report["images"] == 40 and report["code_size"] == 24 and report["fit_images"] == 480
    assert report["pca_components"] == 24 and 0 < m["sse_per_image"] and 0 < m["pca_sse_per_image"]
    assert m["sse_ratio_to_pca"] == pytest.approx(m["sse_per_image"] / m["pca_sse_per_image"])
    assert 0.3 < m["probe_accuracy"] <= 1 and 0 < m["mean_activation"] < 1 and 0 <= m["sparsity"] <= 1
    for name in ("reconstructions.png", "codes.png", "filters.png", "image_eval.md", "image_eval.json"):
        assert (sparse_run / "report" / name).stat().st_size > 0
    text = format_image_report(report)
    assert "reconstruction SSE per image (sum over pixels in [0, 1])" in text
    assert "PCA-24 reconstruction SSE per image (fitted on train split)" in text


def test_cli_eval_dispatches_image_runs(sparse_run, tmp_path):
    assert is_image_run(sparse_run) and not is_image_run(tmp_path)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["eval", str(sparse_run), "--max-sentences", "30", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "sparse_ae — test split, 30 images, code size 24" in res.output
    assert "linear-probe accuracy of the codes" in res.output
    assert json.loads(out.read_text())["metrics"]["sse_per_image"] > 0


def test_eval_prints_every_number_without_matplotlib(sparse_run, tmp_path, monkeypatch):
    """Numbers never depend on the plotting library: without matplotlib, eval prints and writes them, skips the
    figures, and says in one line how to get them."""
    import builtins

    from sentae.evaluation import image_figures

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(image_figures, "have_matplotlib", lambda: False)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)  # a figure drawn by mistake would fail loudly
    run = tmp_path / "run"
    import shutil

    shutil.copytree(sparse_run, run, ignore=shutil.ignore_patterns("report"))
    res = CliRunner().invoke(main, ["eval", str(run), "--max-sentences", "30"])
    assert res.exit_code == 0, res.output
    assert "linear-probe accuracy of the codes" in res.output and "reconstruction SSE per image" in res.output
    assert "figures skipped: matplotlib is not installed (pip install 'sentae[plots]'" in res.output
    assert not list((run / "report").glob("*.png"))
    assert "figures skipped" in (run / "report" / "image_eval.md").read_text()
    assert json.loads((run / "report" / "image_eval.json").read_text())["metrics"]["sse_per_image"] > 0

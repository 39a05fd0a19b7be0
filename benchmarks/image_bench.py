"""Helpers shared by the MNIST benchmarks: train a recipe through the real Trainer on one thread, evaluate the run on
the test split with sentae's image metrics, and print tables. Not a benchmark itself."""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any, NamedTuple

import torch

ROOT = Path(__file__).resolve().parents[1]


def setup() -> None:
    """One thread (the other core stays free) and the shared corpora, as the recipes expect."""
    torch.set_num_threads(1)
    os.environ.setdefault("SENTAE_DATA_DIR", str(ROOT.parent / "shared" / "data"))


DATA = "MNIST test set (10,000) split 8,000 train / 2,000 test, split_seed 0; scored on the 2,000"


class Start(NamedTuple):
    args: argparse.Namespace
    runs: Path  # run folders of the rows
    figures: Path  # where figures are written
    step_overrides: list[str]  # ``train.max_steps=N`` when --steps is given, else nothing
    result: dict[str, Any]  # the JSON's opening fields: data split, steps, machine; rows filled by the benchmark


def start(doc: str, out: str) -> Start:
    """Parse the options every MNIST benchmark takes (``out``: its default results file), pin one thread and the
    shared corpora, and open the result."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per row (default: the recipe's)")
    ap.add_argument("--runs", default="runs/bench_mnist")
    ap.add_argument("--out", default=out)
    ap.add_argument("--figures", default="docs/figures")
    ap.add_argument("--skip-training", action="store_true", help="evaluate existing run folders")
    args = ap.parse_args()
    setup()
    result = {"data": DATA, "steps_per_row": args.steps or "from the recipe", "environment": environment(), "rows": {}}
    steps = [f"train.max_steps={args.steps}"] if args.steps else []
    return Start(args, Path(args.runs), Path(args.figures), steps, result)


def train(recipe: str, out: Path, overrides: list[str] = ()) -> dict[str, Any]:
    """Train ``recipes/<recipe>.yaml`` into ``out`` (replacing it): the recipe's step count, its time cap."""
    import sentae

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    run = sentae.train(ROOT / "recipes" / f"{recipe}.yaml", ["train.progress=log", *overrides], out=out)
    return {"recipe": f"recipes/{recipe}.yaml", "steps": run.result.steps, "out_of_time": run.result.out_of_time,
            "train_seconds": round(time.perf_counter() - t0, 1)}


TRAIN_RECORD = "bench_train.json"  # what train() measured, kept in the run folder for --skip-training


def train_or_reuse(recipe: str, out: Path, overrides: list[str] = (), reuse: bool = False) -> dict[str, Any]:
    """``train`` and keep its record in the run folder; with ``reuse`` (``--skip-training``), the record of the run
    already there."""
    if reuse:
        return json.loads((out / TRAIN_RECORD).read_text())
    record = train(recipe, out, overrides)
    (out / TRAIN_RECORD).write_text(json.dumps(record))
    return record


def psnr(estimate, clean):
    """PSNR per image in dB for pixels in [0, 1] (peak 1), from numpy arrays ``[N, ...]``."""
    import numpy as np

    mse = ((estimate.astype(np.float64) - clean.astype(np.float64)) ** 2).reshape(len(clean), -1).mean(1)
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-12))


def evaluate(run_dir: Path, data=None, pca: bool = True) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """(report without arrays, the arrays, the model) of a run on the test split; PCA/probe fitted on train."""
    from sentae import load_model
    from sentae.evaluation.images import evaluate_image_model, rebuild_image_data

    model = load_model(run_dir)
    data = data or rebuild_image_data(run_dir, model.data_info.image_shape)
    report = evaluate_image_model(model, data, "test", pca=pca)
    return report, report.pop("arrays"), model


def environment() -> dict[str, str]:
    return {"python": platform.python_version(), "torch": torch.__version__, "threads": str(torch.get_num_threads()),
            "cpu": platform.processor() or platform.machine()}


def write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def markdown(rows: list[list[Any]], header: list[str]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)

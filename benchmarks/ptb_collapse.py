"""PTB posterior-collapse table: one recipe per row, the same model size, step budget and wall-clock budget.

Each row trains in its own process with one thread (two rows run side by side on a 2-core machine, so each row
gets one core), then is evaluated on a fixed 500-sentence subset of the PTB test split (subset seed 0) with
K = 500 importance samples. Writes benchmarks/results/ptb_collapse.json, a markdown table, and a plot of KL and
active units over training (docs/figures/ptb_kl_au.png).

    SENTAE_DATA_DIR=../shared/data python benchmarks/ptb_collapse.py --minutes 8

``--rows ptb_vae_fb ...`` trains and scores only the named rows under the step and wall-clock budget already
recorded in the runs folder (``budget.json``), and keeps every other row's result from the existing JSON: a row
added later is measured under the same budget as the rest without retraining them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = {
    "rnn_lm": "ptb_lm",
    "vanilla VAE": "ptb_vae_vanilla",
    "Bowman (linear anneal + word dropout 0.25)": "ptb_vae_bowman",
    "cyclical (M=4, R=0.5)": "ptb_vae_cyclical",
    "AE pre-training + free bits 0.15/dim": "ptb_vae_aefb",
    "free bits 0.125/dim": "ptb_vae_fb",
    "cyclical + free bits 0.125/dim": "ptb_vae_cyclical_fb",
    "transformer_vae, from configs (free bits 0.125/dim)": "ptb_transformer_vae",
}


def probe_steps_per_second(recipe: Path, out: Path) -> float:
    """Steps per second of the costliest row at one thread, read from the trainer's own rate (start-up excluded)."""
    shutil.rmtree(out, ignore_errors=True)
    train(recipe, out, ["train.max_steps=100", "train.eval_every=0", "train.ckpt_every=0", "train.log_every=100",
                        "train.progress=log"])
    line = [l for l in out.with_suffix(".log").read_text().splitlines() if l.startswith("step 100/100")][-1]
    return float(line.rsplit("(", 1)[1].split()[0])


def train(recipe: Path, out: Path, overrides: list[str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "sentae", "train", str(recipe), "--out", str(out)]
    for o in overrides:
        cmd += ["--set", o]
    with open(out.with_suffix(".log"), "w") as log:
        subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)


def curves(run: Path) -> dict[str, list]:
    steps, kl, au = [], [], []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("split") == "val" and "val/kl" in r:
            steps.append(r["step"])
            kl.append(r["val/kl"])
            au.append(r["val/active_units"])
    return {"step": steps, "kl": kl, "active_units": au}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=8.0, help="wall-clock training budget per row")
    ap.add_argument("--workers", type=int, default=2, help="rows trained side by side (one thread each)")
    ap.add_argument("--iw-samples", type=int, default=500)
    ap.add_argument("--test-sentences", type=int, default=500)
    ap.add_argument("--runs", default="runs/bench_ptb")
    ap.add_argument("--out", default="benchmarks/results/ptb_collapse.json")
    ap.add_argument("--figure", default="docs/figures/ptb_kl_au.png")
    ap.add_argument("--skip-training", action="store_true", help="evaluate existing run folders")
    ap.add_argument("--eval-threads", type=int, default=os.cpu_count() or 1, help="torch threads of the scoring")
    ap.add_argument("--eval-batch-size", type=int, default=50,
                    help="sentences per scoring batch (each is decoded K times at once, up to 50 copies per pass)")
    ap.add_argument("--rows", nargs="+", metavar="RECIPE", choices=list(ROWS.values()),
                    help="(re)train and score only these rows, under the recorded budget; keep the others' results")
    args = ap.parse_args()
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    selected = args.rows or list(ROWS.values())
    previous = {}
    if args.rows:
        if not Path(args.out).is_file():
            raise SystemExit(f"--rows needs an earlier full run's results: {args.out}")
        earlier = json.loads(Path(args.out).read_text())
        previous = {r["recipe"]: r for r in earlier["rows"]}
        if not (runs / "budget.json").is_file():  # a fresh checkout: the budget the results record
            (runs / "budget.json").write_text(json.dumps(earlier["budget"]))
    budget = args.minutes * 60

    if args.skip_training:
        meta = json.loads((runs / "budget.json").read_text())
    else:
        if args.rows:
            meta = json.loads((runs / "budget.json").read_text())
            steps, budget = meta["steps"], meta["budget_s"]
        else:
            rate = probe_steps_per_second(ROOT / "recipes" / "ptb_vae_bowman.yaml", runs / "probe")
            steps = int(rate * budget)
            meta = {"steps": steps, "probe_steps_per_s": round(rate, 3), "budget_s": budget}
            (runs / "budget.json").write_text(json.dumps(meta))
        half = steps // 2
        extra = {"ptb_vae_bowman": [f"model.kl.warmup_steps={half}"], "ptb_vae_aefb": [f"model.ae_pretrain_steps={half}"]}

        def job(recipe_name: str) -> float:
            out = runs / recipe_name
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            train(ROOT / "recipes" / f"{recipe_name}.yaml", out,
                  [f"train.max_steps={steps}", f"train.max_time_s={budget * 1.1}", "train.eval_every=250",
                   *extra.get(recipe_name, [])])
            return time.perf_counter() - t0

        with ThreadPoolExecutor(args.workers) as pool:
            walls = dict(zip(selected, pool.map(job, selected)))
        meta["wall_s"] = {**meta.get("wall_s", {}), **{k: round(v, 1) for k, v in walls.items()}}
        (runs / "budget.json").write_text(json.dumps(meta))

    sys.path.insert(0, str(ROOT))
    import torch

    from sentae.evaluation.run_eval import evaluate_text_run

    torch.set_num_threads(args.eval_threads)
    rows = []
    for label, recipe_name in ROWS.items():
        if recipe_name not in selected:
            if f"recipes/{recipe_name}.yaml" in previous:
                rows.append(previous[f"recipes/{recipe_name}.yaml"])
            continue
        run = runs / recipe_name
        state = torch.load(run / "trainer_state.pt", weights_only=True)
        report = evaluate_text_run(run, split="test", iw_samples=args.iw_samples, max_sentences=args.test_sentences,
                                   subset_seed=0, prior_samples=1000, batch_size=args.eval_batch_size)
        rows.append({"row": label, "recipe": f"recipes/{recipe_name}.yaml", "steps": int(state["step"]),
                     "eval_batch_size": args.eval_batch_size,
                     "train_wall_s": meta.get("wall_s", {}).get(recipe_name), **report, "curves": curves(run)})
        print(f"{label}: {json.dumps(report['metrics'])}", flush=True)

    result = {
        "benchmark": "ptb_collapse",
        "data": "PTB (Mikolov) train for training; test: 500-sentence subset drawn with seed 0 from ptb.test.txt",
        "iw_samples": args.iw_samples,
        "budget": meta,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores; training 1 thread per row, {args.workers} rows at a time",
        "scored_with_threads": args.eval_threads,
        "torch": torch.__version__,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(table(result))
    plot(result, Path(args.figure))


def table(result: dict) -> str:
    lines = ["| row | steps | test IW-NLL (nats/sent., K=500) | PPL/word | KL (nats) | MI (nats) | AU (of 32) | recon BLEU |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        m = r["metrics"]
        dash = "–"
        lines.append(
            f"| {r['row']} | {r['steps']:,} | {m['iw_nll_nats_per_sentence']:.2f} | {m['ppl_per_word']:.1f} | "
            + (f"{m['kl_nats_per_sentence']:.2f} | {m['mi_nats']:.2f} | {int(m['active_units'])} | "
               f"{m['recon_bleu_greedy_from_mean']:.1f} |" if "kl_nats_per_sentence" in m else f"{dash} | {dash} | {dash} | {dash} |"))
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for r in result["rows"]:
        c = r["curves"]
        if c["step"]:
            ax1.plot(c["step"], c["kl"], label=r["row"])
            ax2.plot(c["step"], c["active_units"], label=r["row"])
    ax1.set_yscale("symlog", linthresh=1.0)  # AE pre-training reaches tens of nats, collapse sits near 0
    ax1.set(xlabel="step", ylabel="validation KL (nats/sentence, symlog)", title="KL over training")
    ax2.set(xlabel="step", ylabel="active units (of 32, delta 0.01)", title="Active units over training")
    ax1.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()

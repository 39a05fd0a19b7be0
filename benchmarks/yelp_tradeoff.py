"""Yelp: AE, beta-VAE (0.1), annealed VAE, AAE and DAAE at the same size, seeds and wall-clock budget (Shen et al.
2020's comparison).

(a) reconstruction BLEU of the test set (greedy from the code) vs the fluency of 1,000 prior samples (perplexity
    under an rnn_lm trained on Yelp train) and their reverse perplexity (an rnn_lm trained on the samples, scored
    on Yelp test);
(b) sentiment transfer of the test set by latent vector arithmetic at scales k = 1, 1.5, 2, 3, 4: accuracy judged
    by an independent sentiment classifier (its own held-out accuracy is reported beside) vs self-BLEU to the
    source sentences.

Data: $SENTAE_DATA_DIR/yelp (train 167k; test = the 1,000 sentences of Li et al. 2018). The offsets use 2,000
training sentences per sentiment (a fixed choice, seed 0). Each model trains in its own process with one thread.

    SENTAE_DATA_DIR=../shared/data python benchmarks/yelp_tradeoff.py --minutes 3 --seeds 0 1 2 \\
        --classifier runs/yelp_sentiment_cnn --lm runs/yelp_lm
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "AE": "yelp_ae",
    "beta-VAE (0.1)": "yelp_vae_beta01",
    "VAE (annealed)": "yelp_vae_annealed",
    "AAE": "yelp_aae",
    "DAAE": "yelp_daae",
    "DAE-128": "yelp_dae_rewrite",  # sized for rewriting; scored alone, not part of the equal-size comparison
}
SCALES = [1.0, 1.5, 2.0, 3.0, 4.0]


def run_cli(args: list[str], log: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log, "w") as fh:
        subprocess.run([sys.executable, "-m", "sentae", *args], env=env, stdout=fh, stderr=subprocess.STDOUT, check=True)


def ensure_lm(path: Path, minutes: float) -> None:
    if (path / "model.safetensors").is_file():
        return
    recipe = ROOT / "benchmarks" / "yelp_lm.yaml"
    run_cli(["train", str(recipe), "--out", str(path), "--set", f"train.max_time_s={minutes * 60}",
             "--set", "train.progress=log"], path.with_suffix(".log"))


def ensure_classifier(path: Path, minutes: float) -> None:
    if (path / "classifier_eval.json").is_file():
        return
    run_cli(["classifier", "train", "--data", "yelp", "--attribute", "sentiment", "--out", str(path),
             "--max-steps", "20000", "--set", f"train.max_time_s={minutes * 60}", "--set", "train.progress=log"],
            path.with_suffix(".log"))


def read_yelp(split: str) -> tuple[list[str], list[str]]:
    """Texts and sentiment labels of ``$SENTAE_DATA_DIR/yelp/<split>.jsonl``."""
    base = Path(os.environ.get("SENTAE_DATA_DIR", ROOT.parent / "shared" / "data")) / "yelp" / f"{split}.jsonl"
    rows = [json.loads(line) for line in base.read_text(encoding="utf-8").split("\n") if line.strip()]
    return [r["text"] for r in rows], [r["sentiment"] for r in rows]


def read_test() -> tuple[list[str], list[str]]:
    return read_yelp("test")


def evaluate(run: Path, texts: list[str], labels: list[str], clf, lm: Path, samples_n: int, seed: int) -> dict:
    import torch

    import sentae
    from sentae.evaluation.fluency import lm_perplexity, reverse_perplexity
    from sentae.evaluation.text import corpus_bleu, distinct_n

    torch.set_num_threads(1)
    sampler = sentae.load(run)
    out: dict = {}
    recon = []
    for i in range(0, len(texts), 200):
        recon += sampler.reconstruct(texts[i : i + 200], strategy="greedy")
    out["recon_bleu"] = corpus_bleu(recon, texts)
    samples = []
    for i in range(0, samples_n, 200):
        samples += sampler.sample(min(200, samples_n - i), seed=seed * 100_000 + i, strategy="greedy")
    samples = [s if s.strip() else "." for s in samples]  # an empty sentence still counts, as its eos
    out["fluency_ppl"] = lm_perplexity(lm, samples)["ppl_per_word"]
    out["reverse_ppl"] = reverse_perplexity(samples, texts, max_steps=1500, seed=seed)["reverse_ppl_per_word"]
    out["prior_distinct_2"] = distinct_n([s.split() for s in samples], 2)
    out["prior_examples"] = samples[:5]
    transfer = {}
    flip = {"negative": "positive", "positive": "negative"}
    for k in SCALES:
        moved = [""] * len(texts)
        for value in ("negative", "positive"):
            idx = [i for i, v in enumerate(labels) if v == value]
            res = []
            for j in range(0, len(idx), 200):
                chunk = [texts[i] for i in idx[j : j + 200]]
                res += sampler.transfer(chunk, attribute="sentiment", to=flip[value], scale=k, strategy="greedy")
            for i, r in zip(idx, res):
                moved[i] = r
        transfer[str(k)] = {
            "accuracy": clf.accuracy(moved, [flip[v] for v in labels]),
            "self_bleu": corpus_bleu(moved, texts),
            "examples": list(zip(texts[:3], moved[:3])),
        }
    out["transfer"] = transfer
    return out


def _sizes(recipe: str) -> str:
    """emb / LSTM / latent of a row, read from its recipe."""
    import yaml

    m = yaml.safe_load((ROOT / "recipes" / f"{recipe}.yaml").read_text())["model"]
    return f"emb {m['embedding_size']} / LSTM {m['hidden_size']} / latent {m['latent_size']}"


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def plot(summary: dict, figure_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, s in summary.items():
        for ax, key, label in ((axes[0], "reverse_ppl", "reverse perplexity (lower is better)"),
                               (axes[1], "fluency_ppl", "fluency: perplexity under the Yelp LM (lower is better)")):
            ax.errorbar(s[key][0], s["recon_bleu"][0], xerr=s[key][1], yerr=s["recon_bleu"][1], fmt="o", capsize=3,
                        label=name)
            ax.set_xlabel(label)
            ax.set_ylabel("reconstruction BLEU (test)")
            ax.set_xscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle("Yelp: reconstruction vs generation (mean ± sd over seeds)")
    fig.tight_layout()
    p = figure_dir / "yelp_recon_vs_generation.png"
    fig.savefig(p, dpi=110)
    written.append(str(p))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, s in summary.items():
        acc = [s["transfer"][str(k)]["accuracy"] for k in SCALES]
        bleu = [s["transfer"][str(k)]["self_bleu"] for k in SCALES]
        ax.errorbar([b[0] for b in bleu], [a[0] for a in acc], xerr=[b[1] for b in bleu], yerr=[a[1] for a in acc],
                    marker="o", capsize=3, label=name)
    ax.set_xlabel("self-BLEU to the source (content kept)")
    ax.set_ylabel("transfer accuracy (independent classifier)")
    ax.set_title(f"Yelp sentiment transfer, k = {', '.join(map(str, SCALES))}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    p = figure_dir / "yelp_transfer.png"
    fig.savefig(p, dpi=110)
    written.append(str(p))
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2500, help="optimizer steps per model and seed (the same for every row)")
    ap.add_argument("--minutes", type=float, default=None, help="a wall-clock budget per model and seed instead of --steps")
    ap.add_argument("--precision", default="bf16", choices=["fp32", "bf16"], help="training precision of every row")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--samples", type=int, default=1000, help="prior samples for fluency and reverse perplexity")
    ap.add_argument("--classifier", default="runs/yelp_sentiment_cnn", help="sentiment classifier run (trained if missing)")
    ap.add_argument("--lm", default="runs/yelp_lm", help="rnn_lm run on Yelp train for fluency (trained if missing)")
    ap.add_argument("--aux-minutes", type=float, default=4.0, help="budget of the classifier and LM when trained here")
    ap.add_argument("--runs", default="runs/bench_yelp")
    ap.add_argument("--out", default="benchmarks/results/yelp_tradeoff.json")
    ap.add_argument("--figures", default="docs/figures")
    args = ap.parse_args()
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    ensure_classifier(Path(args.classifier), args.aux_minutes)
    ensure_lm(Path(args.lm), args.aux_minutes)

    from sentae.evaluation.classifier import AttributeClassifier
    from sentae.evaluation.fluency import lm_perplexity

    clf = AttributeClassifier(args.classifier)
    texts, labels = read_test()
    real_fluency = lm_perplexity(args.lm, texts)["ppl_per_word"]
    per_run: dict[str, dict[int, dict]] = {}
    for name in args.models:
        for seed in args.seeds:
            run = runs / f"{MODELS[name]}_s{seed}"
            if not (run / "model.safetensors").is_file():
                budget = ([f"train.max_time_s={args.minutes * 60}", "train.max_steps=1000000"] if args.minutes
                          else [f"train.max_steps={args.steps}", "train.max_time_s=null"])
                sets = [f"train.seed={seed}", f"train.precision={args.precision}", "train.progress=log", *budget]
                run_cli(["train", str(ROOT / "recipes" / f"{MODELS[name]}.yaml"), "--out", str(run),
                         *[x for s in sets for x in ("--set", s)]], run.with_suffix(".log"))
            cache = run / "tradeoff_eval.json"
            if cache.is_file():
                result = json.loads(cache.read_text())
            else:
                result = evaluate(run, texts, labels, clf, Path(args.lm), args.samples, seed)
                rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
                result["steps"] = max(r["step"] for r in rows)
                result["train_seconds"] = max(r.get("elapsed_s", 0.0) for r in rows)
                cache.write_text(json.dumps(result, indent=2))
            per_run.setdefault(name, {})[seed] = result
            print(f"{name} seed {seed}: BLEU {result['recon_bleu']:.1f}, fluency {result['fluency_ppl']:.1f}, "
                  f"reverse {result['reverse_ppl']:.1f}, transfer k=2 acc {result['transfer']['2.0']['accuracy']:.3f}",
                  flush=True)
    summary = {}
    for name, by_seed in per_run.items():
        rs = list(by_seed.values())
        s = {k: mean_sd([r[k] for r in rs]) for k in ("recon_bleu", "fluency_ppl", "reverse_ppl", "prior_distinct_2", "steps",
                                                      "train_seconds")}
        s["transfer"] = {str(k): {m: mean_sd([r["transfer"][str(k)][m] for r in rs]) for m in ("accuracy", "self_bleu")}
                         for k in SCALES}
        summary[name] = s
    figures = plot(summary, Path(args.figures))
    report = {
        "benchmark": "yelp_tradeoff",
        "data": "yelp: train 167,017 sentences; test 1,000 (Li et al. 2018); transfer offsets from 2,000 train sentences per value",
        "budget": (f"{args.minutes} min wall clock" if args.minutes else f"{args.steps} steps")
        + f" per model and seed in {args.precision}, one thread each, batch 64; sizes: "
        + "; ".join(f"{name} {_sizes(MODELS[name])}" for name in args.models),
        "seeds": args.seeds,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores; torch threads 1 per run",
        "classifier": clf.describe(),
        "fluency_lm": f"{args.lm}; real Yelp test sentences score {real_fluency:.1f} under it",
        "real_test_fluency_ppl": real_fluency,
        "scales": SCALES,
        "summary": summary,
        "runs": {n: {str(s): r for s, r in b.items()} for n, b in per_run.items()},
        "figures": figures,
        "seconds": round(time.time() - t0),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k not in ("runs",)}, indent=1)[:3000])
    print()
    print("| model | steps | recon BLEU | fluency PPL | reverse PPL | distinct-2 | " + " | ".join(
        f"acc / self-BLEU k={k}" for k in SCALES) + " |")
    print("|---|" + "---|" * (5 + len(SCALES)))
    for name, s in summary.items():
        cells = [f"{s['steps'][0]:.0f}", f"{s['recon_bleu'][0]:.1f} ± {s['recon_bleu'][1]:.1f}",
                 f"{s['fluency_ppl'][0]:.1f} ± {s['fluency_ppl'][1]:.1f}", f"{s['reverse_ppl'][0]:.1f} ± {s['reverse_ppl'][1]:.1f}",
                 f"{s['prior_distinct_2'][0]:.2f}"]
        cells += [f"{s['transfer'][str(k)]['accuracy'][0]:.2f} / {s['transfer'][str(k)]['self_bleu'][0]:.1f}" for k in SCALES]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

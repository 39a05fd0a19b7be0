"""Training throughput of the common text-VAE size on PTB, through the real Trainer.

Model: rnn_vae, embedding 256, LSTM 512, latent 32; batch 32; PTB (Mikolov) vocabulary 10k; sentences of at most
30 tokens (longer ones dropped). Reports target tokens/s (predicted tokens: words + eos, padding excluded),
sentences/s and the peak RSS of the process, for each precision, each in a fresh subprocess.

    SENTAE_DATA_DIR=../shared/data python benchmarks/throughput.py --steps 150 --precisions fp32 bf16

``--quality-minutes M`` adds the check that speed is not bought with quality: each precision trains for the same
wall-clock budget M, then both are scored on the same validation split (fp32 scoring, the NLL bound per word
from the ELBO, and the IW-NLL with K = 50 on 300 validation sentences).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = {"type": "rnn_vae", "embedding_size": 256, "hidden_size": 512, "latent_size": 32, "cell": "lstm",
         "kl": {"kind": "linear", "warmup_steps": 10000}, "word_dropout": 0.25}
DATA = {"source": "ptb", "options": {"max_length": 30, "length_policy": "drop"}}


def measure(precision: str, steps: int, warmup: int, batch_size: int, threads: int | None) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    import sentae
    from sentae.config import load_recipe
    from sentae.data import build_data
    from sentae.training import Trainer

    recipe = load_recipe({"name": "throughput", "model": MODEL, "data": DATA,
                          "train": {"batch_size": batch_size, "precision": precision, "eval_every": 0,
                                    "ckpt_every": 0, "progress": "none", "device": "cpu"}})
    data = build_data(recipe.data)
    batches = data.batches("train", batch_size, epoch=0, seed=0)
    target_tokens = [sum(data.lengths["train"][i] - 1 for i in b) for b in batches]
    data.split_size = lambda split, _orig=data.split_size: 0 if split == "val" else _orig(split)  # no validation

    recipe.train.max_steps = warmup + steps
    torch.manual_seed(0)
    model = sentae.create_model("rnn_vae", data_info=data.info, **{k: v for k, v in MODEL.items() if k != "type"})
    marks: dict[int, float] = {}

    def clock(step: int, _metrics: dict) -> None:
        if step in (warmup, warmup + steps):  # the first steps include allocation and warm-up of the kernels
            marks[step] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        Trainer(recipe.train, Path(tmp) / "run", callbacks=[clock]).fit(model, data)
    seconds = marks[warmup + steps] - marks[warmup]
    tokens = sum(target_tokens[warmup : warmup + steps])
    sentences = sum(len(b) for b in batches[warmup : warmup + steps])
    return {
        "precision": precision,
        "steps": steps,
        "seconds": round(seconds, 2),
        "target_tokens_per_s": round(tokens / seconds),
        "sentences_per_s": round(sentences / seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "torch_threads": torch.get_num_threads(),
    }


def quality(precision: str, minutes: float, runs: Path) -> dict:
    """Train for a fixed wall-clock budget in ``precision``, then score on the validation split in fp32."""
    from sentae.evaluation.run_eval import evaluate_text_run

    out = runs / f"quality_{precision}"
    if out.exists():
        import shutil

        shutil.rmtree(out)
    recipe = {"name": f"throughput_{precision}", "model": MODEL, "data": DATA,
              "train": {"batch_size": 32, "precision": precision, "max_steps": 10**6, "max_time_s": minutes * 60,
                        "eval_every": 0, "ckpt_every": 0, "progress": "none", "device": "cpu"}}
    import sentae

    run = sentae.train(recipe, out=out)
    report = evaluate_text_run(out, split="val", iw_samples=50, max_sentences=300, prior_samples=0)
    return {"precision": precision, "minutes": minutes, "steps": run.result.steps,
            "val_nll_bound_per_word": run.result.val_metrics["val/nll_bound_per_word"],
            "val_iw_nll_nats_per_sentence_k50_300": report["metrics"]["iw_nll_nats_per_sentence"],
            "val_kl": run.result.val_metrics["val/kl"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default="benchmarks/results/throughput.json")
    ap.add_argument("--quality-minutes", type=float, default=0.0, help="also train each precision this long and compare")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.steps, args.warmup, args.batch_size, args.threads)))
        return
    rows = []
    for precision in args.precisions:
        cmd = [sys.executable, __file__, "--one", precision, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--batch-size", str(args.batch_size)] + (["--threads", str(args.threads)] if args.threads else [])
        out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
        if out.returncode != 0:
            sys.exit(out.stderr)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    checks = [quality(p, args.quality_minutes, Path("runs/bench_throughput")) for p in args.precisions] \
        if args.quality_minutes else []
    result = {"benchmark": "throughput", "model": MODEL, "data": DATA, "batch_size": args.batch_size,
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "torch": __import__("torch").__version__, "rows": rows, "equal_time_quality": checks}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print("\n| precision | target tokens/s | sentences/s | peak RSS (MB) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['precision']} | {r['target_tokens_per_s']:,} | {r['sentences_per_s']} | {r['peak_rss_mb']} |")
    if checks:
        print("\n| precision | minutes | steps | val NLL bound/word | val IW-NLL (K=50, 300 sent.) | val KL |\n|---|---|---|---|---|---|")
        for c in checks:
            print(f"| {c['precision']} | {c['minutes']:g} | {c['steps']:,} | {c['val_nll_bound_per_word']:.4f} | "
                  f"{c['val_iw_nll_nats_per_sentence_k50_300']:.2f} | {c['val_kl']:.2f} |")


if __name__ == "__main__":
    main()

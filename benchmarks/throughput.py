"""Training throughput of the common text-VAE size on PTB, through the real Trainer.

Model: rnn_vae, embedding 256, LSTM 512 (bidirectional encoder), latent 32; batch 32; PTB (Mikolov) vocabulary
10k; sentences of at most 30 tokens (longer ones dropped). Each row is a precision and an output layer
(``fp32:full``: the plain full softmax in float32, the reference; ``bf16:adaptive``: bf16 autocast with the
adaptive softmax, cutoffs 2,000/6,000). Reports target tokens/s (predicted tokens: words + eos, padding excluded),
sentences/s and the peak RSS of the process, each in a fresh subprocess; with ``--repeats N`` the rows take turns
N times and the median is reported (shared machines drift by tens of percent between minutes).

    SENTAE_DATA_DIR=../shared/data python benchmarks/throughput.py --steps 100 --repeats 3
    SENTAE_DATA_DIR=../shared/data python benchmarks/throughput.py --device cuda --rows fp32:full bf16:full bf16:adaptive

The JSON also records the machine's matrix-multiply rate (the vocabulary projection's shape, fp32 and bf16), so a
number measured on one host can be set against another's.

``--quality-minutes M`` adds the check that speed is not bought with quality: each row trains for the same
wall-clock budget M, then all are scored on the same validation split (fp32 scoring, the NLL bound per word
from the ELBO, and the IW-NLL with K = 50 on 300 validation sentences). Both output layers are normalised
distributions, so the numbers compare directly.
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
ADAPTIVE_CUTOFFS = [2000, 6000]  # short list of 2,000 words, tails of 4,000 and 4,000 (recipes/ptb_vae_fast.yaml)


def model_config(softmax: str) -> dict:
    return {**MODEL, "softmax": {"kind": softmax, "cutoffs": ADAPTIVE_CUTOFFS}}


def sync(device: str) -> None:
    """Wait for queued GPU work, so a clock reading covers it (nothing to wait for on the CPU)."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_rate(device: str = "cpu") -> dict:
    """GFLOP/s of this machine for a [650, 512] x [512, 10000] product (one batch's vocabulary projection)."""
    import torch

    out = {}
    reps = 300 if device.startswith("cuda") else 30
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(650, 512, dtype=dtype, device=device)
        b = torch.randn(512, 10000, dtype=dtype, device=device)
        for _ in range(5):
            a @ b
        sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        out[f"{name}_gflops"] = round(2 * 650 * 512 * 10000 * reps / (time.perf_counter() - start) / 1e9)
    return out


def measure(precision: str, softmax: str, steps: int, warmup: int, batch_size: int, threads: int | None,
            device: str = "cpu") -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    import sentae
    from sentae.config import load_recipe
    from sentae.data import build_data
    from sentae.training.trainer import Trainer

    cfg = model_config(softmax)
    recipe = load_recipe({"name": "throughput", "model": cfg, "data": DATA,
                          "train": {"batch_size": batch_size, "precision": precision, "eval_every": 0,
                                    "ckpt_every": 0, "progress": "none", "device": device}})
    data = build_data(recipe.data)
    batches = data.batches("train", batch_size, epoch=0, seed=0)
    target_tokens = [sum(data.lengths["train"][i] - 1 for i in b) for b in batches]
    data.split_size = lambda split, _orig=data.split_size: 0 if split == "val" else _orig(split)  # no validation

    recipe.train.max_steps = warmup + steps
    torch.manual_seed(0)
    model = sentae.create_model("rnn_vae", data_info=data.info, **{k: v for k, v in cfg.items() if k != "type"})
    marks: dict[int, float] = {}

    def clock(step: int, _metrics: dict) -> None:
        if step in (warmup, warmup + steps):  # the first steps include allocation and warm-up of the kernels
            sync(device)
            marks[step] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        Trainer(recipe.train, Path(tmp) / "run", callbacks=[clock]).fit(model, data)
    seconds = marks[warmup + steps] - marks[warmup]
    tokens = sum(target_tokens[warmup : warmup + steps])
    sentences = sum(len(b) for b in batches[warmup : warmup + steps])
    return {
        "precision": precision,
        "softmax": softmax,
        "steps": steps,
        "seconds": round(seconds, 2),
        "target_tokens_per_s": round(tokens / seconds),
        "sentences_per_s": round(sentences / seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        **({"peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20)} if device.startswith("cuda") else {}),
        "torch_threads": torch.get_num_threads(),
    }


def quality(precision: str, softmax: str, minutes: float, runs: Path, device: str = "cpu") -> dict:
    """Train for a fixed wall-clock budget in ``precision``, then score on the validation split in fp32."""
    from sentae.evaluation.run_eval import evaluate_text_run

    out = runs / f"quality_{precision}_{softmax}"
    if out.exists():
        import shutil

        shutil.rmtree(out)
    recipe = {"name": f"throughput_{precision}_{softmax}", "model": model_config(softmax), "data": DATA,
              "train": {"batch_size": 32, "precision": precision, "max_steps": 10**6, "max_time_s": minutes * 60,
                        "eval_every": 0, "ckpt_every": 0, "progress": "none", "device": device}}
    import sentae

    run = sentae.train(recipe, out=out)
    report = evaluate_text_run(out, split="val", iw_samples=50, max_sentences=300, prior_samples=0)
    return {"precision": precision, "softmax": softmax, "minutes": minutes, "steps": run.result.steps,
            "val_nll_bound_per_word": run.result.val_metrics["val/nll_bound_per_word"],
            "val_iw_nll_nats_per_sentence_k50_300": report["metrics"]["iw_nll_nats_per_sentence"],
            "val_kl": run.result.val_metrics["val/kl"]}


def parse_row(text: str) -> tuple[str, str]:
    precision, _, softmax = text.partition(":")
    if precision not in ("fp32", "bf16", "fp16") or softmax not in ("full", "adaptive"):
        raise SystemExit(f"--rows: '{text}' is not PRECISION:SOFTMAX (fp32|bf16|fp16 : full|adaptive)")
    return precision, softmax


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rows", nargs="+", default=["fp32:full", "bf16:full", "bf16:adaptive"],
                    help="PRECISION:SOFTMAX pairs; the first is the reference of the speed-up column")
    ap.add_argument("--repeats", type=int, default=1, help="rows take turns this many times; medians are reported")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU host")
    ap.add_argument("--out", default="benchmarks/results/throughput.json")
    ap.add_argument("--quality-minutes", type=float, default=0.0, help="also train each row this long and compare")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(*parse_row(args.one), args.steps, args.warmup, args.batch_size, args.threads,
                                 args.device)))
        return
    specs = [parse_row(r) for r in args.rows]
    rate = matmul_rate(args.device)
    runs: dict[tuple[str, str], list[dict]] = {spec: [] for spec in specs}
    for _ in range(args.repeats):
        for spec in specs:
            cmd = [sys.executable, __file__, "--one", ":".join(spec), "--steps", str(args.steps), "--warmup",
                   str(args.warmup), "--batch-size", str(args.batch_size), "--device", args.device] \
                + (["--threads", str(args.threads)] if args.threads else [])
            out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
            if out.returncode != 0:
                sys.exit(out.stderr)
            runs[spec].append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = []
    for spec in specs:
        tries = sorted(runs[spec], key=lambda r: r["target_tokens_per_s"])
        row = dict(tries[len(tries) // 2])  # the median run
        row["target_tokens_per_s_all"] = [r["target_tokens_per_s"] for r in runs[spec]]
        rows.append(row)
    base = rows[0]["target_tokens_per_s"]
    for row in rows:
        row["speedup_vs_first_row"] = round(row["target_tokens_per_s"] / base, 2)
    checks = [quality(p, sm, args.quality_minutes, Path("runs/bench_throughput"), args.device) for p, sm in specs] \
        if args.quality_minutes else []
    result = {"benchmark": "throughput", "model": MODEL, "adaptive_cutoffs": ADAPTIVE_CUTOFFS, "data": DATA,
              "batch_size": args.batch_size, "steps_per_run": args.steps, "repeats": args.repeats,
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "device": args.device if not args.device.startswith("cuda")
              else f"{args.device}: {__import__('torch').cuda.get_device_name()}",
              "matmul_rate": rate, "torch": __import__("torch").__version__, "rows": rows,
              "equal_time_quality": checks}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"\nmachine: {result['machine']}; device {result['device']}; matmul {rate['fp32_gflops']} GFLOP/s fp32, "
          f"{rate['bf16_gflops']} bf16")
    print("\n| precision | softmax | target tokens/s (median) | runs | x first row | sentences/s | peak RSS (MB) |"
          "\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['precision']} | {r['softmax']} | {r['target_tokens_per_s']:,} | "
              f"{', '.join(f'{v:,}' for v in r['target_tokens_per_s_all'])} | {r['speedup_vs_first_row']} | "
              f"{r['sentences_per_s']} | {r['peak_rss_mb']} |")
    if checks:
        print("\n| precision | softmax | minutes | steps | val NLL bound/word | val IW-NLL (K=50, 300 sent.) | val KL |"
              "\n|---|---|---|---|---|---|---|")
        for c in checks:
            print(f"| {c['precision']} | {c['softmax']} | {c['minutes']:g} | {c['steps']:,} | "
                  f"{c['val_nll_bound_per_word']:.4f} | {c['val_iw_nll_nats_per_sentence_k50_300']:.2f} | {c['val_kl']:.2f} |")


if __name__ == "__main__":
    main()

"""Data at scale: a generated corpus of N sentences (written, never shipped), trained from through the token cache.

Measured, each command in a child process of its own (as a user's ``sentae train`` / ``sentae eval`` would be):
- ``first``: the first command on the corpus (reads it, trains the word tokenizer, writes the token cache): peak
  RSS (``ru_maxrss``) and wall-clock seconds from the process's start to its first training step;
- ``second``: a second command on the same corpus (the cache is read, nothing else): the same two numbers;
- steady speed, target tokens per second over training steps ``--warmup``..``--warmup + --steps`` of a small RNN VAE
  (one thread), the cached path against the in-memory path (``SENTAE_TOKEN_CACHE=off``) on the first
  ``--speed-sentences`` sentences (default 200k), and the cached path on the whole corpus.
- with ``data.options.stream: true`` (``--paths stream`` runs only these, beside the in-memory baseline): the first
  command on the corpus (two streamed passes: vocabulary, then ids), a second one, and the steady speed at
  ``--speed-sentences`` against the in-memory path, alternated as above.
Targets (issue 17): peak RSS <= 1.5 GB at 10M sentences, second start-up <= 10 s, steady speed within 10 %.

    OMP_NUM_THREADS=1 python benchmarks/data_scale.py --sentences 10000000   # the full run
    OMP_NUM_THREADS=1 python benchmarks/data_scale.py --sentences 1000000    # a quick one
    OMP_NUM_THREADS=1 python benchmarks/data_scale.py --paths stream --out benchmarks/results/data_scale_stream.json

Writes benchmarks/results/data_scale.json and .md (the table); the corpus and cache go under --work (default a
new folder in the system's temporary directory), which is removed at the end unless --keep.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TARGETS = {"peak_rss_gb_at_10m": 1.5, "second_startup_s": 10.0, "steady_speed_ratio_min": 0.9}

# A small vocabulary of made-up words (so no text is copied from anywhere), drawn Zipf-like, 4-24 words a sentence.
SYLLABLES = "ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru".split()


def write_corpus(path: Path, n: int, seed: int = 0) -> float:
    """Write ``n`` generated sentences, one a line; returns the seconds it took."""
    import numpy as np

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    words = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in ("", "n", "s")][:20000]
    vocab = np.array(words + [".", ",", "the", "a", "and"], dtype=object)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    weights /= weights.sum()
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, n, 100_000):
            m = min(100_000, n - start)
            lengths = rng.integers(4, 25, m)
            ids = rng.choice(len(vocab), size=int(lengths.sum()), p=weights)
            cuts = np.cumsum(lengths)[:-1]
            f.write("\n".join(" ".join(s) for s in np.split(vocab[ids], cuts)) + "\n")
    return time.perf_counter() - t0


def recipe(corpus: Path, limit: int | None, steps: int, stream: bool = False) -> dict:
    # val/test fractions small: at 10M sentences 0.1 would hold out a million sentences to evaluate
    options = {"vocab_size": 10000, "max_length": 30, **({"stream": True, "shuffle_buffer": 100_000} if stream else {})}
    return {"name": "data_scale",
            "model": {"type": "rnn_vae", "embedding_size": 64, "hidden_size": 128, "latent_size": 16},
            "data": {"source": "text", "path": str(corpus), "val_fraction": 0.001, "test_fraction": 0.001,
                     "limit": limit, "options": options},
            "train": {"max_steps": steps + 1, "batch_size": 64, "eval_every": 10**9, "ckpt_every": 10**9,
                      "log_every": 10**9, "progress": "none", "seed": 0}}


class _Done(Exception):
    pass


def child(args: argparse.Namespace) -> None:
    """One command: build the data, start training, time the steps; prints one JSON line."""
    started = args.spawned
    import torch

    torch.set_num_threads(1)
    from sentae.config import load_recipe
    from sentae.data import build_data
    from sentae.registry import REGISTRY
    from sentae.training.trainer import Trainer

    rec = load_recipe(recipe(Path(args.corpus), args.limit, args.warmup + args.steps, args.stream))
    t_data0 = time.time()
    data = build_data(rec.data)
    t_data = time.time() - t_data0
    fields = rec.to_dict()["model"]
    fields.pop("type")
    model = REGISTRY.create(rec.model.type, data.info, **fields)
    times: list[float] = []
    end = args.warmup + args.steps

    def on_step(step: int, metrics: dict) -> None:
        times.append(time.time())
        if step >= end:
            raise _Done

    try:
        Trainer(rec.train, Path(args.run_dir), callbacks=[on_step]).fit(model, data)
    except _Done:
        pass
    # the batches the Trainer used (epoch 0), computed again after the timing, to count their tokens
    batches = data.batches("train", rec.train.batch_size, epoch=0, seed=rec.train.seed)
    lengths = data.lengths["train"]
    tokens = sum(int(lengths[i]) - 1 for b in range(args.warmup, end) for i in batches[b])  # target tokens
    steady = tokens / (times[end - 1] - times[args.warmup - 1])
    # The data path alone (the only thing that differs between the paths once training runs): get_batch of the
    # timed batches, in CPU seconds of this process, so that other work on the machine counts less.
    c0 = time.process_time()
    for b in range(args.warmup, end):
        data.get_batch("train", batches[b])
    get_batch_ms = (time.process_time() - c0) / args.steps * 1000
    cached = not isinstance(data.ids["train"], list)
    print(json.dumps({
        "train_sentences": data.split_size("train"), "cached": cached,
        "path": "stream" if getattr(data, "shuffle_buffer", None) else ("token cache" if cached else "in memory"),
        "data_build_s": round(t_data, 2), "startup_to_first_step_s": round(times[0] - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "steady_target_tokens_per_s": round(steady, 1), "steps_timed": args.steps,
        "step_ms": round((times[end - 1] - times[args.warmup - 1]) / args.steps * 1000, 1),
        "get_batch_cpu_ms": round(get_batch_ms, 3)}))


def command(corpus: Path, work: Path, name: str, limit: int | None, args, cache: bool, stream: bool = False) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "SENTAE_CACHE_DIR": str(work / "cache"), "SENTAE_TOKEN_CACHE": "on" if cache else "off"}
    run_dir = work / f"run-{name}"
    shutil.rmtree(run_dir, ignore_errors=True)  # the benchmark's own scratch folder
    argv = [sys.executable, __file__, "--child", "--corpus", str(corpus), "--run-dir", str(run_dir),
            "--warmup", str(args.warmup), "--steps", str(args.steps), "--spawned", repr(time.time())]
    if limit is not None:
        argv += ["--limit", str(limit)]
    if stream:
        argv.append("--stream")
    out = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr[-4000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{name}: {row}", flush=True)
    return row


def table(res: dict) -> str:
    rows = ["| command | train sentences | path | start-up to first step (s) | data build (s) | peak RSS (MB) | "
            "steady target tokens/s | get_batch (CPU ms) |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for name, r in res["commands"].items():
        path = r.get("path") or ("token cache" if r["cached"] else "in memory")
        rows.append(f"| {name} | {r['train_sentences']:,} | {path} | "
                    f"{r['startup_to_first_step_s']} | {r['data_build_s']} | {r['peak_rss_mb']:,} | "
                    f"{r['steady_target_tokens_per_s']:,} | {r['get_batch_cpu_ms']} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=10_000_000)
    ap.add_argument("--speed-sentences", type=int, default=200_000)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each path at --speed-sentences (median kept)")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS / "data_scale.json")
    for hidden in ("--corpus", "--run-dir", "--spawned", "--limit"):
        ap.add_argument(hidden, default=None, help=argparse.SUPPRESS, type=float if hidden == "--spawned" else
                        (int if hidden == "--limit" else str))
    ap.add_argument("--paths", choices=("all", "stream"), default="all",
                    help="all: every row; stream: the streaming rows and the in-memory baseline only")
    ap.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    if args.work is not None and args.work.exists():
        raise SystemExit(f"--work {args.work} exists: give a new folder (it is removed at the end unless --keep)")
    work = args.work or Path(tempfile.mkdtemp(prefix="sentae-data-scale-"))
    work.mkdir(parents=True, exist_ok=True)  # made here, so removing it removes only what this script wrote
    corpus = work / "corpus.txt"
    res: dict = {"sentences": args.sentences, "host": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                                       "machine": platform.machine()}, "targets": TARGETS,
                "paths": args.paths, "load_average_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        res["corpus_write_s"] = round(write_corpus(corpus, args.sentences), 1)
        res["corpus_bytes"] = corpus.stat().st_size
        print(f"corpus: {args.sentences:,} sentences, {res['corpus_bytes'] / 1e6:.0f} MB "
              f"({res['corpus_write_s']} s)", flush=True)
        cmds = {}
        speed = args.speed_sentences
        full = args.paths == "all"
        if full:
            command(corpus, work, "warm", speed, args, cache=True)  # writes the small entry
        command(corpus, work, "warm-stream", speed, args, cache=True, stream=True)
        # The paths alternate, --repeats times each, and the median speed is kept: other work on a shared
        # machine comes and goes, and alternating spreads it over all of them.
        runs: dict[str, list[dict]] = {"mem": [], "cached": [], "stream": []}
        for _ in range(args.repeats):
            runs["mem"].append(command(corpus, work, "mem", speed, args, cache=False))
            if full:
                runs["cached"].append(command(corpus, work, "cached-small", speed, args, cache=True))
            runs["stream"].append(command(corpus, work, "stream-small", speed, args, cache=True, stream=True))
        labels = {"mem": f"in-memory, first {speed:,}", "cached": f"cached, first {speed:,} (second command)",
                  "stream": f"stream, first {speed:,} (second command)"}
        for name, label in labels.items():
            if runs[name]:
                ordered = sorted(runs[name], key=lambda r: r["steady_target_tokens_per_s"])
                cmds[label] = {**ordered[len(ordered) // 2],
                               "steady_all": [r["steady_target_tokens_per_s"] for r in runs[name]]}
        if full:
            cmds[f"first command, {args.sentences:,}"] = command(corpus, work, "first", None, args, cache=True)
            cmds[f"second command, {args.sentences:,}"] = command(corpus, work, "second", None, args, cache=True)
        cmds[f"stream: first command, {args.sentences:,}"] = command(corpus, work, "stream-first", None, args,
                                                                     cache=True, stream=True)
        cmds[f"stream: second command, {args.sentences:,}"] = command(corpus, work, "stream-second", None, args,
                                                                      cache=True, stream=True)
        res["commands"] = cmds
        cache = work / "cache" / "tokens"
        res["cache_bytes"] = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
        mem = cmds[labels["mem"]]
        for name in ("cached", "stream"):
            if labels[name] in cmds:
                other = cmds[labels[name]]
                res[f"steady_speed_ratio_{name}_vs_in_memory"] = round(
                    other["steady_target_tokens_per_s"] / mem["steady_target_tokens_per_s"], 3)
                res[f"get_batch_cpu_ms_{name}_vs_in_memory"] = [other["get_batch_cpu_ms"], mem["get_batch_cpu_ms"]]
        res["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    md = table(res)
    args.out.with_suffix(".md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()

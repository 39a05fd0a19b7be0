"""Wall, user and system time of ``sentae sample RUN -n N --strategy greedy``, now against a git revision.

The command a user waits for, in a fresh process with torch's default threads: with the ``sentae`` package of
``--before`` (extracted with ``git archive``, first on ``PYTHONPATH``, checked to be the one imported), with the
working tree's in fp32, and with the working tree's ``--precision bf16``. The rows take turns ``--repeats`` times;
medians are reported with the user and system seconds and the minor page faults of the median run, the mean
words per sentence of each row, and whether the fp32 sentences equal the previous version's (greedy decoding is
deterministic) and how many bf16 sentences do. The JSON records the host's fp32/bf16 matrix-multiply rate before
and after the rows.

    python benchmarks/sample_speed.py --run runs/ptb_common -n 5000 --repeats 3 --before ed392d3
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_speed import ROOT, extract_package, imported_package, timed_command, version_env  # noqa: E402
from throughput import matmul_rate  # noqa: E402

ROWS = (("before", "fp32"), ("now", "fp32"), ("now", "bf16"))


def run_sample(run: str, n: int, seed: int, before: Path | None, precision: str) -> dict:
    cmd = [sys.executable, "-m", "sentae", "sample", run, "-n", str(n), "--strategy", "greedy", "--seed", str(seed)]
    if precision != "fp32":
        cmd += ["--precision", precision]
    timing = timed_command(cmd, version_env(before))
    return {**{k: v for k, v in timing.items() if k != "stdout"}, "sentences": timing["stdout"].splitlines()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a trained text run folder")
    ap.add_argument("-n", type=int, default=5000, help="sentences to sample")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", default="HEAD", help="git revision to compare with")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/sample_speed.json"))
    args = ap.parse_args()
    before_commit = subprocess.run(["git", "rev-parse", args.before], cwd=ROOT, capture_output=True, text=True,
                                   check=True).stdout.strip()
    before_pkg = extract_package(args.before)
    if not imported_package(before_pkg).startswith(str(before_pkg)):
        raise SystemExit("the before row would not import the package of --before")
    args.run = str(Path(args.run).resolve())
    rates = [matmul_rate()]
    runs: dict[str, list[dict]] = {f"{v} {p}": [] for v, p in ROWS}
    for i in range(args.repeats):
        for version, precision in ROWS:
            r = run_sample(args.run, args.n, args.seed, before_pkg if version == "before" else None, precision)
            runs[f"{version} {precision}"].append(r)
            print(f"repeat {i + 1}: {version} {precision} {r['wall_s']:.2f} s (user {r['user_s']:.2f}, "
                  f"sys {r['sys_s']:.2f}, {r['minor_page_faults']} page faults)", flush=True)
    rates.append(matmul_rate())
    reference = runs["before fp32"][0]["sentences"]
    rows = {}
    for name, tries in runs.items():
        middle = sorted(tries, key=lambda r: r["wall_s"])[len(tries) // 2]
        words = [len(s.split()) for s in middle["sentences"]]
        rows[name] = {
            **{k: middle[k] for k in ("wall_s", "user_s", "sys_s", "minor_page_faults")},
            "wall_s_all": [r["wall_s"] for r in tries],
            "sentences_per_s": round(args.n / middle["wall_s"], 1),
            "sys_share_of_wall": round(middle["sys_s"] / middle["wall_s"], 3),
            "mean_words": round(statistics.mean(words), 2),
            "identical_to_before": round(statistics.mean(a == b for a, b in zip(middle["sentences"], reference)), 3),
        }
    base = rows["before fp32"]["wall_s"]
    for row in rows.values():
        row["speedup"] = round(base / row["wall_s"], 2)
    result = {"benchmark": "sample_speed", "run": args.run, "n": args.n, "seed": args.seed, "strategy": "greedy",
              "repeats": args.repeats, "before": args.before, "before_commit": before_commit,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch_threads": "default",
              "matmul_rate_before_and_after": rates, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    table = [f"`sentae sample RUN -n {args.n} --strategy greedy`, medians of {args.repeats} (rows took turns); "
             f"before = {before_commit[:10]}", "",
             "| row | wall s | runs | sentences/s | user s | sys s | sys / wall | page faults | words/sentence "
             "| identical to before | × before |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        table.append(f"| {name} | {r['wall_s']:.2f} | {', '.join(f'{w:.2f}' for w in r['wall_s_all'])} | "
                     f"{r['sentences_per_s']:.0f} | {r['user_s']:.2f} | {r['sys_s']:.2f} | {r['sys_share_of_wall']:.2f}"
                     f" | {r['minor_page_faults']:,} | {r['mean_words']:.2f} | {r['identical_to_before']:.2f} | "
                     f"{r['speedup']} |")
    Path(args.out).with_suffix(".md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()

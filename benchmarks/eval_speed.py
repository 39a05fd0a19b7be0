"""Wall time of ``sentae eval`` on a text run, now against a git revision, with the numbers each prints.

Each row is the whole command, ``python -m sentae eval RUN -n N --iw-samples K --no-report --json F``, in a fresh
process: with the working tree's ``sentae`` ("now") and with the ``sentae`` package of ``--before`` (extracted with
``git archive`` and put first on ``PYTHONPATH``; the plugins are the installed ones). The rows take turns
``--repeats`` times on the same fixed random subset of the split (``--subset-seed``); medians are reported with
the user and system CPU seconds of the median run. "Same numbers" compares the printed table of the two versions
line by line (every number there is printed to 4 significant digits) and gives the largest relative difference
of the JSON values.

    SENTAE_DATA_DIR=../shared/data python benchmarks/eval_speed.py --run runs/ptb_common_full --sentences 100 \\
        --iw-samples 500 --repeats 3 --before 6b1c0f2

The evaluation runs with torch's default threads (what a user gets); the JSON records the machine's fp32 and bf16
matrix-multiply rate in the same sitting (``benchmarks/throughput.py``'s probe), so a time measured on one host
can be set against another's. ``--whole`` adds one timed run of the current version on the whole split.
``--bf16`` adds a third row, the current version with ``--precision bf16``, and lists the printed numbers that
changed against fp32.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import matmul_rate  # noqa: E402


def extract_package(revision: str) -> Path:
    """The ``sentae`` package at ``revision`` in a fresh folder (to go first on ``PYTHONPATH``)."""
    folder = Path(tempfile.mkdtemp(prefix="sentae_before_"))
    archive = subprocess.run(["git", "archive", revision, "sentae"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def version_env(before: Path | None) -> dict[str, str]:
    """The environment of a row's process: the extracted package first on ``PYTHONPATH`` for "before". (Each row
    runs in a folder of its own: ``python -m`` puts the working folder ahead of ``PYTHONPATH``, and the checkout's
    folder would give both rows the working tree's package.)"""
    env = dict(os.environ)
    if env.get("SENTAE_DATA_DIR"):  # the rows run in folders of their own
        env["SENTAE_DATA_DIR"] = str(Path(env["SENTAE_DATA_DIR"]).resolve())
    if before is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(before), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def imported_package(before: Path | None) -> str:
    """Where a row's process imports ``sentae`` from (checked, so the two rows cannot run the same code)."""
    return subprocess.run([sys.executable, "-c", "import sentae; print(sentae.__file__)"], env=version_env(before),
                          cwd=tempfile.mkdtemp(), capture_output=True, text=True, check=True).stdout.strip()


def timed_command(cmd: list[str], env: dict[str, str]) -> dict:
    """``cmd`` run in a fresh folder of its own, its output to files there (no pipe fills up and blocks): wall,
    user and system seconds, minor page faults and what it printed. A failure stops the benchmark with its stderr."""
    folder = Path(tempfile.mkdtemp())
    with open(folder / "stdout", "w") as so, open(folder / "stderr", "w") as se:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=so, stderr=se, cwd=folder)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{(folder / 'stderr').read_text()[-2000:]}")
    return {"wall_s": round(wall, 2), "user_s": round(usage.ru_utime, 2), "sys_s": round(usage.ru_stime, 2),
            "minor_page_faults": usage.ru_minflt, "stdout": (folder / "stdout").read_text()}


def run_eval(run: str, sentences: int | None, iw_samples: int, subset_seed: int, before: Path | None,
             precision: str = "fp32") -> dict:
    out = Path(tempfile.mkdtemp()) / "report.json"
    cmd = [sys.executable, "-m", "sentae", "eval", run, "--iw-samples", str(iw_samples), "--no-report",
           "--subset-seed", str(subset_seed), "--json", str(out)]
    if precision != "fp32":
        cmd += ["--precision", precision]
    if sentences:
        cmd += ["-n", str(sentences)]
    timing = timed_command(cmd, version_env(before))
    report = json.loads(out.read_text())
    return {**{k: timing[k] for k in ("wall_s", "user_s", "sys_s")}, "table": timing["stdout"].strip().splitlines(),
            "metrics": report["metrics"], "sentences": report["sentences"], "where": report["where"]}


def median_run(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    middle = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
    return {**{k: middle[k] for k in ("wall_s", "user_s", "sys_s")}, "wall_s_all": walls,
            "median_wall_s": statistics.median(walls)}


def table_row(label: str, row: dict) -> str:
    return (f"| {label} | {row['median_wall_s']:.1f} | {', '.join(f'{w:.1f}' for w in row['wall_s_all'])} | "
            f"{row['user_s']:.1f} | {row['sys_s']:.1f} |")


def largest_relative_difference(a: dict, b: dict) -> float:
    return max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-12) for k in a)


def changed_lines(a: list[str], b: list[str]) -> list[list[str]]:
    """The printed numbers that differ, as [label, a's number, b's number] (the first line, the header, names the
    split and the precision, so it is left out)."""
    changed = []
    for x, y in zip(a[1:], b[1:]):
        if x != y:
            label, _, value = x.strip().rpartition(" ")
            changed.append([label.strip(), value, y.strip().rpartition(" ")[2]])
    return changed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a trained text run folder")
    ap.add_argument("--sentences", type=int, default=100, help="fixed random subset of the split (-n)")
    ap.add_argument("--subset-seed", type=int, default=0)
    ap.add_argument("--iw-samples", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", default="HEAD", help="git revision to compare with")
    ap.add_argument("--whole", action="store_true", help="also time the current version on the whole split")
    ap.add_argument("--bf16", action="store_true", help="also time the current version with --precision bf16")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/eval_speed.json"))
    args = ap.parse_args()
    before_commit = subprocess.run(["git", "rev-parse", args.before], cwd=ROOT, capture_output=True, text=True,
                                   check=True).stdout.strip()
    before_pkg = extract_package(args.before)
    args.run = str(Path(args.run).resolve())
    packages = {"before": imported_package(before_pkg), "now": imported_package(None)}
    if packages["before"] == packages["now"] or not packages["before"].startswith(str(before_pkg)):
        raise SystemExit(f"the rows would not run different code: {packages}")
    rates = [matmul_rate()]
    names = ("before", "now", "now_bf16") if args.bf16 else ("before", "now")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for i in range(args.repeats):
        for name in names:
            r = run_eval(args.run, args.sentences, args.iw_samples, args.subset_seed,
                         before_pkg if name == "before" else None, "bf16" if name == "now_bf16" else "fp32")
            runs[name].append(r)
            print(f"repeat {i + 1}: {name} {r['wall_s']:.1f} s (user {r['user_s']:.1f}, sys {r['sys_s']:.1f})",
                  flush=True)
    rates.append(matmul_rate())
    rows = {name: median_run(rs) for name, rs in runs.items()}
    same_table = all(a["table"] == b["table"] for a, b in zip(runs["before"], runs["now"]))
    result = {
        "benchmark": "eval_speed",
        "run": args.run,
        "split": "test",
        "sentences": runs["now"][0]["sentences"],
        "where": runs["now"][0]["where"],
        "iw_samples": args.iw_samples,
        "subset_seed": args.subset_seed,
        "repeats": args.repeats,
        "before": args.before,
        "before_commit": before_commit,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch_threads": "default",
        "matmul_rate_before_and_after": rates,
        "packages": packages,
        "rows": rows,
        "speedup": round(rows["before"]["median_wall_s"] / rows["now"]["median_wall_s"], 2),
        "same_printed_table": same_table,
        "largest_relative_difference": largest_relative_difference(runs["before"][0]["metrics"],
                                                                   runs["now"][0]["metrics"]),
        "table_before": runs["before"][0]["table"],
        "table_now": runs["now"][0]["table"],
    }
    if args.bf16:
        bf16 = runs["now_bf16"][0]
        result["bf16"] = {
            "speedup": round(rows["before"]["median_wall_s"] / rows["now_bf16"]["median_wall_s"], 2),
            "speedup_over_now": round(rows["now"]["median_wall_s"] / rows["now_bf16"]["median_wall_s"], 2),
            "largest_relative_difference": largest_relative_difference(runs["now"][0]["metrics"], bf16["metrics"]),
            "relative_differences": {k: abs(bf16["metrics"][k] - v) / max(abs(v), 1e-12)
                                     for k, v in runs["now"][0]["metrics"].items()},
            "changed_printed_lines": changed_lines(runs["now"][0]["table"], bf16["table"]),
            "table": bf16["table"],
        }
    if args.whole:
        whole = run_eval(args.run, None, args.iw_samples, args.subset_seed, None)
        result["whole_split_now"] = {k: whole[k] for k in ("wall_s", "user_s", "sys_s", "sentences", "table")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    table = [
        f"`sentae eval` on {result['sentences']} {result['split']} sentences, K = {args.iw_samples}, "
        f"medians of {args.repeats} (rows took turns)",
        "",
        "| version | wall s (median) | wall s, every run | user s | sys s |",
        "|---|---|---|---|---|",
        table_row(f"before ({before_commit[:10]})", rows["before"]),
        table_row("now", rows["now"]),
    ]
    if args.bf16:
        table.append(table_row("now, --precision bf16", rows["now_bf16"]))
    table += [
        "",
        f"× before: {result['speedup']}; same printed table: {'yes' if same_table else 'no'}; largest relative "
        f"difference of the numbers: {result['largest_relative_difference']:.1e}",
    ]
    if args.bf16:
        info = result["bf16"]
        table.append(f"bf16: × before {info['speedup']}, × now {info['speedup_over_now']}; largest relative "
                     f"difference from fp32 {info['largest_relative_difference']:.1e}; printed lines that changed:")
        table += [f"- {label}: {a} -> {b}" for label, a, b in info["changed_printed_lines"]] or ["- none"]
    Path(args.out).with_suffix(".md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()

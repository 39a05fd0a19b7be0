"""Start-up of the command line: wall time of commands that should answer at once, and whether they import torch.

Each command runs ``--repeats`` times in a fresh interpreter (``python -m sentae ...``, the console script's
work), the commands taking turns; medians are reported with the minimum and maximum. ``sentae info NAME`` imports
the model's plugin (its config class is there, and the plugin imports torch), so it is measured as the cost of
a command that needs torch, beside the ones that do not.

    python benchmarks/cli_startup.py --repeats 5
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
COMMANDS = [["--version"], ["--help"], ["list"], ["sample", "--help"], ["info", "rnn_vae"]]
PROBE = ("import runpy, sys\nsys.argv = ['sentae', *sys.argv[1:]]\ntry:\n    runpy.run_module('sentae', "
         "run_name='__main__')\nexcept SystemExit:\n    pass\nprint('TORCH', 'torch' in sys.modules, file=sys.stderr)")


def run_once(args: list[str]) -> tuple[float, bool]:
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    line = [x for x in res.stderr.splitlines() if x.startswith("TORCH ")][-1]
    return wall, line.endswith("True")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "cli_startup.json")
    args = ap.parse_args()
    times: dict[str, list[float]] = {" ".join(c): [] for c in COMMANDS}
    torch_loaded: dict[str, bool] = {}
    for _ in range(args.repeats):
        for c in COMMANDS:  # rows take turns, so a busy minute touches all of them alike
            wall, loaded = run_once(c)
            times[" ".join(c)].append(wall)
            torch_loaded[" ".join(c)] = loaded
    rows = [{"command": f"sentae {k}", "median_s": round(statistics.median(v), 3), "min_s": round(min(v), 3),
             "max_s": round(max(v), 3), "imports_torch": torch_loaded[k]} for k, v in times.items()]
    result = {"benchmark": "cli_startup", "repeats": args.repeats, "rows": rows,
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "python": platform.python_version(), "load_average_1min": os.getloadavg()[0]}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print("| command | median s | min–max s | imports torch |\n|---|---|---|---|")
    for r in rows:
        print(f"| `{r['command']}` | {r['median_s']:.2f} | {r['min_s']:.2f}–{r['max_s']:.2f} | "
              f"{'yes' if r['imports_torch'] else 'no'} |")
    print(f"load average during the run: {result['machine']['load_average_1min']:.1f}; wrote {args.json}")


if __name__ == "__main__":
    main()

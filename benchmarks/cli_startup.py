"""Start-up of the command line: wall time of commands that should answer at once, and whether they import torch.

Each command runs ``--repeats`` times in a fresh interpreter (``python -m sentae ...``, the console script's
work), the commands taking turns; medians are reported with the minimum and maximum. ``sentae info NAME`` imports
the model's plugin (its config class is there, and the plugin imports torch), so it is measured as the cost of
a command that needs torch, beside the ones that do not.

With ``--run RUN`` (a text run folder) it also times ``sentae sample RUN -n 1`` and ``sentae eval RUN -n 1
--iw-samples 1 --prior-samples 1`` end to end, and splits what happens before the first batch into stages, each
timed in the same fresh interpreter in the order the command meets them: ``import torch``, the rest of sentae's
imports, reading the run folder into a model (the plugin's import with it), the tokenizer and sampler, rebuilding the
run's data (eval only), and the first batch itself. ``python -c "import torch"`` alone is the floor no command that computes can go under.

    python benchmarks/cli_startup.py --repeats 5
    python benchmarks/cli_startup.py --repeats 5 --run runs/quickstart
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


STAGES = """
import sys, time, json
t = [time.perf_counter()]
import torch
t.append(time.perf_counter())
from sentae.generation.text_sampler import TextSampler
from sentae.run import RunFolder
t.append(time.perf_counter())
run = RunFolder(sys.argv[1])
model = run.load_model("cpu")  # the plugin's import, the model built from its config, the weights read
t.append(time.perf_counter())
sampler = TextSampler(model, run.path, run.load_tokenizer())
t.append(time.perf_counter())
data = run.rebuild_data(model.data_info)
t.append(time.perf_counter())
torch.manual_seed(0)
sampler.sample(1)
t.append(time.perf_counter())
names = ["import torch", "import the rest of sentae", "run folder -> model (plugin import, config, weights)",
         "tokenizer and sampler", "rebuild the run's data (eval only)", "first batch: one sentence"]
print("STAGES " + json.dumps(dict(zip(names, [b - a for a, b in zip(t, t[1:])]))))
"""


def stages_once(run: Path) -> dict[str, float]:
    res = subprocess.run([sys.executable, "-c", STAGES, str(run)], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    return json.loads([x for x in res.stdout.splitlines() if x.startswith("STAGES ")][-1][7:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "cli_startup.json")
    ap.add_argument("--run", type=Path, help="a text run folder: also time sample and eval on it, and their stages")
    args = ap.parse_args()
    commands = list(COMMANDS)
    if args.run is not None:
        run = str(args.run.resolve())
        commands += [["sample", run, "-n", "1", "--seed", "0"],
                     ["eval", run, "-n", "1", "--iw-samples", "1", "--prior-samples", "1", "--json", "-"]]
    times: dict[str, list[float]] = {" ".join(c): [] for c in commands}
    times["python -c 'import torch'"] = []
    torch_loaded: dict[str, bool] = {}
    stages: list[dict[str, float]] = []
    for _ in range(args.repeats):
        for c in commands:  # rows take turns, so a busy minute touches all of them alike
            wall, loaded = run_once(c)
            times[" ".join(c)].append(wall)
            torch_loaded[" ".join(c)] = loaded
        if args.run is not None:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import torch"], check=True)
            times["python -c 'import torch'"].append(time.perf_counter() - start)
            torch_loaded["python -c 'import torch'"] = True
            stages.append(stages_once(args.run))
    times = {k: v for k, v in times.items() if v}
    rows = [{"command": k if k.startswith("python") else f"sentae {k}",
             "median_s": round(statistics.median(v), 3), "min_s": round(min(v), 3),
             "max_s": round(max(v), 3), "imports_torch": torch_loaded[k]} for k, v in times.items()]
    result = {"benchmark": "cli_startup", "repeats": args.repeats, "rows": rows,
              "stages_median_s": {k: round(statistics.median(s[k] for s in stages), 3) for k in stages[0]}
              if stages else None, "stages_runs": stages,
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "python": platform.python_version(), "load_average_1min": os.getloadavg()[0]}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print("| command | median s | min–max s | imports torch |\n|---|---|---|---|")
    for r in rows:
        print(f"| `{r['command']}` | {r['median_s']:.2f} | {r['min_s']:.2f}–{r['max_s']:.2f} | "
              f"{'yes' if r['imports_torch'] else 'no'} |")
    if stages:
        print("\n| stage (fresh interpreter) | median s |\n|---|---|")
        for k, v in result["stages_median_s"].items():
            print(f"| {k} | {v:.2f} |")
    print(f"load average during the run: {result['machine']['load_average_1min']:.1f}; wrote {args.json}")


if __name__ == "__main__":
    main()

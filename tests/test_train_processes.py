"""Training as users run it: the CLI in a subprocess, SIGKILL then --resume, and DDP under torchrun.
(The command line itself is tested in test_cli.py.)"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]


def write_recipe(path: Path, **train) -> Path:
    recipe = {
        "name": "proc",
        "model": {"type": "mlp_vae", "hidden_size": 13, "latent_size": 7},
        "data": {"source": "digits"},
        "train": {"max_steps": 1500, "batch_size": 32, "eval_every": 500, "ckpt_every": 100, "keep_last": 50,
                  "log_every": 100, **train},
    }
    path.write_text(yaml.safe_dump(recipe))
    return path


def sentae_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "sentae", *args]


# Only catches a hang: a busy or slow machine may take minutes for what takes seconds when idle.
TIMEOUT_S = 900


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(sentae_cmd(*args), capture_output=True, text=True, env=env, timeout=TIMEOUT_S, **kw)


def same_weights(a: Path, b: Path) -> bool:
    x, y = load_file(a), load_file(b)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


# `python -m sentae` with one addition: the training process SIGKILLs itself right after the optimizer step given as
# the first argument. Killed at a known step, the test does not race the training process to the kill: polling
# for a checkpoint and then killing lets a fast or a busy machine finish (or barely start) the run first.
KILL_AT_STEP = """\
import os, signal, sys

from sentae.cli import main
from sentae.training.trainer import Trainer

kill_at = int(sys.argv.pop(1))
_init = Trainer.__init__


def _init_with_kill(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.callbacks.append(lambda step, _metrics: step == kill_at and os.kill(os.getpid(), signal.SIGKILL))


Trainer.__init__ = _init_with_kill
main(prog_name="sentae")
"""


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    recipe = write_recipe(tmp_path / "r.yaml")
    full = run("train", str(recipe), "--out", str(tmp_path / "full"))
    assert full.returncode == 0, full.stderr

    out = tmp_path / "killed"
    (tmp_path / "kill_at_step.py").write_text(KILL_AT_STEP)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # step 350: after the checkpoint of step 300, half way to the next one, so resuming redoes 50 steps
    killed = subprocess.run([sys.executable, str(tmp_path / "kill_at_step.py"), "350", "train", str(recipe),
                             "--out", str(out)], capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert [p.name for p in sorted((out / "checkpoints").iterdir())] == [f"step-{s:08d}" for s in (100, 200, 300)]
    assert not (out / "model.safetensors").exists()

    resumed = run("train", str(recipe), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step 300" in resumed.stderr
    assert same_weights(tmp_path / "full" / "model.safetensors", out / "model.safetensors")


@pytest.mark.slow
def test_ddp_with_two_gloo_processes(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found beside the Python interpreter"
    recipe = write_recipe(tmp_path / "r.yaml", max_steps=40, eval_every=20, ckpt_every=20, device="cpu")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # torchrun owns the rendezvous; --standalone picks a free local port.
    res = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "sentae", "train", str(recipe), "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=TIMEOUT_S,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "x2 processes" in res.stderr
    assert (out / "model.safetensors").is_file()
    state = torch.load(out / "trainer_state.pt", weights_only=True)
    assert state["step"] == 40
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len([l for l in lines if '"split": "val"' in l]) == 2, "validation logged by more than one rank"

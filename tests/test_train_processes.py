"""Training as users run it: the CLI in a subprocess, SIGKILL then --resume, and DDP under torchrun."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
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


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(sentae_cmd(*args), capture_output=True, text=True, env=env, timeout=300, **kw)


def same_weights(a: Path, b: Path) -> bool:
    x, y = load_file(a), load_file(b)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    recipe = write_recipe(tmp_path / "r.yaml")
    full = run("train", str(recipe), "--out", str(tmp_path / "full"))
    assert full.returncode == 0, full.stderr

    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(sentae_cmd("train", str(recipe), "--out", str(out)), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "checkpoints" / "step-00000300").exists():
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "model.safetensors").exists(), "the run finished before SIGKILL; the test proves nothing"

    resumed = run("train", str(recipe), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step" in resumed.stderr
    assert same_weights(tmp_path / "full" / "model.safetensors", out / "model.safetensors")


def test_cli_errors_are_one_clear_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {type: mlp_vae}\ntrain: {max_step: 10}\n")
    res = run("train", str(bad), "--out", str(tmp_path / "x"))
    assert res.returncode == 1
    assert res.stderr.strip() == f"error: {bad}: unknown key 'train.max_step'; did you mean 'train.max_steps'?"
    assert not (tmp_path / "x").exists()


def test_module_help_and_version():
    res = run("--help")
    assert res.returncode == 0 and "train" in res.stdout and "list" in res.stdout
    res = run("--version")
    assert res.returncode == 0 and res.stdout.startswith("sentae 0.1.0")
    for sub in (["list"], ["info"], ["train"], ["config", "show"]):
        res = run(*sub, "--help")
        assert res.returncode == 0 and "Usage:" in res.stdout, sub


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
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "x2 processes" in res.stderr
    assert (out / "model.safetensors").is_file()
    state = torch.load(out / "trainer_state.pt", weights_only=True)
    assert state["step"] == 40
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len([l for l in lines if '"split": "val"' in l]) == 2, "validation logged by more than one rank"

"""What sentae guarantees about run folders: one writer, nothing deleted that sentae did not write, exact
checkpoint names, clean stops on SIGTERM/SIGINT, no recorded setting that did not happen, the run's tokenizer."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

import sentae
from sentae.errors import CheckpointError, ConfigError, SentaeError, TrainingError
from sentae.run import LOCK, MARKER, RunFolder

from toy_models import FlakyAE

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 900  # only catches a hang


def _recipe(**train) -> dict:
    base = {"max_steps": 40, "batch_size": 32, "eval_every": 20, "ckpt_every": 20, "log_every": 10, "progress": "none"}
    base.update(train)
    return {"name": "safety", "model": {"type": "mlp_vae", "hidden_size": 13, "latent_size": 7},
            "data": {"source": "digits", "limit": 400}, "train": base}


def _same_weights(a: Path, b: Path) -> bool:
    x, y = load_file(a), load_file(b)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


# -- one writer ------------------------------------------------------------------------------------------------
def test_a_second_writer_is_refused_with_the_pid_that_holds_the_lock(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from sentae.run import RunFolder; lock = RunFolder(sys.argv[1]).lock();"
         " print('locked', flush=True); time.sleep(600)", str(out)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(SentaeError, match=rf"being written by process {holder.pid}"):
            sentae.train(_recipe(), out=out)
        assert not (out / "config.yaml").exists()  # nothing was written
    finally:
        holder.kill()
        holder.wait(TIMEOUT_S)
    # the OS released the dead holder's lock: the folder is free again
    run = sentae.train(_recipe(max_steps=5), out=out)
    assert run.result.steps == 5 and (out / MARKER).is_file() and (out / LOCK).is_file()


def test_the_lock_is_held_for_the_whole_run(tmp_path):
    out = tmp_path / "run"
    seen = []

    def try_second_writer(step, _metrics):
        if step == 3:
            with pytest.raises(SentaeError, match="being written by process"):
                RunFolder(out).lock()
            seen.append(step)

    from sentae.training import trainer as trainer_mod

    init = trainer_mod.Trainer.__init__

    def with_probe(self, *a, **kw):
        init(self, *a, **kw)
        self.callbacks.append(try_second_writer)

    trainer_mod.Trainer.__init__ = with_probe
    try:
        sentae.train(_recipe(max_steps=5), out=out)
    finally:
        trainer_mod.Trainer.__init__ = init
    assert seen == [3]
    RunFolder(out).lock().release()  # free once the run is over


# -- sentae deletes only what it wrote ------------------------------------------------------------------------
def test_a_folder_sentae_did_not_make_is_refused_and_untouched(tmp_path):
    d = tmp_path / "d"
    (d / "events").mkdir(parents=True)
    (d / "config.yaml").write_text("mine\n")
    (d / "events" / "important.txt").write_text("keep\n")
    with pytest.raises(SentaeError, match="not a sentae run folder"):
        sentae.train(_recipe(), out=d)
    assert (d / "config.yaml").read_text() == "mine\n" and (d / "events" / "important.txt").read_text() == "keep\n"
    assert sorted(p.name for p in d.iterdir()) == ["config.yaml", "events"]


def test_a_hand_written_recipe_is_not_overwritten_by_its_own_run(tmp_path):
    exp = tmp_path / "myexp"
    exp.mkdir()
    text = yaml.safe_dump(_recipe())
    (exp / "config.yaml").write_text(text)
    with pytest.raises(SentaeError, match="not a sentae run folder"):
        sentae.train(exp / "config.yaml", out=exp)
    assert (exp / "config.yaml").read_text() == text


def test_a_failed_start_is_replaced_but_a_users_file_inside_it_is_kept(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    RunFolder(d).write_marker()
    (d / "config.yaml").write_text("from a run that failed before its first checkpoint\n")
    (d / "events").mkdir()
    (d / "events" / "events.out.tfevents.1.host").write_bytes(b"x")
    sentae.train(_recipe(max_steps=3), out=tmp_path / "run")  # replaced: only sentae's setup files were there
    assert "safety" in (d / "config.yaml").read_text()

    e = tmp_path / "run2"
    e.mkdir()
    RunFolder(e).write_marker()
    (e / "events").mkdir()
    (e / "events" / "important.txt").write_text("keep\n")
    with pytest.raises(SentaeError, match="already exists and is not empty"):
        sentae.train(_recipe(max_steps=3), out=e)
    assert (e / "events" / "important.txt").read_text() == "keep\n"


def test_rotation_and_resume_ignore_names_that_are_not_checkpoints(tmp_path):
    out = tmp_path / "run"
    sentae.train(_recipe(max_steps=20, ckpt_every=10, keep_last=1), out=out)
    ckpts = out / "checkpoints"
    (ckpts / "step-00000100.bak").mkdir()
    (ckpts / "step-zzz").mkdir()
    (out / ".model.safetensors.tmp-4242").write_bytes(b"half a file")
    (ckpts / ".step-00000030.tmp-4242").mkdir()
    run = sentae.train(_recipe(max_steps=40, ckpt_every=10, keep_last=1), out=out, resume=True)
    assert run.result.steps == 40  # resumed from step 20, not from "step-zzz"
    names = sorted(p.name for p in ckpts.iterdir())
    assert names == ["step-00000040", "step-00000100.bak", "step-zzz"]  # the user's entries stay
    assert not (out / ".model.safetensors.tmp-4242").exists()  # leftovers of interrupted writes are cleaned


@pytest.mark.parametrize("name", ["../../x", "/abs/path", "", ".", "a/b", "-dash"])
def test_run_names_stay_inside_runs(name):
    bad = _recipe()
    bad["name"] = name
    with pytest.raises(ConfigError, match="'name' must be one folder name"):
        sentae.load_recipe(bad)


# -- what is recorded happened --------------------------------------------------------------------------------
def test_resume_refuses_settings_it_cannot_honour_and_applies_the_others(tmp_path):
    out = tmp_path / "run"
    sentae.train(_recipe(max_steps=20), out=out)
    before = (out / "config.yaml").read_text()
    with pytest.raises(TrainingError, match=r"cannot apply train.lr 0.001 -> 0.01"):
        sentae.train(_recipe(max_steps=40, lr=0.01), out=out, resume=True)
    assert (out / "config.yaml").read_text() == before  # nothing recorded
    run = sentae.train(_recipe(max_steps=40), out=out, resume=True)
    assert run.result.steps == 40 and "max_steps: 40" in (out / "config.yaml").read_text()


def test_metrics_have_one_line_per_step_after_a_resume(tmp_path):
    out = tmp_path / "run"
    sentae.train(_recipe(max_steps=30, ckpt_every=20), out=out)  # logs steps 10, 20, 30; checkpoint at 20 and 30
    import shutil

    shutil.rmtree(out / "checkpoints" / "step-00000030")  # as if killed after logging step 30
    sentae.train(_recipe(max_steps=40, ckpt_every=20), out=out, resume=True)
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["split"] == "train"]
    assert steps == [10, 20, 30, 40]


@pytest.fixture
def flaky():
    sentae.register(FlakyAE)
    yield
    sentae.REGISTRY.unregister(FlakyAE.name)


def test_a_run_that_ends_in_nonfinite_losses_fails_and_keeps_the_last_good_weights(tmp_path, flaky):
    out = tmp_path / "run"
    recipe = _recipe(max_steps=30, ckpt_every=10, max_nonfinite=50)
    recipe["model"] = {"type": "toy_flaky", "nan_from": 25}
    with pytest.raises(TrainingError, match="during 5 non-finite losses in a row"):
        sentae.train(recipe, out=out)
    assert _same_weights(out / "model.safetensors", out / "checkpoints" / "step-00000020" / "model.safetensors")
    assert [p.name for p in RunFolder(out).checkpoints()] == ["step-00000010", "step-00000020"]


# -- the run's tokenizer --------------------------------------------------------------------------------------
def _text_recipe(**train) -> dict:
    base = {"max_steps": 10, "batch_size": 16, "eval_every": 0, "ckpt_every": 5, "progress": "none"}
    base.update(train)
    return {"name": "tok", "model": {"type": "rnn_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 7},
            "data": {"source": "reviews", "limit": 300}, "train": base}


def test_a_tokenizer_that_is_not_the_models_is_refused_and_resume_restores_it(tmp_path):
    out = tmp_path / "run"
    sentae.train(_text_recipe(), out=out)
    spec = json.loads((out / "model.json").read_text())
    assert len(spec["tokenizer"]["sha256"]) == 64
    good = (out / "tokenizer.json").read_text()
    doc = json.loads(good)  # a standard WordLevel file: cut its vocabulary to the first 10 ids
    doc["model"]["vocab"] = {w: i for w, i in doc["model"]["vocab"].items() if i < 10}
    (out / "tokenizer.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="is not the tokenizer model.json was trained with|has .* tokens"):
        sentae.load(out)
    (out / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match="tokenizer.json is missing"):
        sentae.load(out)
    sentae.train(_text_recipe(max_steps=15), out=out, resume=True)
    assert (out / "tokenizer.json").read_text() == good
    assert len(sentae.load(out).sample(2, seed=0)) == 2


# -- signals ----------------------------------------------------------------------------------------------------
# `python -m sentae` whose training process sends itself real signals right after the optimizer step given first.
SIGNAL_AT_STEP = """\
import os, signal, sys

from sentae.cli import main
from sentae.training.trainer import Trainer

at, signals = int(sys.argv.pop(1)), [getattr(signal, s) for s in sys.argv.pop(1).split(",")]
_init = Trainer.__init__


def _init_with_signal(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.callbacks.append(lambda step, _m: step == at and [os.kill(os.getpid(), s) for s in signals])


Trainer.__init__ = _init_with_signal
main(prog_name="sentae")
"""


def _run(tmp_path, *args):
    (tmp_path / "signal_at_step.py").write_text(SIGNAL_AT_STEP)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=TIMEOUT_S,
                          cwd=tmp_path)


@pytest.mark.parametrize("sig, code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_checkpoints_the_step_and_resume_matches_an_uninterrupted_run(tmp_path, sig, code):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(_recipe(max_steps=120, ckpt_every=50, eval_every=40)))
    full = _run(tmp_path, "-m", "sentae", "train", str(recipe), "--out", "full")
    assert full.returncode == 0, full.stderr
    stopped = _run(tmp_path, "signal_at_step.py", "73", sig, "train", str(recipe), "--out", "stopped")
    assert stopped.returncode == code, stopped.stderr
    assert f"training stopped by {sig} at step 73" in stopped.stderr and "--resume" in stopped.stderr
    assert [p.name for p in RunFolder(tmp_path / "stopped").checkpoints()] == ["step-00000050", "step-00000073"]
    resumed = _run(tmp_path, "-m", "sentae", "train", str(recipe), "--out", "stopped", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _same_weights(tmp_path / "full" / "model.safetensors", tmp_path / "stopped" / "model.safetensors")


def test_a_second_sigint_stops_at_once(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(_recipe(max_steps=120, ckpt_every=50)))
    stopped = _run(tmp_path, "signal_at_step.py", "73", "SIGINT,SIGINT", "train", str(recipe), "--out", "stopped")
    assert stopped.returncode != 0
    assert [p.name for p in RunFolder(tmp_path / "stopped").checkpoints()] == ["step-00000050"]  # no new one


# -- a full disk ------------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 600 KiB tmpfs (needs root and mount; skipped elsewhere)."""
    import shutil as sh

    if os.geteuid() != 0 or sh.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_stops_with_one_line_and_keeps_the_last_checkpoint(small_disk):
    from sentae.training.checkpoint import load_state

    recipe = _recipe(max_steps=400, ckpt_every=10, keep_last=100, eval_every=0)
    recipe["model"]["hidden_size"] = 64  # about 70 KB a checkpoint: the disk fills after a few
    out = small_disk / "run"
    with pytest.raises(CheckpointError, match=r"cannot write the checkpoint: No space left on device"):
        sentae.train(recipe, out=out)
    run = RunFolder(out)
    done = run.checkpoints()
    assert done, "no checkpoint fitted at all"
    last = done[-1]
    run.load_model(weights=str(last.relative_to(out) / "model.safetensors"))  # loads: complete and readable
    assert load_state(last / "trainer_state.pt")["step"] == int(last.name.split("-")[1])
    leftovers = [p for p in out.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_the_resume_advice_is_checked_before_it_is_given(tmp_path):
    out = tmp_path / "run"
    sentae.train(_recipe(max_steps=20, ckpt_every=10), out=out)
    older, latest = RunFolder(out).checkpoints()
    for c in (older, latest):
        data = (c / "trainer_state.pt").read_bytes()
        (c / "trainer_state.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError) as err:
        sentae.train(_recipe(max_steps=30, ckpt_every=10), out=out, resume=True)
    msg = str(err.value)
    assert "no earlier checkpoint reads correctly either" in msg and "intact" not in msg and "move" not in msg
    assert "weights_only=False" not in msg  # never advise the unsafe load


def test_weights_on_a_full_disk_are_one_line_and_leave_nothing(small_disk):
    from sentae.errors import WriteError
    from sentae.weights import save_weights

    big = torch.nn.Linear(1000, 1000)  # 4 MB: more than the disk holds
    with pytest.raises(WriteError, match="cannot write .*w.safetensors: No space left on device"):
        save_weights(big, small_disk / "w.safetensors")
    assert list(small_disk.iterdir()) == []

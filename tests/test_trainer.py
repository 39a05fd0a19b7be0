"""The Trainer: run folders, multiple optimizers, precision, the finite-loss guard, early stopping, checkpoints."""
from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file

import sentae
from sentae.config import DataConfig, TrainConfig
from sentae.data import build_data
from sentae.errors import CheckpointError, SentaeError, TrainingError
from sentae.training.trainer import Trainer
from sentae.training.checkpoint import list_checkpoints, load_state

from toy_models import FlakyAE, TwoPlayer


@pytest.fixture
def toys():
    for cls in (FlakyAE, TwoPlayer):
        sentae.register(cls)
    yield
    for cls in (FlakyAE, TwoPlayer):
        sentae.REGISTRY.unregister(cls.name)


def recipe(**train):
    base = {"max_steps": 30, "batch_size": 16, "eval_every": 10, "ckpt_every": 10, "log_every": 5, "progress": "none"}
    base.update(train)
    return {
        "name": "t",
        "model": {"type": "mlp_vae", "hidden_size": 13, "latent_size": 7},
        "data": {"source": "digits", "limit": 300},
        "train": base,
    }


def test_run_folder_contents_and_load(tmp_path):
    run = sentae.train(recipe(), out=tmp_path / "run")
    d = run.path
    for name in ["config.yaml", "model.json", "model.safetensors", "trainer_state.pt", "metrics.jsonl", "data_info.json"]:
        assert (d / name).is_file(), name
    assert list((d / "events").iterdir()), "no TensorBoard events"
    cfg = (d / "config.yaml").read_text()
    assert "sentae-plugin-template" in cfg and "versions:" in cfg and "torch:" in cfg
    state = torch.load(d / "trainer_state.pt", weights_only=True)
    assert state["step"] == 30
    records = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in records if r["split"] == "train"]
    assert train_steps == [5, 10, 15, 20, 25, 30]
    val = [r for r in records if r["split"] == "val"]
    assert [r["step"] for r in val] == [10, 20, 30] and "val/loss" in val[0]
    assert run.result.val_metrics["val/loss"] == pytest.approx(val[-1]["val/loss"])
    sampler = sentae.load(d)
    assert sampler.sample(4, seed=0).shape == (4, 1, 8, 8)
    assert torch.equal(sampler.sample(3, seed=1), sampler.sample(3, seed=1))
    x = torch.rand(2, 1, 8, 8)
    assert sampler.reconstruct(x).shape == x.shape


def test_lr_multiplier_at_chosen_steps():
    from sentae.training.trainer import lr_multiplier

    assert lr_multiplier(0, 4, 100) == pytest.approx(0.25)  # warm-up: (step + 1) / warmup
    assert lr_multiplier(3, 4, 100) == 1.0 and lr_multiplier(99, 4, 100) == 1.0  # no decay
    # cosine from step 4 to 104: half way -> 0.5, end -> final
    assert lr_multiplier(54, 4, 104, "cosine") == pytest.approx(0.5)
    assert lr_multiplier(104, 4, 104, "cosine") == pytest.approx(0.0)
    assert lr_multiplier(104, 4, 104, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_multiplier(29, 4, 104, "cosine") == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_multiplier(54, 4, 104, "linear", 0.2) == pytest.approx(0.6)
    assert lr_multiplier(500, 0, 100, "linear") == 0.0  # never below final, even past the end


def test_lr_decay_reaches_the_optimizer(tmp_path):
    run = sentae.train(recipe(max_steps=20, log_every=1, lr=0.01, lr_decay="linear", lr_final=0.5),
                       out=tmp_path / "run")
    lrs = [r["lr"] for r in map(json.loads, (run.path / "metrics.jsonl").read_text().splitlines())
           if r["split"] == "train"]
    # the lr logged after step s is the one the next step uses: 0.01 * (1 - 0.5 * s / 20)
    assert lrs == pytest.approx([0.01 * (1 - 0.5 * s / 20) for s in range(1, 21)])
    with pytest.raises(SentaeError, match="lr_decay' must be one of none, cosine, linear"):
        sentae.train(recipe(lr_decay="step"), out=tmp_path / "bad")
    with pytest.raises(SentaeError, match="lr_final' must be in"):
        sentae.train(recipe(lr_final=2.0), out=tmp_path / "bad2")


def test_existing_run_folder_is_not_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(SentaeError, match="already exists"):
        sentae.train(recipe(), out=out)
    assert (out / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_keep_last_checkpoints(tmp_path):
    run = sentae.train(recipe(max_steps=50, keep_last=2), out=tmp_path / "run")
    assert [p.name for p in list_checkpoints(run.path)] == ["step-00000040", "step-00000050"]


def test_resume_continues_to_identical_weights(tmp_path):
    full = sentae.train(recipe(max_steps=40), out=tmp_path / "full")
    sentae.train(recipe(max_steps=20), out=tmp_path / "part")
    resumed = sentae.train(recipe(max_steps=40), out=tmp_path / "part", resume=True)
    assert resumed.result.steps == 40
    a, b = load_file(full.path / "model.safetensors"), load_file(resumed.path / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_a_different_model_section(tmp_path):
    sentae.train(recipe(max_steps=10), out=tmp_path / "run")
    other = recipe(max_steps=20)
    other["model"]["latent_size"] = 9
    with pytest.raises(SentaeError, match="'model' section differs"):
        sentae.train(other, out=tmp_path / "run", resume=True)


def test_resume_without_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        sentae.train(recipe(), out=tmp_path / "nothing", resume=True)


@pytest.mark.parametrize("victim", ["trainer_state.pt", "model.safetensors"])
def test_corrupt_checkpoint_gives_clear_error_and_previous_stays(tmp_path, victim):
    run = sentae.train(recipe(max_steps=20), out=tmp_path / "run")
    older, latest = list_checkpoints(run.path)
    before = {p.name: p.read_bytes() for p in older.iterdir()}
    data = (latest / victim).read_bytes()
    (latest / victim).write_bytes(data[: len(data) // 3])  # truncated, as by a full disk
    with pytest.raises(CheckpointError) as err:
        sentae.train(recipe(max_steps=30), out=run.path, resume=True)
    msg = str(err.value)
    assert str(latest / victim) in msg and "corrupt" in msg and str(older) in msg
    assert {p.name: p.read_bytes() for p in older.iterdir()} == before
    assert load_state(older / "trainer_state.pt")["step"] == 10


def test_interrupted_checkpoint_write_is_ignored(tmp_path):
    run = sentae.train(recipe(max_steps=10), out=tmp_path / "run")
    (run.path / "checkpoints" / ".tmp-step-00000020-999").mkdir()  # a write killed before its rename
    resumed = sentae.train(recipe(max_steps=20), out=run.path, resume=True)
    assert resumed.result.steps == 20


def _fit(tmp_path, model, **train):
    cfg = TrainConfig(**{"max_steps": 12, "batch_size": 16, "eval_every": 0, "ckpt_every": 4, "progress": "none", **train})
    data = build_data(DataConfig(source="digits", limit=200))
    return Trainer(cfg, tmp_path / "run").fit(model, data)


def test_nonfinite_steps_are_skipped(tmp_path, toys):
    model = sentae.create_model("toy_flaky", nan_from=5, nan_until=7)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = _fit(tmp_path, model)
    assert result.steps == 12 and result.skipped_steps == 2
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_nonfinite_streak_stops_training_and_keeps_last_good_checkpoint(tmp_path, toys):
    model = sentae.create_model("toy_flaky", nan_from=6)
    with pytest.raises(TrainingError, match="non-finite for 3 steps in a row") as err:
        _fit(tmp_path, model, max_nonfinite=3)
    assert "step-00000004" in str(err.value)
    ckpts = list_checkpoints(tmp_path / "run")
    assert [p.name for p in ckpts] == ["step-00000004"]
    weights = load_file(ckpts[0] / "model.safetensors")
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_several_optimizers_are_stepped_in_the_model_order(tmp_path, toys):
    TwoPlayer.calls.clear()
    model = sentae.create_model("toy_two_player")
    result = _fit(tmp_path, model, max_steps=5, grad_accum=2)
    assert result.steps == 5
    # each step: the critic over 2 micro-batches, then the autoencoder over the same 2
    assert TwoPlayer.calls == ["critic", "critic", "autoencoder", "autoencoder"] * 5
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"loss/critic", "loss/autoencoder", "recon"} <= set(records[0])


def test_critic_step_changes_only_critic_parameters(tmp_path, toys):
    model = sentae.create_model("toy_two_player")
    opts = model.optimizers(0.1, 0.0)
    batch = model.example_batch(4, torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.zero_grad()
    model.training_step(batch, sentae.StepContext(optimizer="critic")).loss.backward()
    opts["critic"].step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(before[k], v)}
    assert changed == {"critic.weight", "critic.bias"}


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_on_cpu(tmp_path, precision):
    run = sentae.train(recipe(max_steps=20, precision=precision), out=tmp_path / "run")
    assert run.result.steps == 20 and run.result.val_metrics["val/loss"] < 60  # about 44 nats/image at init


def test_early_stopping_restores_best_weights(tmp_path):
    # lr so high that validation gets worse after the first evaluation
    run = sentae.train(
        recipe(max_steps=200, eval_every=2, lr=5.0, clip_norm=None, early_stop_metric="val/loss", early_stop_patience=2),
        out=tmp_path / "run",
    )
    assert run.result.stopped_early and run.result.steps < 200
    best, final = load_file(run.path / "best.safetensors"), load_file(run.path / "model.safetensors")
    assert all(torch.equal(best[k], final[k]) for k in best)


def test_unknown_early_stop_metric(tmp_path):
    with pytest.raises(TrainingError, match="not a validation metric.*val/loss"):
        sentae.train(recipe(early_stop_metric="val/accuracy"), out=tmp_path / "run")


def test_too_few_batches_for_accumulation(tmp_path):
    with pytest.raises(TrainingError, match="fewer than train.grad_accum"):
        sentae.train(recipe(batch_size=256, grad_accum=4), out=tmp_path / "run")


class StepClock:
    """A fake clock for ``Trainer(clock=...)`` that advances a fixed number of seconds per optimizer step.

    Registered as a Trainer callback too, so time moves with the steps and not with how fast the machine is.
    """

    def __init__(self, seconds_per_step: float) -> None:
        self.seconds_per_step = seconds_per_step
        self.now = 100.0  # not zero: the Trainer must measure from its own start, not from the clock's origin

    def __call__(self) -> float:
        return self.now

    def tick(self, step: int, metrics: dict[str, float]) -> None:
        self.now += self.seconds_per_step


def test_wall_clock_budget_stops_training_and_still_validates(tmp_path):
    # 0.5 s per step and a 5.9 s budget: 11 steps (5.5 s) are within it, the 12th (6.0 s) reaches it.
    clock = StepClock(seconds_per_step=0.5)
    cfg = TrainConfig(max_steps=10**6, max_time_s=5.9, batch_size=16, eval_every=0, ckpt_every=0, log_every=5,
                      progress="none")
    data = build_data(DataConfig(source="digits", limit=300))
    model = sentae.create_model("mlp_vae", data_info=data.info, hidden_size=13, latent_size=7)
    result = Trainer(cfg, tmp_path / "run", callbacks=[clock.tick], clock=clock).fit(model, data)
    assert result.out_of_time and not result.stopped_early
    assert result.steps == 12
    assert "val/loss" in result.val_metrics
    assert torch.load(tmp_path / "run" / "trainer_state.pt", weights_only=True)["step"] == 12
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    # elapsed_s comes from the same clock: 0.5 s for each step before the logged one
    assert [(r["step"], r["elapsed_s"]) for r in records if r["split"] == "train"] == [(5, 2.5), (10, 5.0)]


def test_a_run_that_failed_while_starting_can_be_rerun(tmp_path):
    with pytest.raises(TrainingError):  # fails at the first validation, before any checkpoint
        sentae.train(recipe(early_stop_metric="val/nope"), out=tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists()
    run = sentae.train(recipe(max_steps=10), out=tmp_path / "run")
    assert run.result.steps == 10
    assert all(json.loads(l)["step"] <= 10 for l in (run.path / "metrics.jsonl").read_text().splitlines())


def test_failed_resume_leaves_the_config_untouched(tmp_path):
    run = sentae.train(recipe(max_steps=20), out=tmp_path / "run")
    before = (run.path / "config.yaml").read_text()
    latest = list_checkpoints(run.path)[-1] / "trainer_state.pt"
    latest.write_bytes(latest.read_bytes()[:100])
    with pytest.raises(CheckpointError):
        sentae.train(recipe(max_steps=40), out=run.path, resume=True)
    assert (run.path / "config.yaml").read_text() == before


def test_weights_are_readable_like_other_run_files(tmp_path):
    run = sentae.train(recipe(max_steps=10), out=tmp_path / "run")
    mode = (run.path / "model.safetensors").stat().st_mode & 0o777
    assert mode == (run.path / "config.yaml").stat().st_mode & 0o777


def test_recipe_object_with_overrides(tmp_path):
    rec = sentae.load_recipe(recipe())
    run = sentae.train(rec, ["train.max_steps=7"], out=tmp_path / "run")
    assert run.result.steps == 7


def test_threads_setting_is_applied(tmp_path):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        sentae.train(recipe(max_steps=2, threads=1), out=tmp_path / "run")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_to_device_keeps_cpu_batches_and_pins_for_cuda():
    from sentae.training.trainer import to_device

    batch = {"tokens": torch.tensor([[1, 5, 2]]), "lengths": torch.tensor([3])}
    moved = to_device(batch, torch.device("cpu"))
    assert moved.keys() == batch.keys() and all(torch.equal(moved[k], batch[k]) for k in batch)
    if torch.cuda.is_available():  # the asynchronous copy through pinned memory
        on_gpu = to_device(batch, torch.device("cuda"))
        assert on_gpu["tokens"].is_cuda and torch.equal(on_gpu["tokens"].cpu(), batch["tokens"])

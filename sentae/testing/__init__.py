"""The conformance kit: checks every registered model must pass, run by sentae's CI and by each plugin's tests.

In a plugin's tests::

    import pytest
    from sentae.testing import CHECKS

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_conformance(check):
        check("my_model")

Each check builds the model with ``sentae.create_model(name, **overrides)`` on its default data shape; without
``overrides`` it uses the model's ``tiny_config``, which should make every check run in a second on a CPU.
"""
from __future__ import annotations

import tempfile
from typing import Any, Callable

import torch

from ..api import create_model, load_model, save_pretrained
from ..model import SentaeModel, StepContext
from ..registry import REGISTRY

BATCH = 6  # deliberately not a power of two, so a batch/feature swap cannot pass by coincidence


def _build(name: str, overrides: dict[str, Any] | None, seed: int = 0) -> SentaeModel:
    if overrides is None:
        overrides = REGISTRY.get(name).tiny_config
    torch.manual_seed(seed)
    return create_model(name, **overrides)


def _batch(model: SentaeModel, seed: int = 1):
    return model.example_batch(BATCH, torch.Generator().manual_seed(seed))


def _names(model: SentaeModel) -> list[str]:
    return list(model.optimizers(1e-3, 0.0))


def check_forward(name: str, overrides: dict[str, Any] | None = None) -> None:
    """training_step returns a finite scalar loss for every optimizer, and finite float metrics."""
    model = _build(name, overrides)
    batch = _batch(model)
    for opt in _names(model):
        out = model.training_step(batch, StepContext(optimizer=opt))
        assert out.loss.dim() == 0, f"{name}: loss for optimizer '{opt}' is not a scalar: shape {tuple(out.loss.shape)}"
        assert torch.isfinite(out.loss), f"{name}: loss for optimizer '{opt}' is not finite: {out.loss}"
        for k, v in out.metrics.items():
            assert torch.isfinite(torch.as_tensor(v, dtype=torch.float32)), f"{name}: metric {k} is not finite"


def check_backward(name: str, overrides: dict[str, Any] | None = None) -> None:
    """Each optimizer's loss sends a non-zero gradient into that optimizer's parameters, and every trainable
    parameter gets a gradient from some optimizer's loss (a detached module would fail here)."""
    model = _build(name, overrides)
    batch = _batch(model)
    opts = model.optimizers(1e-3, 0.0)
    reached: set[str] = set()
    names = {id(p): n for n, p in model.named_parameters()}
    for opt_name, opt in opts.items():
        model.zero_grad(set_to_none=True)
        model.training_step(batch, StepContext(optimizer=opt_name)).loss.backward()
        params = [p for g in opt.param_groups for p in g["params"]]
        total = sum(float(p.grad.abs().sum()) for p in params if p.grad is not None)
        assert total > 0, f"{name}: the loss for optimizer '{opt_name}' gives no gradient to its parameters"
        reached |= {names[id(p)] for p in params if p.grad is not None and float(p.grad.abs().sum()) > 0}
    unreached = [n for n, p in model.named_parameters() if p.requires_grad and n not in reached]
    assert not unreached, f"{name}: no optimizer's loss reaches these parameters: {unreached[:8]}"


def check_loss_decreases(name: str, overrides: dict[str, Any] | None = None, steps: int = 30) -> None:
    """A few optimizer steps on one fixed batch lower the first optimizer's loss."""
    model = _build(name, overrides)
    batch = _batch(model)
    opts = model.optimizers(3e-3, 0.0)
    first = next(iter(opts))
    eval_ctx = StepContext(step=steps, total_steps=steps, optimizer=first)
    torch.manual_seed(2)
    before = float(model.training_step(batch, eval_ctx).loss.detach())
    for step in range(steps):
        for opt_name, opt in opts.items():
            model.zero_grad(set_to_none=True)
            model.training_step(batch, StepContext(step=step, total_steps=steps, optimizer=opt_name)).loss.backward()
            opt.step()
    torch.manual_seed(2)
    after = float(model.training_step(batch, eval_ctx).loss.detach())
    assert after < before, f"{name}: loss did not decrease on a fixed batch ({before:.4f} -> {after:.4f})"


def _eval_outputs(model: SentaeModel, batch) -> dict[str, float]:
    model.eval()
    with torch.random.fork_rng():
        torch.manual_seed(3)
        return model.validation_step(batch)


def check_save_load(name: str, overrides: dict[str, Any] | None = None) -> None:
    """save_pretrained -> load_model restores identical weights and identical validation outputs."""
    model = _build(name, overrides)
    batch = _batch(model)
    with torch.no_grad():  # perturb, so that defaults cannot pass for restored weights
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    with tempfile.TemporaryDirectory() as tmp:
        save_pretrained(model, tmp)
        loaded = load_model(tmp)
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys(), f"{name}: loaded state has other keys"
    for k in a:
        assert torch.equal(a[k], b[k]), f"{name}: tensor {k} differs after save/load"
    assert _eval_outputs(model, batch) == _eval_outputs(loaded, batch), f"{name}: outputs differ after save/load"


def check_sampling_shapes(name: str, overrides: dict[str, Any] | None = None) -> None:
    """Models that sample return n samples of the data's shape (images) or n token sequences (text)."""
    model = _build(name, overrides)
    if type(model).sample is SentaeModel.sample:
        return  # this variant has no prior to sample from
    model.eval()
    out = model.sample(5, generator=torch.Generator().manual_seed(0))
    info = model.data_info
    if info.modality == "image":
        assert tuple(out.shape) == (5, *info.image_shape), f"{name}: sample shape {tuple(out.shape)}"
    else:
        assert out.shape[0] == 5 and out.dim() == 2, f"{name}: text samples should be (n, length), got {tuple(out.shape)}"
        assert out.dtype == torch.long and int(out.min()) >= 0 and int(out.max()) < info.vocab_size


def check_determinism(name: str, overrides: dict[str, Any] | None = None) -> None:
    """The same seed gives the same initial weights and the same loss."""
    m1, m2 = _build(name, overrides, seed=11), _build(name, overrides, seed=11)
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), f"{name}: parameter {k} differs between two builds with the same seed"
    batch = _batch(m1)
    losses = []
    for m in (m1, m2):
        torch.manual_seed(5)
        losses.append(float(m.training_step(batch, StepContext(optimizer=_names(m)[0])).loss.detach()))
    assert losses[0] == losses[1], f"{name}: same seed, different losses {losses}"
    m3 = _build(name, overrides, seed=12)
    assert any(not torch.equal(a, b) for a, b in zip(m1.parameters(), m3.parameters())), f"{name}: the seed has no effect"


CHECKS: list[Callable[..., None]] = [
    check_forward,
    check_backward,
    check_loss_decreases,
    check_save_load,
    check_sampling_shapes,
    check_determinism,
]


def run_conformance(name: str, overrides: dict[str, Any] | None = None) -> None:
    """Run every check on model ``name``; the first failure raises AssertionError."""
    for check in CHECKS:
        check(name, overrides)

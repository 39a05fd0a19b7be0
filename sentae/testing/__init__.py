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

from ..api import create_model, load_model
from ..generation.decoding import DecodeConfig
from ..model import SentaeModel, StepContext, StepOutput, has_latent, is_controllable, is_sentence_model
from ..registry import REGISTRY
from ..run import RunFolder

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
    # model(batch) works like any nn.Module's call (hooks, torch.compile, other trainers): the first optimizer's
    # loss, through forward hooks, with a gradient
    seen = []
    handle = model.register_forward_hook(lambda module, args, output: seen.append(output))
    try:
        out = model(batch)
    finally:
        handle.remove()
    assert isinstance(out, StepOutput) and seen and seen[0] is out, f"{name}: model(batch) is not a StepOutput"
    assert out.loss.dim() == 0 and torch.isfinite(out.loss), f"{name}: model(batch) loss {out.loss}"
    assert out.loss.requires_grad, f"{name}: model(batch) loss carries no gradient"


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
    """A saved model folder -> load_model restores identical weights and identical validation outputs."""
    model = _build(name, overrides)
    batch = _batch(model)
    with torch.no_grad():  # perturb, so that defaults cannot pass for restored weights
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    with tempfile.TemporaryDirectory() as tmp:
        RunFolder(tmp).save_model(model)  # weights and description only: no tokenizer is needed to load a model
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


def _text_inputs(model: SentaeModel, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    batch = _batch(model, seed)
    return batch["tokens"], batch["lengths"]


def _codes(model: SentaeModel, n: int, seed: int = 4) -> torch.Tensor | None:
    """What the model decodes from: nothing (a language model), z, or [z, c] for a controllable model."""
    if not has_latent(model):
        return None
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.latent_size, generator=g)
    if is_controllable(model):
        z = model.full_code(z, model.random_attributes(n, "cpu", g))
    return z


def check_text_contract(name: str, overrides: dict[str, Any] | None = None) -> None:
    """A text model declares what it is (``SentenceModel``, ``LatentTextModel``, ``ControllableTextModel``) with
    members of the right shapes: encode_stats gives ``[B, latent]`` means (and log-variances exactly when the
    model is stochastic), sentence_nll gives a finite, positive ``[B]`` and depends on the code it is given."""
    model = _build(name, overrides)
    if model.data_info.modality != "text" or not is_sentence_model(model):
        return  # image models and classifiers have no sentence likelihood
    model.eval()
    tokens, lengths = _text_inputs(model)
    b = len(tokens)
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(0)
        z = None
        if has_latent(model):
            mu, logvar = model.encode_stats(tokens, lengths)
            assert tuple(mu.shape) == (b, model.latent_size), f"{name}: encode_stats mean has shape {tuple(mu.shape)}"
            if model.stochastic:
                assert logvar is not None and logvar.shape == mu.shape, f"{name}: a stochastic model needs log-variances"
            else:
                assert logvar is None, f"{name}: a deterministic encoder (stochastic=False) returns logvar None"
            z = mu
        nll = model.sentence_nll(tokens, lengths, z)
        assert tuple(nll.shape) == (b,), f"{name}: sentence_nll should be [B], got {tuple(nll.shape)}"
        assert bool(torch.isfinite(nll).all()) and bool((nll > 0).all()), f"{name}: sentence_nll not finite and > 0"
        if z is not None:
            other = model.sentence_nll(tokens, lengths, z + 3.0)
            assert not torch.allclose(nll, other), f"{name}: sentence_nll does not depend on the code"
    if is_controllable(model):
        attrs = model.random_attributes(b, "cpu", torch.Generator().manual_seed(0))
        assert set(attrs) == set(model.controlled), f"{name}: random_attributes keys differ from controlled"
        read = model.predict_attributes(tokens, lengths)
        assert set(read) == set(model.controlled), f"{name}: predict_attributes keys differ from controlled"
        code = model.full_code(torch.zeros(b, model.latent_size), attrs)
        assert code.shape[0] == b and code.shape[1] > model.latent_size, f"{name}: full_code should be [B, > latent]"


def check_decoding(name: str, overrides: dict[str, Any] | None = None) -> None:
    """generate decodes through sentae's shared decoding: greedy, beam search of width 1 and sampling restricted
    to the top token give the same sentences; sampling is repeatable under a seed; every sequence is at most
    max_length tokens of the vocabulary with nothing but padding after its eos."""
    model = _build(name, overrides)
    if model.data_info.modality != "text" or not is_sentence_model(model):
        return
    model.eval()
    info = model.data_info
    n, max_length = 5, 9
    z = _codes(model, n)
    with torch.no_grad():
        greedy = model.generate(z, n, DecodeConfig(strategy="greedy", max_length=max_length))
        beam1 = model.generate(z, n, DecodeConfig(strategy="beam", beam=1, max_length=max_length))
        top1 = model.generate(z, n, DecodeConfig(strategy="sample", top_k=1, max_length=max_length),
                              torch.Generator().manual_seed(0))
        samples = [model.generate(z, n, DecodeConfig(strategy="sample", max_length=max_length),
                                  torch.Generator().manual_seed(7)) for _ in range(2)]
        beam = model.generate(z, n, DecodeConfig(strategy="beam", beam=3, max_length=max_length))
    for label, out in (("greedy", greedy), ("beam", beam), ("sample", samples[0])):
        assert out.dim() == 2 and out.shape[0] == n and out.shape[1] <= max_length, \
            f"{name}: {label} output has shape {tuple(out.shape)} (expected [{n}, <= {max_length}])"
        assert out.dtype == torch.long and int(out.min()) >= 0 and int(out.max()) < info.vocab_size, \
            f"{name}: {label} output has ids outside the vocabulary"
        for row in out.tolist():
            if info.eos_id in row:
                tail = row[row.index(info.eos_id) + 1 :]
                assert all(t == info.pad_id for t in tail), f"{name}: {label} output continues after eos: {row}"
    width = min(greedy.shape[1], beam1.shape[1], top1.shape[1])
    assert torch.equal(greedy[:, :width], beam1[:, :width]), f"{name}: beam search of width 1 differs from greedy"
    assert torch.equal(greedy[:, :width], top1[:, :width]), f"{name}: top-1 sampling differs from greedy"
    assert torch.equal(samples[0], samples[1]), f"{name}: sampling with the same seed gives different sentences"


CHECKS: list[Callable[..., None]] = [
    check_forward,
    check_backward,
    check_loss_decreases,
    check_save_load,
    check_sampling_shapes,
    check_determinism,
    check_text_contract,
    check_decoding,
]


def run_conformance(name: str, overrides: dict[str, Any] | None = None) -> None:
    """Run every check on model ``name``; the first failure raises AssertionError."""
    for check in CHECKS:
        check(name, overrides)

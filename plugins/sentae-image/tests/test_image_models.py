"""sparse_ae, contractive_ae, deep_ae and the RBM: conformance in their non-default modes, the contractive penalty
against finite differences, CD against its textbook update, and the deep model's training phases."""
import itertools
import math

import pytest
import torch

import sentae
from sentae import StepContext
from sentae.errors import ConfigError
from sentae.testing import CHECKS, check_determinism, check_forward, check_loss_decreases, check_save_load
from sentae_image.contractive_ae import autograd_jacobian_frob2, sigmoid_jacobian_frob2
from sentae_image.rbm import RBM, cd_loss, free_energy, gibbs_negative, hidden_mean
from sentae_image.sparse_ae import hoyer_sparsity, kl_sparsity

VARIANTS = {
    "sparse_l1_relu": ("sparse_ae", {"hidden_size": 13, "penalty": "l1", "activation": "relu", "sparsity_weight": 0.1}),
    "sparse_kl_denoising": ("sparse_ae", {"hidden_size": 13, "noise_std": 0.2, "mask_prob": 0.3}),
    "contractive_deep_autograd": ("contractive_ae", {"hidden_sizes": [13, 7], "contraction": 0.5}),
    "deep_no_pretraining": ("deep_ae", {"hidden_sizes": [13, 9, 7]}),
}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_conforms(variant, check):
    name, overrides = VARIANTS[variant]
    overrides = dict(overrides, pretrain_steps=0) if name == "deep_ae" else overrides
    check(name, overrides)


# check_backward does not apply while pre-training: a CD step reaches only one RBM's parameters by design
@pytest.mark.parametrize("check", [check_forward, check_loss_decreases, check_save_load, check_determinism],
                         ids=lambda c: c.__name__)
def test_deep_ae_with_pretraining_conforms(check):
    check("deep_ae", {"hidden_sizes": [13, 9, 7], "pretrain_steps": 3})


@pytest.mark.parametrize("name, bad, key", [
    ("sparse_ae", {"penalty": "kl", "activation": "relu"}, "needs activations in"),
    ("sparse_ae", {"target": 1.5}, "'model.target' must be in"),
    ("contractive_ae", {"hidden_sizes": [9, 5], "jacobian": "closed_form"}, "single sigmoid layer"),
    ("deep_ae", {"hidden_sizes": []}, "'model.hidden_sizes' must be a non-empty list"),
    ("conv_ae", {"mask_prob": 1.0}, "'model.mask_prob' must be in"),
])
def test_bad_settings_are_config_errors(name, bad, key):
    with pytest.raises(ConfigError, match=key):
        sentae.load_recipe({"model": {"type": name, **bad}})


# -- contractive ------------------------------------------------------------------------------------------------

@torch.no_grad()
def test_closed_form_jacobian_norm_equals_finite_differences():
    torch.manual_seed(0)
    model = sentae.create_model("contractive_ae", hidden_sizes=[7]).double()
    x = torch.rand(3, *model.image_shape, dtype=torch.float64)
    _, closed = model.encode_with_jacobian(x)
    eps = 1e-6
    flat = x.flatten(1)
    for n in range(len(flat)):
        columns = []
        for i in range(flat.shape[1]):  # central differences, one input pixel at a time
            step = torch.zeros_like(flat[n]).index_fill_(0, torch.tensor([i]), eps)
            columns.append((model.encoder(flat[n] + step) - model.encoder(flat[n] - step)) / (2 * eps))
        fd = torch.stack(columns, 1).pow(2).sum()
        assert float(closed[n]) == pytest.approx(float(fd), rel=1e-7)


def test_autograd_jacobian_equals_closed_form_and_trains():
    torch.manual_seed(1)
    model = sentae.create_model("contractive_ae", hidden_sizes=[7], jacobian="autograd")
    assert not model.closed_form
    x = torch.rand(5, *model.image_shape)
    h, auto = model.encode_with_jacobian(x)
    closed = sigmoid_jacobian_frob2(h, model.encoder[0].weight)
    assert torch.allclose(auto, closed, rtol=1e-5)
    auto.sum().backward()  # the penalty reaches the encoder weights through the batched vector-Jacobian products
    assert model.encoder[0].weight.grad.abs().sum() > 0
    with torch.no_grad():  # validation runs under no_grad: still computed, without a graph
        _, again = autograd_jacobian_frob2(model.encoder, x.flatten(1))
    assert not again.requires_grad and torch.allclose(again, auto.detach())


def train_last_metrics(model, steps: int, data_seed: int) -> dict[str, float]:
    """Adam (lr 0.01) on one fixed batch of 32 random images for ``steps`` steps; the last step's metrics."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.rand(32, *model.image_shape, generator=torch.Generator().manual_seed(data_seed))
    for step in range(steps):
        opt.zero_grad()
        out = model.training_step({"image": x}, StepContext(step=step))
        out.loss.backward()
        opt.step()
    return {k: float(v) for k, v in out.metrics.items()}


def test_contraction_shrinks_the_jacobian_norm():
    norms = []
    for lam in (0.0, 5.0):
        torch.manual_seed(2)
        model = sentae.create_model("contractive_ae", hidden_sizes=[11], contraction=lam)
        norms.append(train_last_metrics(model, steps=60, data_seed=3)["jacobian_frob2"])
    assert norms[1] < 0.5 * norms[0], norms


# -- sparse -----------------------------------------------------------------------------------------------------

def test_kl_sparsity_by_hand():
    h = torch.tensor([[0.1, 0.4], [0.3, 0.6]])  # unit means 0.2 and 0.5
    rho = 0.2
    expected = 0.0 + (rho * math.log(rho / 0.5) + (1 - rho) * math.log((1 - rho) / 0.5))
    assert float(kl_sparsity(h, rho)) == pytest.approx(expected, rel=1e-6)


def test_hoyer_sparsity_bounds():
    assert float(hoyer_sparsity(torch.tensor([[0.0, 0.0, 3.0]]))) == pytest.approx(1.0)
    assert float(hoyer_sparsity(torch.tensor([[2.0, 2.0, 2.0]]))) == pytest.approx(0.0, abs=1e-6)


def test_sparsity_penalty_lowers_mean_activation():
    means = []
    for weight in (0.0, 3.0):
        torch.manual_seed(4)
        model = sentae.create_model("sparse_ae", hidden_size=17, sparsity_weight=weight, target=0.05)
        means.append(train_last_metrics(model, steps=80, data_seed=5)["mean_activation"])
    assert means[1] < 0.15 < means[0], means


# -- RBM --------------------------------------------------------------------------------------------------------

def test_bernoulli_free_energy_matches_brute_force():
    torch.manual_seed(6)
    w, b, c = torch.randn(3, 4, dtype=torch.float64), torch.randn(4, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    v = torch.rand(2, 4, dtype=torch.float64)
    hs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)), dtype=torch.float64)  # all 8 hidden states
    energy = -(v @ b)[:, None] - hs @ c - (v @ w.t()) @ hs.t()  # E(v, h) for each v and h
    expected = -torch.logsumexp(-energy, dim=1)
    assert torch.allclose(free_energy(v, w, b, c, "bernoulli"), expected)


def test_cd_surrogate_gradient_is_the_cd_update():
    torch.manual_seed(7)
    for hidden in ("bernoulli", "gaussian"):
        rbm = RBM(6, 4, hidden, init_std=0.3).double()
        v = torch.rand(5, 6, dtype=torch.float64)
        v_model = gibbs_negative(v, rbm.weight, rbm.vis_bias, rbm.hid_bias, hidden, 1, torch.Generator().manual_seed(8))
        cd_loss(v, rbm.weight, rbm.vis_bias, rbm.hid_bias, hidden, 1, torch.Generator().manual_seed(8)).backward()
        with torch.no_grad():
            hd = hidden_mean(v, rbm.weight, rbm.hid_bias, hidden)
            hm = hidden_mean(v_model, rbm.weight, rbm.hid_bias, hidden)
            update_w = (hd.t() @ v - hm.t() @ v_model) / len(v)  # <h v>_data - <h v>_model
        assert torch.allclose(-rbm.weight.grad, update_w)
        assert torch.allclose(-rbm.vis_bias.grad, (v - v_model).mean(0))
        assert torch.allclose(-rbm.hid_bias.grad, (hd - hm).mean(0))


def test_cd1_through_the_trainer_lowers_the_rbm_reconstruction_error_on_digits(tmp_path):
    """deep_ae's first RBM, pre-trained with CD-1 by the Trainer (the only loop that trains), on 600 digits."""
    import json

    recipe = {"name": "rbm", "model": {"type": "deep_ae", "hidden_sizes": [40, 7], "pretrain_steps": 400},
              "data": {"source": "digits", "limit": 600},
              "train": {"max_steps": 400, "batch_size": 100, "lr": 3e-3, "log_every": 20, "eval_every": 0,
                        "ckpt_every": 0, "progress": "none", "threads": 1}}
    run = sentae.train(recipe, out=tmp_path / "run")
    logged = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    errors = [r["rbm0_recon_sse"] for r in logged if r.get("split") == "train" and "rbm0_recon_sse" in r]
    assert len(errors) == 20 and errors[-1] < 0.5 * errors[0], errors  # about 7.8 (steps 0-19) -> 1.5
    model = sentae.load_model(run.path)
    assert int(model.pretrained_layers) == 1 and not int(model.unrolled)  # only RBM 0 had its steps


# -- deep_ae phases ---------------------------------------------------------------------------------------------

def _grads(model, batch, step):
    model.zero_grad(set_to_none=True)
    model.training_step(batch, StepContext(step=step, total_steps=100)).loss.backward()
    return {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}


def test_deep_ae_pretrains_layer_by_layer_then_unrolls():
    torch.manual_seed(9)
    model = sentae.create_model("deep_ae", hidden_sizes=[13, 9, 7], pretrain_steps=2)
    batch = model.example_batch(6, torch.Generator().manual_seed(1))
    assert [model.pretrain_layer(StepContext(step=s)) for s in range(7)] == [0, 0, 1, 1, 2, 2, None]
    assert model.pretrain_layer(StepContext(step=0, training=False)) is None  # validation scores the autoencoder
    assert _grads(model, batch, 0) == {"encoder.0.weight", "encoder.0.bias", "decoder.0.bias"}
    assert _grads(model, batch, 3) == {"encoder.1.weight", "encoder.1.bias", "decoder.1.bias"}
    assert _grads(model, batch, 5) == {"encoder.2.weight", "encoder.2.bias", "decoder.2.bias"}
    assert int(model.pretrained_layers) == 3 and not int(model.unrolled)
    out = model.training_step(batch, StepContext(step=6))  # first fine-tuning step unrolls the stack
    assert int(model.unrolled) == 1
    for enc, dec in zip(model.encoder, model.decoder):
        assert torch.equal(dec.weight, enc.weight.t())
    assert "sse" in out.metrics
    assert len(_grads(model, batch, 7)) == len(list(model.parameters()))  # fine-tuning reaches every parameter


def test_deep_ae_decoder_reads_tied_weights_until_unrolled():
    torch.manual_seed(10)
    model = sentae.create_model("deep_ae", hidden_sizes=[9, 5], pretrain_steps=1)
    batch = model.example_batch(4, torch.Generator().manual_seed(2))
    model.training_step(batch, StepContext(step=0))
    code = torch.randn(3, 5)
    tied = model.decode_logits(code)
    with torch.no_grad():
        for enc, dec in zip(model.encoder, model.decoder):
            dec.weight.copy_(enc.weight.t())
    model.unrolled.fill_(1)
    assert torch.allclose(model.decode_logits(code), tied)

"""conv_vae's KL term follows the shared schedules and free bits; held-out numbers are the ELBO whatever the step."""
import pytest
import torch

import sentae
from sentae import StepContext
from sentae.nn.free_bits import kl_penalty
from sentae.registry import REGISTRY

SMALL = REGISTRY.get("conv_vae").tiny_config


def _batch(model):
    return {"image": torch.rand(6, *model.image_shape, generator=torch.Generator().manual_seed(0))}


def test_kl_weight_follows_the_schedule_and_free_bits_floor_the_penalty():
    model = sentae.create_model("conv_vae", kl={"kind": "linear", "warmup_steps": 100}, free_bits=3.0, **SMALL)
    batch = _batch(model)
    outs = {}
    for step in (0, 50, 100):
        torch.manual_seed(1)
        outs[step] = model.training_step(batch, StepContext(step=step, total_steps=200))
    assert [outs[s].metrics["beta"] for s in (0, 50, 100)] == [0.0, 0.5, 1.0]
    # same noise draws: the loss at beta 1 minus the one at beta 0 is the free-bits penalty
    penalty = (outs[100].loss - outs[0].loss).detach()
    assert float(penalty) >= 3.0 * SMALL["latent_size"] - 1e-4  # every dimension floored at 3 nats
    mu, logvar = model.encode_stats(batch["image"])
    from sentae.nn import gaussian_kl

    assert torch.allclose(penalty, kl_penalty(gaussian_kl(mu, logvar), 3.0), atol=1e-4)


def test_held_out_loss_is_the_elbo_at_beta_one():
    model = sentae.create_model("conv_vae", kl={"kind": "linear", "warmup_steps": 100}, free_bits=3.0, **SMALL)
    model.eval()
    batch = _batch(model)
    torch.manual_seed(2)
    out = model.training_step(batch, StepContext(step=0, total_steps=200, training=False))
    assert out.metrics["beta"] == 1.0
    assert torch.allclose(out.loss, out.metrics["bce"] + out.metrics["kl"], atol=1e-4)  # no free bits either
    report = model.evaluate([batch])
    assert report["active_units"] <= SMALL["latent_size"] and "kl_dim/6" in report and "kl_dim/7" not in report
    assert report["elbo_per_image"] == pytest.approx(-(report["rec_nll_per_image"] + report["kl_per_image"]))


def test_free_bits_modes():
    kl = torch.tensor([[0.1, 2.0], [0.3, 2.0]])
    assert float(kl_penalty(kl)) == pytest.approx(2.2)
    assert float(kl_penalty(kl, 0.5)) == pytest.approx(2.5)  # dimension 0: batch mean 0.2 floored at 0.5
    assert float(kl_penalty(kl, 3.0, "total")) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="free_bits_mode"):
        kl_penalty(kl, 1.0, "sum")

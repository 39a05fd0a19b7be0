import pytest
import torch

import sentae
from sentae.testing import CHECKS

# Dimensions that differ from each other, so a swapped dimension cannot pass by coincidence.
SMALL = {"hidden_size": 13, "latent_size": 7}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(check):
    check("mlp_vae", SMALL)


def test_registered_through_entry_point():
    entry = sentae.REGISTRY.entry("mlp_vae")
    assert entry.distribution == "sentae-plugin-template"
    assert entry.target == "sentae_plugin_template.mlp_vae:MLPVAE"


def test_beta_zero_is_a_plain_autoencoder_loss():
    model = sentae.create_model("mlp_vae", beta=0.0, **SMALL)
    model.eval()  # z = mu: the loss is then exactly the reconstruction term
    batch = model.example_batch(4, torch.Generator().manual_seed(0))
    out = model.training_step(batch, sentae.StepContext())
    assert torch.allclose(out.loss, out.metrics["recon"])

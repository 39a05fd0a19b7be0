import pytest
import torch

import sentae
from sentae.testing import CHECKS

# Every model this distribution registers, found through the registry: a model added later is tested too.
MODELS = sorted(e.name for e in sentae.list_models() if e.distribution == "sentae-plugin-template")
SMALL = sentae.REGISTRY.get("mlp_vae").tiny_config  # the model's own tiny sizes, not a copy


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", MODELS)
def test_conformance(name, check):
    check(name)  # on the model's tiny_config and its (non-square) default images


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

import pytest
import torch

import sentae
from sentae.testing import CHECKS

SMALL = {"channels": [5, 11], "code_size": 7}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(check):
    check("conv_ae", SMALL)


def test_odd_image_size_reconstructs_to_the_same_shape():
    info = sentae.DataInfo(modality="image", image_shape=(3, 7, 9))
    model = sentae.create_model("conv_ae", data_info=info, **SMALL)
    x = torch.rand(2, 3, 7, 9)
    assert model.reconstruct(x).shape == x.shape


def test_denoising_noise_only_while_training():
    model = sentae.create_model("conv_ae", mask_prob=0.5, **SMALL)
    x = torch.ones(2, 1, 8, 8)
    model.train()
    assert (model.corrupt(x) == 0).any()
    model.eval()
    assert torch.equal(model.corrupt(x), x)

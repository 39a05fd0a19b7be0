import pytest
import torch

import sentae
from sentae.registry import REGISTRY

SMALL = REGISTRY.get("conv_ae").tiny_config


def test_odd_image_size_reconstructs_to_the_same_shape():
    info = sentae.DataInfo(modality="image", image_shape=(3, 7, 9))
    model = sentae.create_model("conv_ae", data_info=info, **SMALL)
    x = torch.rand(2, 3, 7, 9)
    assert model.reconstruct(x).shape == x.shape


def test_denoising_noise_only_while_training():
    model = sentae.create_model("conv_ae", mask_prob=0.5, **SMALL)
    x = torch.ones(2, *model.image_shape)
    model.train()
    assert (model.corrupt(x) == 0).any()
    model.eval()
    assert torch.equal(model.corrupt(x), x)


def test_random_shift_moves_each_image_by_its_own_offset_within_bounds():
    from sentae_image.noise import random_shift

    torch.manual_seed(0)
    x = torch.zeros(200, 2, 9, 9)
    x[:, :, 4, 4] = 1.0  # one lit pixel in the centre of both channels
    y = random_shift(x, 2)
    assert y.shape == x.shape
    lit = [(img[0] == 1).nonzero().tolist() for img in y]
    assert all(len(p) == 1 for p in lit)  # moved, not smeared or lost
    offsets = {(p[0][0] - 4, p[0][1] - 4) for p in lit}
    assert offsets == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}  # all 25 offsets, nothing further
    assert torch.equal(y[:, 0], y[:, 1])  # channels of one image move together
    assert torch.equal(random_shift(x, 0), x)


def test_shift_augmentation_only_while_training():
    model = sentae.create_model("conv_ae", shift_pixels=1, **SMALL)
    x = torch.zeros(64, *model.image_shape)
    x[:, :, 3, 3] = 1.0
    model.train()
    assert not torch.equal(model.augment(x), x)
    model.eval()
    assert torch.equal(model.augment(x), x)
    with pytest.raises(sentae.errors.ConfigError, match="'model.shift_pixels' must be at least 0, got -1"):
        sentae.load_recipe({"model": {"type": "conv_ae", "shift_pixels": -1}})

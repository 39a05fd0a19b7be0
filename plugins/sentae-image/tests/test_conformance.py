"""Every model of this distribution passes the conformance kit on its tiny_config and non-square default images,
found through the registry, so a new variant is tested without new test code."""
import pytest

import sentae
from sentae.registry import REGISTRY
from sentae.testing import CHECKS

MODELS = sorted(e.name for e in sentae.list_models() if e.distribution == "sentae-image")


def test_the_distribution_registers_its_models():
    assert {"conv_ae", "conv_vae", "image_aae", "sparse_ae", "contractive_ae", "deep_ae"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_tiny_config_and_default_images_have_no_two_equal_sizes(name):
    config = REGISTRY.get(name).tiny_config
    assert config, f"{name} declares no tiny_config"
    sizes = [v for value in config.values() for v in (value if isinstance(value, list) else [value])
             if isinstance(v, int) and not isinstance(v, bool) and v > 1]
    assert len(sizes) == len(set(sizes)), f"{name}: tiny_config repeats a size: {config}"
    _, height, width = REGISTRY.get(name).default_data_info().image_shape
    assert height != width, f"{name}: square default images cannot catch a transposed height and width"


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", MODELS)
def test_conforms(name, check):
    check(name)

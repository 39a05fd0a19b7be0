"""Every model of this distribution passes the conformance kit on its tiny_config, found through the registry, so
a new variant is tested without new test code."""
import dataclasses

import pytest

import sentae
from sentae.registry import REGISTRY
from sentae.testing import CHECKS

MODELS = sorted(e.name for e in sentae.list_models() if e.distribution == "sentae-text")
# the variants whose generator ends in sentae's vocabulary output layer (full or adaptive softmax)
WITH_SOFTMAX = [n for n in MODELS if "softmax" in {f.name for f in dataclasses.fields(REGISTRY.get(n).config_class)}]
ADAPTIVE = {"softmax": {"kind": "adaptive", "cutoffs": [9, 20]}}  # the default vocabulary has 37 tokens


def test_the_distribution_registers_its_models():
    assert {"rnn_lm", "rnn_vae", "dae", "aae", "daae", "ctrl_vae", "text_classifier"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_tiny_config_sizes_differ_from_each_other(name):
    config = REGISTRY.get(name).tiny_config
    assert config, f"{name} declares no tiny_config"
    sizes = [v for value in config.values() for v in (value if isinstance(value, list) else [value])
             if isinstance(v, int) and not isinstance(v, bool) and v > 1]
    assert len(sizes) == len(set(sizes)), f"{name}: tiny_config repeats a size: {config}"


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", MODELS)
def test_conforms(name, check):
    check(name)


@pytest.mark.parametrize("name", WITH_SOFTMAX)
def test_adaptive_softmax_conforms(name):
    from sentae.nn import AdaptiveSoftmax

    overrides = {**REGISTRY.get(name).tiny_config, **ADAPTIVE}
    assert isinstance(sentae.create_model(name, **overrides).decoder.output, AdaptiveSoftmax)
    for check in CHECKS:
        check(name, overrides)

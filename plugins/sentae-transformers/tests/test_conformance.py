"""transformer_vae passes the conformance kit: on its tiny_config (BERT and GPT-2 configs built for sentae's own
ids, no files at all) and, in test_pretrained.py, on tiny pretrained folders with their own tokenizers."""
import pytest

import sentae
from sentae.registry import REGISTRY
from sentae.testing import CHECKS


def test_the_distribution_registers_its_model():
    names = {e.name for e in sentae.list_models() if e.distribution == "sentae-transformers"}
    assert names == {"transformer_vae"}


def test_tiny_config_sizes_differ_from_each_other():
    config = REGISTRY.get("transformer_vae").tiny_config
    sizes = [v for value in config.values() for v in (value.values() if isinstance(value, dict) else [value])
             if isinstance(v, int) and not isinstance(v, bool) and v > 1]
    assert len(sizes) > 8 and len(sizes) == len(set(sizes)), f"tiny_config repeats a size: {config}"


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conforms(check):
    check("transformer_vae")


@pytest.mark.parametrize("overrides", [{"z_memory": False}, {"z_embedding": False, "memory_length": 2}],
                         ids=["embedding_only", "memory_only"])
def test_each_way_of_z_into_the_decoder_conforms(overrides):
    config = {**REGISTRY.get("transformer_vae").tiny_config, **overrides}
    for check in CHECKS:
        check("transformer_vae", config)

"""Every registered model passes the conformance kit, without new test code per model (as timm does)."""
import pytest
import torch

import sentae
from sentae.testing import CHECKS

MODELS = [e.name for e in sentae.list_models()]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", MODELS)
def test_registered_model_conforms(name, check):
    check(name)


def test_every_recipe_validates():
    from pathlib import Path

    recipes = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.yaml"))
    assert recipes
    for path in recipes:
        sentae.load_recipe(path)


def _rnn_vae():
    from sentae.registry import REGISTRY

    return REGISTRY.get("rnn_vae")


def _narrow_means(self, tokens, lengths):  # means of the wrong width: one dimension dropped
    mu, logvar = _rnn_vae().encode_stats(self, tokens, lengths)
    return mu[:, 1:], logvar[:, 1:]


def _ignores_code(self, tokens, lengths, z):  # a decoder that does not read the code
    return _rnn_vae().sentence_nll(self, tokens, lengths, None if z is None else z * 0)


def _never_stops(self, z, n, config=None, generator=None):  # eos, then more words instead of padding
    return torch.full((n, 4), self.data_info.eos_id, dtype=torch.long)


@pytest.mark.parametrize("member, replacement, check_name, message", [
    ("encode_stats", _narrow_means, "check_text_contract", "encode_stats mean has shape"),
    ("sentence_nll", _ignores_code, "check_text_contract", "does not depend on the code"),
    ("generate", _never_stops, "check_decoding", "continues after eos"),
])
def test_the_text_checks_catch_a_broken_model(member, replacement, check_name, message):
    import sentae.testing as kit
    from sentae.registry import REGISTRY

    base = _rnn_vae()
    name = f"broken_{member}"
    REGISTRY.register(type(f"Broken_{member}", (base,), {"name": name, member: replacement}), name=name)
    try:
        with pytest.raises(AssertionError, match=message):
            getattr(kit, check_name)(name)
        getattr(kit, check_name)("rnn_vae")  # the unbroken model passes the same check
    finally:
        REGISTRY.unregister(name)

"""Every registered model passes the conformance kit, without new test code per model (as timm does)."""
import pytest

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

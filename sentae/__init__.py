"""sentae: autoencoders, sentences first.

>>> import sentae
>>> [e.name for e in sentae.list_models()]            # doctest: +SKIP
>>> run = sentae.train("recipes/quickstart.yaml")     # doctest: +SKIP
>>> sampler = sentae.load(run.path)                   # doctest: +SKIP
"""
from __future__ import annotations

__version__ = "0.1.0"

from .api import create_model, list_models, load, load_model, save_pretrained, train
from .config import load_recipe
from .errors import SentaeError
from .model import DataInfo, SentaeModel, StepContext, StepOutput
from .registry import PLUGIN_API_VERSION, REGISTRY, register

__all__ = [
    "__version__",
    "PLUGIN_API_VERSION",
    "REGISTRY",
    "DataInfo",
    "SentaeError",
    "SentaeModel",
    "StepContext",
    "StepOutput",
    "create_model",
    "list_models",
    "load",
    "load_model",
    "load_recipe",
    "register",
    "save_pretrained",
    "train",
]

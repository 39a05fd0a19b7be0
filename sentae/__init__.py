"""sentae: autoencoders, sentences first.

>>> import sentae
>>> [e.name for e in sentae.list_models()]            # doctest: +SKIP
>>> run = sentae.train("recipes/quickstart.yaml")     # doctest: +SKIP
>>> sampler = sentae.load(run.path)                   # doctest: +SKIP
>>> report = sentae.evaluate(run.path, iw_samples=50)  # doctest: +SKIP
>>> sentae.push_to_hub(run.path, "me/quickstart")      # doctest: +SKIP
>>> sampler = sentae.load("hf://me/quickstart")        # doctest: +SKIP
"""
from __future__ import annotations

from .version import __version__

from .api import (create_model, evaluate, format_report, list_models, load, load_model, model_info, push_to_hub,
                  save_pretrained, train, write_model_card)
from .api import denoise, encode, score
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
    "denoise",
    "encode",
    "evaluate",
    "format_report",
    "list_models",
    "load",
    "load_model",
    "load_recipe",
    "model_info",
    "push_to_hub",
    "register",
    "save_pretrained",
    "score",
    "train",
    "write_model_card",
]

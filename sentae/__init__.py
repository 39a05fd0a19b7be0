"""sentae: autoencoders, sentences first.

>>> import sentae
>>> [e.name for e in sentae.list_models()]            # doctest: +SKIP
>>> run = sentae.train("recipes/quickstart.yaml")     # doctest: +SKIP
>>> sampler = sentae.load(run.path)                   # doctest: +SKIP
>>> report = sentae.evaluate(run.path, iw_samples=50)  # doctest: +SKIP
>>> sentae.push_to_hub(run.path, "me/quickstart")      # doctest: +SKIP
>>> sampler = sentae.load("hf://me/quickstart")        # doctest: +SKIP

The names below are imported the first time they are used (PEP 562), so that ``import sentae`` and the command
line's ``--help``, ``--version``, ``list`` and shell completion do not pay for torch (seconds) before they need it.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

# public name -> the module (under sentae) that defines it
_EXPORTS: dict[str, str] = {
    "create_model": "api", "evaluate": "api", "format_report": "api", "list_models": "api", "load": "api",
    "load_model": "api", "model_info": "api", "push_to_hub": "api", "save_pretrained": "api", "train": "api",
    "write_model_card": "api", "denoise": "api", "encode": "api", "score": "api",
    "load_recipe": "config",
    "SentaeError": "errors",
    "DataInfo": "model", "SentaeModel": "model", "StepContext": "model", "StepOutput": "model",
    "PLUGIN_API_VERSION": "registry", "REGISTRY": "registry", "register": "registry",
}

__all__ = [  # the same names as _EXPORTS, spelled out for readers and linters
    "__version__", "DataInfo", "PLUGIN_API_VERSION", "REGISTRY", "SentaeError", "SentaeModel", "StepContext",
    "StepOutput", "create_model", "denoise", "encode", "evaluate", "format_report", "list_models", "load",
    "load_model", "load_recipe", "model_info", "push_to_hub", "register", "save_pretrained", "score", "train",
    "write_model_card",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sentae' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # what static checkers and IDEs see: the same names, imported eagerly
    from .api import (create_model, denoise, encode, evaluate, format_report, list_models, load, load_model,
                      model_info, push_to_hub, save_pretrained, score, train, write_model_card)
    from .config import load_recipe
    from .errors import SentaeError
    from .model import DataInfo, SentaeModel, StepContext, StepOutput
    from .registry import PLUGIN_API_VERSION, REGISTRY, register

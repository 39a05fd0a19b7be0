"""Train what a recipe describes: resolve it, build its data and model, prepare the run folder, run the Trainer.

This is ``sentae.train`` (and ``sentae train``); it sits in the training floor so that evaluation code that trains
a judge (an attribute classifier, a language model for reverse perplexity) needs nothing above it.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from ..config import Recipe, load_recipe
from ..registry import REGISTRY
from ..run import RunFolder
from ..version import __version__
from . import distributed as dist_util
from .trainer import Trainer, TrainResult, seed_everything


@dataclass
class TrainedRun:
    """A finished (or resumed) training run: its folder, the recipe it ran and what the Trainer reported."""

    path: Path
    recipe: Recipe
    result: TrainResult

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.path)


def versions(model_name: str | None = None) -> dict[str, str]:
    """sentae's, torch's and Python's versions, and those of the plugin that provides ``model_name``."""
    out = {"sentae": __version__, "torch": str(torch.__version__), "python": platform.python_version()}
    if model_name:
        entry = REGISTRY.entry(model_name)
        out[entry.distribution] = entry.version
    return out


def resolve_recipe(recipe: str | Path | dict[str, Any] | Recipe, overrides: Sequence[str] = ()) -> Recipe:
    if isinstance(recipe, Recipe):
        return load_recipe(recipe.to_dict(), overrides) if overrides else recipe
    return load_recipe(recipe, overrides)


def train_recipe(recipe: str | Path | dict[str, Any] | Recipe, overrides: Sequence[str] = (),
                 out: str | Path | None = None, resume: bool = False) -> TrainedRun:
    """Train the model a recipe describes into the run folder ``out`` (default ``runs/<name>``)."""
    from ..data import build_data

    rec = resolve_recipe(recipe, overrides)
    run = RunFolder(Path(out) if out is not None else Path("runs") / rec.name)
    is_main = dist_util.from_env().is_main
    if resume:
        run.check_resume(rec.to_dict())
    elif is_main:
        run.prepare_fresh()  # refuses a folder sentae did not make before anything is written into it
    # One writer per run folder: rank 0 holds the lock from here to the end of training.
    lock = run.lock() if is_main else None
    try:
        if is_main:
            # again under the lock: another process may have started between the check and the lock
            run.check_resume(rec.to_dict()) if resume else run.prepare_fresh()
            run.remove_interrupted_writes()
            run.write_marker()
        data = build_data(rec.data)
        seed_everything(rec.train.seed)  # the same initial weights for the same seed
        # Through the registry, so that a config valid field by field but not for the data is a ConfigError.
        model = REGISTRY.create(rec.model.type, data.info, **_model_fields(rec))
        resolved = {**rec.to_dict(), "versions": versions(rec.model.type)}
        if is_main and not resume:
            run.write_config(resolved)
            run.write_data_setup(data)
        elif is_main:
            run.restore_tokenizer(data)
        result = Trainer(rec.train, run.path, resume=resume).fit(model, data)
        if is_main and resume:  # written only once the resumed run succeeded: a failed --resume changes nothing
            run.write_config(resolved)
    finally:
        if lock is not None:
            lock.release()
    return TrainedRun(run.path, rec, result)


def _model_fields(rec: Recipe) -> dict[str, Any]:
    """The recipe's model section as keyword overrides (validated again by the registry)."""
    fields = rec.to_dict()["model"]
    fields.pop("type")
    return fields

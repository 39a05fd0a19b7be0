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
from ..run_start import check_resume, prepare_fresh
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
                 out: str | Path | None = None, resume: bool = False, data: Any = None) -> TrainedRun:
    """Train the model a recipe describes into the run folder ``out`` (default ``runs/<name>``). ``data``:
    sentences from Python instead of ``data.source``/``data.path`` (see ``sentae.data.examples``)."""
    from ..data import build_data

    rec = resolve_recipe(recipe, overrides)
    run = RunFolder(Path(out) if out is not None else Path("runs") / rec.name)
    examples = None
    if data is not None:
        rec, examples = _with_examples(rec, data, run)
    is_main = dist_util.from_env().is_main
    if resume:
        check_resume(run, rec.to_dict())
    elif is_main:
        prepare_fresh(run)  # refuses a folder sentae did not make before anything is written into it
    # One writer per run folder: rank 0 holds the lock from here to the end of training.
    lock = run.lock() if is_main else None
    try:
        if is_main:
            # again under the lock: another process may have started between the check and the lock
            check_resume(run, rec.to_dict()) if resume else prepare_fresh(run)
            run.remove_interrupted_writes()
            run.write_marker()
        if examples is not None:
            _write_examples(Path(rec.data.path), examples)
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


def _with_examples(rec: Recipe, data: Any, run: RunFolder) -> tuple[Recipe, str]:
    """The recipe reading ``data`` from ``EXAMPLES_FILE`` in the run folder (source ``text``, JSON lines, the
    attribute columns declared), and that file's content. The recipe keeps its split and text options."""
    from ..data.examples import EXAMPLES_FILE, to_jsonl
    from ..errors import ConfigError

    if rec.data.path is not None:
        raise ConfigError(f"train(data=...): the recipe also names data.path {rec.data.path!r}; give one corpus")
    raw = rec.to_dict()
    section = dict(raw["data"])
    options = dict(section.get("options") or {}) if section.get("source") == "text" else {}
    text_column = options.get("text_column", "text")
    content, attributes = to_jsonl(data, text_column, options.get("attributes") or None)
    options.update(format="jsonl", text_column=text_column, attributes=attributes)
    section.update(source="text", path=str(run.file(EXAMPLES_FILE).resolve()), options=options)
    return resolve_recipe({**raw, "data": section}), content


def _write_examples(path: Path, content: str) -> None:
    """Write the examples unless the same are there already (a resumed run, another rank): an unchanged file
    keeps its modification time, and with it its token-cache entry."""
    from ..io import atomic_write_text

    try:
        if path.is_file() and path.read_text(encoding="utf-8") == content:
            return
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write_text(path, content)


def _model_fields(rec: Recipe) -> dict[str, Any]:
    """The recipe's model section as keyword overrides (validated again by the registry)."""
    fields = rec.to_dict()["model"]
    fields.pop("type")
    return fields

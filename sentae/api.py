"""The Python API: everything the CLI does, callable from Python. A façade over run folders, training,
generation and evaluation; it holds no logic of its own."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from .config import Recipe
from .model import DataInfo, SentaeModel
from . import registry as _registry
from .registry import ModelEntry
from .run import RunFolder
from .training.recipe import TrainedRun, train_recipe, versions


class Run(TrainedRun):
    """What ``sentae.train`` returns: the run folder, the recipe and the Trainer's result; ``load()`` gives its
    Sampler."""

    def load(self, device: str | torch.device = "cpu"):
        return load(self.path, device)


__all__ = ["Run", "create_model", "evaluate", "format_report", "list_models", "load", "load_model", "model_info",
           "save_pretrained", "train", "versions"]


def list_models(pattern: str | None = None, modality: str | None = None) -> list[ModelEntry]:
    """Registered models, by name. With ``modality`` the plugins are imported to read it.

    >>> [e.name for e in list_models("template*")]  # doctest: +SKIP
    ['mlp_vae']
    """
    return _registry.REGISTRY.entries(pattern, modality=modality)  # read at call time: tests swap it


def model_info(name: str) -> dict[str, Any]:
    """What ``sentae info NAME`` shows: origin, modality, summary, paper and every config field (nested
    settings flattened to ``a.b``) with its type, default and help.

    >>> [f["field"] for f in model_info("mlp_vae")["fields"]][:2]  # doctest: +SKIP
    ['latent_size', 'hidden_size']
    """
    return _registry.REGISTRY.describe(name)


def create_model(name: str, data_info: DataInfo | None = None, **overrides: Any) -> SentaeModel:
    """Build a registered model with its default config, updated by keyword overrides (validated).

    >>> model = create_model("mlp_vae", latent_size=5)  # doctest: +SKIP
    """
    return _registry.REGISTRY.create(name, data_info=data_info, **overrides)


def train(
    recipe: str | Path | dict[str, Any] | Recipe,
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
    resume: bool = False,
) -> Run:
    """Train the model a recipe describes and write a run folder; returns the ``Run``.

    >>> run = train("recipes/mlp_vae_digits.yaml", ["train.max_steps=20"], out="runs/demo")  # doctest: +SKIP
    >>> sampler = run.load()                                                               # doctest: +SKIP
    """
    trained = train_recipe(recipe, overrides, out=out, resume=resume)
    return Run(trained.path, trained.recipe, trained.result)


def load_model(run_dir: str | Path, device: str | torch.device = "cpu") -> SentaeModel:
    """The trained model of a run folder (or a ``save_pretrained`` folder), in eval mode."""
    return RunFolder(run_dir).load_model(device)


def save_pretrained(model: SentaeModel | Any, folder: str | Path, tokenizer: Any = None) -> Path:
    """Write a loadable folder (model.json + model.safetensors, and tokenizer.json for a text model), the
    run-folder layout that ``load`` reads. ``model`` may be a model or a Sampler from ``load`` (whose tokenizer
    is then saved too).

    >>> save_pretrained(sentae.load("runs/quickstart"), "exported/quickstart")  # doctest: +SKIP
    """
    from .errors import SentaeError

    tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    model = getattr(model, "model", model)  # a Sampler holds its model
    if model.data_info.modality == "text" and tokenizer is None:
        raise SentaeError("save_pretrained: a text model needs its tokenizer (pass tokenizer=..., or the Sampler "
                          "that sentae.load returned)")
    run = RunFolder(folder)
    run.save_model(model, tokenizer)
    return run.path


def load(run_dir: str | Path, device: str | torch.device = "cpu"):
    """A ready Sampler for a run folder: a ``TextSampler`` (with the run's tokenizer) for text models.

    >>> sampler = load("runs/mlp_vae_digits")  # doctest: +SKIP
    >>> images = sampler.sample(4)             # doctest: +SKIP
    """
    from .generation.loading import load_sampler

    return load_sampler(run_dir, device)


def evaluate(run_dir: str | Path, split: str = "test", **options: Any) -> dict[str, Any]:
    """Evaluate the model of a run folder on a held-out split, as ``sentae eval`` does; returns a JSON-ready
    report whose ``metrics`` name their units. Text runs: IW-NLL (``iw_samples`` K), perplexity, ELBO terms, KL,
    MI, active units, reconstruction BLEU, distinct-n of prior samples. Image runs: reconstruction error, the PCA
    baseline, a linear probe, and figures in ``RUN/report/``.

    >>> report = evaluate("runs/quickstart", iw_samples=50, max_sentences=200)  # doctest: +SKIP
    >>> report["metrics"]["iw_nll_nats_per_sentence"]                          # doctest: +SKIP
    >>> print(format_report(report))                                           # doctest: +SKIP
    """
    from .evaluation.runs import evaluate_run

    return evaluate_run(run_dir, split=split, **options)


def format_report(report: dict[str, Any]) -> str:
    """The readable table of a report from ``evaluate``: every row says what its number is."""
    from .evaluation.runs import format_run_report

    return format_run_report(report)

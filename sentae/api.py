"""The Python API: everything the CLI does, callable from Python."""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from .config import Recipe, dump_yaml, load_recipe
from .errors import CheckpointError, SentaeError
from .model import DataInfo, SentaeModel
from .registry import REGISTRY, ModelEntry
from .training.checkpoint import WEIGHTS, atomic_write_text, list_checkpoints, load_weights


def list_models(pattern: str | None = None, modality: str | None = None) -> list[ModelEntry]:
    """Registered models, by name. With ``modality`` the plugins are imported to read it.

    >>> [e.name for e in list_models("template*")]  # doctest: +SKIP
    ['mlp_vae']
    """
    entries = REGISTRY.entries(pattern)
    if modality is not None:
        REGISTRY.load_all()
        entries = [e for e in entries if e.cls is not None and e.cls.modality == modality]
    return entries


def create_model(name: str, data_info: DataInfo | None = None, **overrides: Any) -> SentaeModel:
    """Build a registered model with its default config, updated by keyword overrides (validated).

    >>> model = create_model("mlp_vae", latent_size=5)  # doctest: +SKIP
    """
    return REGISTRY.create(name, data_info=data_info, **overrides)


@dataclass
class Run:
    """A finished (or resumed) training run: its folder and what the Trainer reported."""

    path: Path
    recipe: Recipe
    result: Any

    def load(self):
        return load(self.path)


def versions(model_name: str | None = None) -> dict[str, str]:
    from . import __version__

    out = {"sentae": __version__, "torch": str(torch.__version__), "python": platform.python_version()}
    if model_name:
        entry = REGISTRY.entry(model_name)
        out[entry.distribution] = entry.version
    return out


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
    from .data import build_data
    from .training.distributed import from_env
    from .training.trainer import Trainer, seed_everything

    if isinstance(recipe, Recipe):
        rec = load_recipe(recipe.to_dict(), overrides) if overrides else recipe
    else:
        rec = load_recipe(recipe, overrides)
    run_dir = Path(out) if out is not None else Path("runs") / rec.name
    is_main = from_env().is_main
    if is_main and not resume:
        _prepare_fresh(run_dir)
    if resume:
        _check_resume(run_dir, rec)
    data = build_data(rec.data)
    seed_everything(rec.train.seed)  # the same initial weights for the same seed
    cls = REGISTRY.get(rec.model.type)
    model = cls(rec.model.config, data.info)
    resolved = dump_yaml({**rec.to_dict(), "versions": versions(rec.model.type)})
    if is_main and not resume:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.yaml", resolved)
        atomic_write_text(run_dir / "data_info.json", json.dumps(data.info.to_dict(), indent=2))
        data.save(run_dir)
    result = Trainer(rec.train, run_dir, resume=resume).fit(model, data)
    if is_main and resume:  # written only once the resumed run succeeded: a failed --resume changes nothing
        atomic_write_text(run_dir / "config.yaml", resolved)
    return Run(run_dir, rec, result)


# What a run writes before its first checkpoint. A folder holding only these is a run that failed while starting
# (no weights were saved), and a new run may take its place.
_SETUP_FILES = {"config.yaml", "data_info.json", "model.json", "tokenizer.json", "metrics.jsonl", "events"}


def _prepare_fresh(run_dir: Path) -> None:
    if not run_dir.exists() or not any(run_dir.iterdir()):
        return
    names = {p.name for p in run_dir.iterdir()}
    if not names <= _SETUP_FILES:
        raise SentaeError(
            f"run folder {run_dir} already exists and is not empty: pass --resume to continue it, "
            f"or choose another --out (nothing was written)"
        )
    import shutil

    for p in run_dir.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def _check_resume(run_dir: Path, rec: Recipe) -> None:
    if not list_checkpoints(run_dir):
        raise CheckpointError(f"--resume: {run_dir} has no checkpoint to resume from")
    saved = run_dir / "config.yaml"
    if saved.is_file():
        import yaml

        old = yaml.safe_load(saved.read_text(encoding="utf-8")) or {}
        new = rec.to_dict()
        for section in ("model", "data"):
            if old.get(section) != new[section]:
                raise SentaeError(
                    f"--resume: the recipe's '{section}' section differs from the one {run_dir} was trained with "
                    f"({saved}); resume with the same recipe (only train.* may change)"
                )


def load_model(run_dir: str | Path, device: str | torch.device = "cpu") -> SentaeModel:
    """The trained model of a run folder (or a ``save_pretrained`` folder), in eval mode."""
    path = Path(run_dir)
    spec_file = path / "model.json"
    if not spec_file.is_file():
        raise CheckpointError(f"{path} is not a run folder: {spec_file.name} is missing")
    try:
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{spec_file}: corrupt JSON ({exc})") from None
    model = create_model(spec["type"], DataInfo.from_dict(spec["data_info"]), **spec["config"])
    load_weights(model, path / WEIGHTS, device)
    model.to(device)
    model.eval()
    return model


def save_pretrained(model: SentaeModel, folder: str | Path) -> Path:
    """Write ``model`` as a loadable folder (model.json + model.safetensors), the run-folder layout."""
    from .training.checkpoint import save_weights

    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path / "model.json", json.dumps(model.describe(), indent=2))
    save_weights(model, path / WEIGHTS)
    return path


def load(run_dir: str | Path, device: str | torch.device = "cpu"):
    """A ready Sampler for a run folder: a ``TextSampler`` (with the run's tokenizer) for text models.

    >>> sampler = load("runs/mlp_vae_digits")  # doctest: +SKIP
    >>> images = sampler.sample(4)             # doctest: +SKIP
    """
    from .generation.sampler import Sampler

    model = load_model(run_dir, device)
    if model.data_info.modality == "text":
        from .data.tokenizers import load_tokenizer
        from .generation.text_sampler import TextSampler

        return TextSampler(model, Path(run_dir), load_tokenizer(run_dir))
    return Sampler(model, Path(run_dir))

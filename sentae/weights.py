"""Model weights as safetensors: written atomically, read strictly by name. No pickle is involved."""
from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from .errors import CheckpointError
from .io import atomic_write_with


def _public(path: Path) -> None:
    """safetensors writes files readable by their owner only; give weights the mode of every other run file."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_weights_file(model: torch.nn.Module, path: Path) -> None:
    """Write ``model``'s parameters and buffers to ``path`` as it is (not atomic: for files inside a folder that is
    itself renamed into place, such as a checkpoint). Tied weights are stored once."""
    save_model(model, str(path))
    _public(path)


def save_weights(model: torch.nn.Module, path: str | Path) -> Path:
    """Write ``model``'s parameters and buffers as safetensors, atomically."""
    return atomic_write_with(Path(path), lambda tmp: write_weights_file(model, tmp))


def load_weights(model: torch.nn.Module, path: str | Path, device: str | torch.device = "cpu") -> None:
    """Load weights saved by ``save_weights`` into ``model``; every tensor name must match."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights not found: {path}")
    try:
        missing, unexpected = load_model(model, str(path), strict=False, device=str(device))
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read weights, the file is truncated or corrupt ({short_error(exc)})") from None
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: weights do not match the model (missing: {sorted(missing)[:5]}, unexpected: {sorted(unexpected)[:5]})"
        )


def short_error(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__

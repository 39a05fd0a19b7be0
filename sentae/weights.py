"""Model weights as safetensors: written atomically, read strictly by name. No pickle is involved."""
from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_model, save_model

from .errors import CheckpointError, SentaeError
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
    """Load weights saved by ``save_weights`` into ``model``; every tensor name and shape must match. The device
    is checked first, and weights of another architecture are told apart from a damaged file."""
    path = Path(path)
    device = resolve_device(device)
    if not path.is_file():
        raise CheckpointError(f"weights not found: {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:  # reads the header only
            shapes = {name: list(fh.get_slice(name).get_shape()) for name in fh.keys()}
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read weights, the file is truncated or corrupt ({short_error(exc)})") from None
    _check_shapes(model, shapes, path)
    try:
        missing, unexpected = load_model(model, str(path), strict=False, device=str(device))
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read weights, the file is truncated or corrupt ({short_error(exc)})") from None
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} tensor(s) of the model are not in the file ({_names(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} tensor(s) in the file are not in the model ({_names(unexpected)})")
        raise CheckpointError(f"{path}: the weights are for another architecture: {'; '.join(parts)}")


def _check_shapes(model: torch.nn.Module, shapes: dict[str, list[int]], path: Path) -> None:
    """One error naming the first tensor whose shape in the file differs from the model's (a different vocabulary
    or hidden size); names present on one side only are left to the loader, which knows about tied weights."""
    expected = {name: list(t.shape) for name, t in model.state_dict().items()}
    differ = [name for name in sorted(shapes) if name in expected and shapes[name] != expected[name]]
    if differ:
        first = differ[0]
        more = f" (and {len(differ) - 1} more tensor(s) differ)" if len(differ) > 1 else ""
        raise CheckpointError(f"{path}: the weights are for another architecture: {first} has shape {shapes[first]} "
                              f"in the file, {expected[first]} in the model{more}")


def _names(names: list[str], limit: int = 5) -> str:
    shown = sorted(names)
    return ", ".join(shown[:limit]) + (f", ... {len(shown) - limit} more" if len(shown) > limit else "")


def resolve_device(name: str | torch.device, what: str = "device") -> torch.device:
    """The ``torch.device`` that ``name`` means, or one ``SentaeError`` saying why it is not usable on this
    machine (checked before anything is loaded onto it); ``auto`` is the first CUDA device when there is one, else
    the CPU. ``what`` names the setting in messages.

    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("banana")
    Traceback (most recent call last):
    ...
    sentae.errors.SentaeError: device 'banana' is not a device name (cpu, cuda, cuda:1, mps, auto)
    """
    if isinstance(name, str) and name.strip() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name.strip() if isinstance(name, str) else name)
    except (RuntimeError, TypeError, ValueError):
        raise SentaeError(f"{what} '{name}' is not a device name (cpu, cuda, cuda:1, mps, auto)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SentaeError(f"{what} is '{name}' but CUDA is not available on this machine (use cpu)")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise SentaeError(f"{what} '{name}' does not exist: this machine has {count} CUDA device(s), "
                              f"cuda:0 to cuda:{count - 1}")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SentaeError(f"{what} is '{name}' but MPS (Apple GPU) is not available on this machine (use cpu)")
    elif device.type != "cpu":
        raise SentaeError(f"{what} '{name}' is not supported by sentae (cpu, cuda, cuda:1, mps, auto)")
    return device


def short_error(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__

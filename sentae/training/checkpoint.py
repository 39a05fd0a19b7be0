"""Checkpoints: safetensors weights + a weights-only trainer state, written atomically.

A checkpoint is a folder ``checkpoints/step-00000100/`` with ``model.safetensors`` and ``trainer_state.pt``. It
is written under a temporary name and renamed into place with ``os.replace``, so a crash (even SIGKILL) mid-write
never leaves a half checkpoint under a real name, and the previous checkpoint is untouched.
"""
from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError
from ..io import TMP_MARK, atomic_write_with, disk_full
from ..run import CHECKPOINTS, TRAINER_STATE, WEIGHTS, RunFolder, checkpoint_name
from ..weights import short_error, write_weights_file


def _write_state_file(state: dict[str, Any], path: Path) -> None:
    torch.save(state, path)
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def save_state(state: dict[str, Any], path: Path) -> None:
    """Write a trainer state (tensors and plain data only) atomically."""
    atomic_write_with(path, lambda tmp: torch.save(state, tmp))


def load_state(path: Path) -> dict[str, Any]:
    """A trainer state written by ``save_state``, read with ``weights_only=True``: tensors and plain data only."""
    if not path.is_file():
        raise CheckpointError(f"trainer state not found: {path}")
    try:
        # weights_only: a checkpoint can never run code when loaded.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read trainer state: the file is corrupt or not a sentae trainer state "
                              f"({_load_failure(exc)})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a sentae trainer state (it holds a {type(state).__name__}, not a mapping)")
    return state


def _load_failure(exc: BaseException) -> str:
    """Why torch could not load a file, in one line and without torch's advice to retry with
    ``weights_only=False``: that would let the file run code, which sentae never does."""
    text = str(exc)
    if "Weights only load failed" in text:
        # torch >= 2.4 says "Unsupported global: GLOBAL x.Y", torch 2.3 "Unsupported class x.Y"
        found = re.search(r"Unsupported (?:global: GLOBAL|class) ([\w.]+)", text)
        return f"it holds {f'a Python object, {found.group(1)},' if found else 'Python objects'} that a safe load refuses"
    first = short_error(exc).split(". ")[0]
    if "weights_only" in first:
        first = "unreadable by torch.load"
    return f"{type(exc).__name__}: {first}"


def _write_reason(exc: BaseException, path: Path) -> str:
    """Why a write under ``path`` failed, in words: the OS reason when there is one, a full disk however torch or
    safetensors word it (``sentae.io.disk_full``)."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno)
    return "No space left on device" if disk_full(exc, path) else short_error(exc)


def write_checkpoint(run: RunFolder, step: int, model: torch.nn.Module, state: dict[str, Any], keep_last: int) -> Path:
    """Write checkpoint ``step`` atomically, then delete all but the newest ``keep_last``. A failed write (a full
    disk, say) removes its temporary folder, leaves every earlier checkpoint as it was and raises one
    ``CheckpointError`` naming the path and the reason."""
    root = run.file(CHECKPOINTS)
    final = run.checkpoint(step)
    tmp = root / f".{checkpoint_name(step)}{TMP_MARK}{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        write_weights_file(model, tmp / WEIGHTS)
        _write_state_file(state, tmp / TRAINER_STATE)
    except Exception as exc:  # OSError, and the errors torch and safetensors raise for the same causes
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(f"{final}: cannot write the checkpoint: {_write_reason(exc, tmp)}; the earlier "
                              f"checkpoints are unchanged") from None
    if final.exists():  # re-saving the same step (e.g. the end of a run that just checkpointed)
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in run.checkpoints()[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def is_readable(checkpoint: Path) -> bool:
    """Whether both files of a checkpoint read back: the trainer state loads and every weight tensor of the
    safetensors file can be read (checked, not assumed, before sentae advises resuming from it)."""
    from safetensors import safe_open

    try:
        load_state(checkpoint / TRAINER_STATE)
        with safe_open(str(checkpoint / WEIGHTS), framework="pt") as fh:
            for key in fh.keys():
                fh.get_tensor(key)
    except Exception:  # any failure to read means: not intact
        return False
    return True


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run folder, oldest first (``RunFolder.checkpoints``)."""
    return RunFolder(run_dir).checkpoints()


def rng_state() -> dict[str, Any]:
    """Every RNG a training step may draw from, in types that ``torch.load(weights_only=True)`` accepts."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": {"version": py_state[0], "state": list(py_state[1]),
                   "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

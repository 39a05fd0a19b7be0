"""What the training loop carries from step to step: where it stands (saved in every checkpoint) and the
optimization it steps. Kept apart from the loop itself so that the loop fits on a screen."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import TrainingError
from ..model import SentaeModel

# What a resume can honour. Everything in TrainConfig may change on --resume except these, which the restored
# optimizer state, lr schedule or data order already fix: changing them would be recorded but not happen.
FIXED_ON_RESUME = ("lr", "weight_decay", "batch_size", "grad_accum", "seed", "precision", "early_stop_metric",
                   "early_stop_mode")


@dataclass
class LoopState:
    """Where the training loop stands; saved in every checkpoint (as plain keys) so that a resumed run continues
    exactly where the interrupted one was."""

    step: int = 0  # optimizer steps taken
    epoch: int = 0  # epochs started
    pos: int = 0  # micro-batches of the current epoch consumed
    best: float | None = None  # best value of train.early_stop_metric so far
    bad_evals: int = 0  # validations in a row without improvement
    skipped: int = 0  # steps skipped for a non-finite loss, in total
    streak: int = 0  # non-finite losses in a row
    # Where a streamed train split stands (sentae.data.streaming.StreamPlan.position): store, window, batch in it;
    # None for data that does not stream. Checked on resume, so a changed stream is refused, not silently used.
    stream: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> LoopState:
        # a key missing from an older checkpoint keeps its default
        return cls(**{f.name: saved[f.name] for f in fields(cls) if f.name in saved})


@dataclass
class Optimization:
    """What one optimizer step needs besides the batch: the model (and its DDP wrapper), the optimizers in the
    order the model declares them, their schedules, the fp16 scaler, the autocast dtype and the device."""

    wrapped: nn.Module
    model: SentaeModel
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, Any]
    scaler: torch.amp.GradScaler
    amp_dtype: torch.dtype | None
    device: torch.device

    @property
    def names(self) -> list[str]:
        return list(self.optimizers)


def resume_changes(saved: dict[str, Any], now: dict[str, Any], checkpoint: Path) -> dict[str, tuple[Any, Any]]:
    """The train.* settings that differ between a checkpoint's (``saved``) and this run's (``now``), as
    ``{name: (old, new)}``; a ``TrainingError`` for any of ``FIXED_ON_RESUME``, which the resume would not honour."""
    fixed = [k for k in FIXED_ON_RESUME if k in saved and saved[k] != now[k]]
    if fixed:
        changes = ", ".join(f"train.{k} {saved[k]!r} -> {now[k]!r}" for k in fixed)
        raise TrainingError(
            f"--resume cannot apply {changes}: the checkpoint {checkpoint} fixes "
            f"{', '.join('train.' + k for k in FIXED_ON_RESUME)}; resume with the values it was trained with "
            f"(other train.* settings may change)"
        )
    return {k: (saved[k], now[k]) for k in now if k in saved and saved[k] != now[k]}

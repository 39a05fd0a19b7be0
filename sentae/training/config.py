"""``TrainConfig``: the ``train`` section of a recipe, what the Trainer needs to run the loop."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from ..schema import SEED, Range, check_declared_ranges

__all__ = ["TrainConfig", "device_forms"]

# The device is checked when the recipe loads, so that a typo fails before any data is read; whether CUDA is
# there is known only on the machine that runs, so the Trainer checks that.
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?|mps")


def device_forms() -> str:
    """The device names a recipe may give, for messages."""
    return "auto, cpu, cuda, cuda:N" + (", mps" if _has_mps() else "")


def _has_mps() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)  # Apple GPUs: only a torch built with them knows the device
    return mps is not None and mps.is_built()


@dataclass
class TrainConfig:
    max_steps: Annotated[int, Range(1)] = 1000  # optimizer steps in total
    max_time_s: Annotated[float | None, Range(0, low_open=True)] = None  # wall-clock budget of this process's training loop, in seconds (null: none)
    batch_size: Annotated[int, Range(1)] = 32  # examples per micro-batch (per process under torchrun)
    lr: Annotated[float, Range(0, low_open=True)] = 1e-3  # learning rate of every optimizer
    weight_decay: Annotated[float, Range(0)] = 0.0  # weight decay handed to every optimizer (AdamW by default); 0: none
    warmup_steps: Annotated[int, Range(0)] = 0  # linear learning-rate warm-up, in steps
    lr_decay: Literal["none", "cosine", "linear"] = "none"  # after warm-up, lr falls to lr * lr_final by max_steps
    lr_final: Annotated[float, Range(0, 1)] = 0.0  # the decay's end point, as a fraction of lr
    grad_accum: Annotated[int, Range(1)] = 1  # micro-batches per optimizer step
    clip_norm: Annotated[float | None, Range(0, low_open=True)] = 1.0  # max global gradient norm per optimizer; null turns clipping off
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # autocast dtype of the forward pass; fp16 adds a GradScaler
    device: str = "auto"  # auto (cuda if available, else cpu), cpu, cuda, cuda:1, ... (mps where torch has it)
    seed: Annotated[int, SEED] = 0  # seed of torch, numpy and random for initialisation, dropout and batch order
    log_every: Annotated[int, Range(1)] = 10  # steps between train-metric lines
    eval_every: Annotated[int, Range(0)] = 200  # steps between validations (0: only at the end)
    ckpt_every: Annotated[int, Range(0)] = 200  # steps between checkpoints (0: only at the end)
    keep_last: Annotated[int, Range(1)] = 2  # checkpoints kept on disk
    early_stop_metric: str | None = None  # a validation metric, e.g. "val/loss" (null: no early stopping)
    early_stop_mode: Literal["min", "max"] = "min"  # whether a lower (min) or higher (max) metric is better
    early_stop_patience: Annotated[int | None, Range(1)] = None  # validations without improvement before stopping (null: never stop)
    max_nonfinite: Annotated[int, Range(1)] = 5  # non-finite losses in a row before training stops
    progress: Literal["auto", "bar", "log", "none"] = "auto"  # auto: a bar on a terminal, log lines otherwise
    threads: Annotated[int | None, Range(1)] = None  # CPU threads for torch ops (null: torch's default, one per core)

    def __post_init__(self) -> None:
        # Names carry the section, so that an error reads 'train.lr' like every other key of a recipe.
        check_declared_ranges(self, "train.")
        if not isinstance(self.device, str) or not _DEVICE.fullmatch(self.device) or (
                self.device == "mps" and not _has_mps()):
            raise ValueError(f"train.device must be one of {device_forms()}, got {self.device!r}")
        if self.early_stop_patience is not None and self.early_stop_metric is None:
            raise ValueError("train.early_stop_patience needs 'train.early_stop_metric'")

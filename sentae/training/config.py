"""``TrainConfig``: the ``train`` section of a recipe, what the Trainer needs to run the loop."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..schema import check_range

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    max_steps: int = 1000  # optimizer steps in total, at least 1
    max_time_s: float | None = None  # wall-clock budget of this process's training loop, in seconds (null: none)
    batch_size: int = 32  # examples per micro-batch (per process under torchrun), at least 1
    lr: float = 1e-3  # learning rate of every optimizer, above 0
    weight_decay: float = 0.0  # weight decay handed to every optimizer (AdamW by default), 0 or more; 0: none
    warmup_steps: int = 0  # linear learning-rate warm-up, in steps, 0 or more
    lr_decay: Literal["none", "cosine", "linear"] = "none"  # after warm-up, lr falls to lr * lr_final by max_steps
    lr_final: float = 0.0  # the decay's end point, as a fraction of lr, in [0, 1]
    grad_accum: int = 1  # micro-batches per optimizer step, at least 1
    clip_norm: float | None = 1.0  # max global gradient norm per optimizer; null turns clipping off
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # autocast dtype of the forward pass; fp16 adds a GradScaler
    device: str = "auto"  # auto (cuda if available, else cpu), cpu, cuda, cuda:1, ...
    seed: int = 0  # seed of torch, numpy and random for initialisation, dropout and batch order
    log_every: int = 10  # steps between train-metric lines, at least 1
    eval_every: int = 200  # steps between validations, 0 or more (0: only at the end)
    ckpt_every: int = 200  # steps between checkpoints, 0 or more (0: only at the end)
    keep_last: int = 2  # checkpoints kept on disk, at least 1
    early_stop_metric: str | None = None  # a validation metric, e.g. "val/loss" (null: no early stopping)
    early_stop_mode: Literal["min", "max"] = "min"  # whether a lower (min) or higher (max) metric is better
    early_stop_patience: int | None = None  # validations without improvement before stopping (null: never stop)
    max_nonfinite: int = 5  # non-finite losses in a row before training stops, at least 1
    progress: Literal["auto", "bar", "log", "none"] = "auto"  # auto: a bar on a terminal, log lines otherwise
    threads: int | None = None  # CPU threads for torch ops, at least 1 (null: torch's default, one per core)

    def __post_init__(self) -> None:
        # Names carry the section, so that a recipe's error reads 'train.lr' like every other key of the file.
        for name in ("max_steps", "batch_size", "grad_accum", "log_every", "keep_last", "max_nonfinite"):
            check_range(f"train.{name}", getattr(self, name), 1)
        for name in ("eval_every", "ckpt_every", "warmup_steps"):
            check_range(f"train.{name}", getattr(self, name), 0)
        check_range("train.lr", self.lr, 0, low_open=True)
        check_range("train.weight_decay", self.weight_decay, 0)
        check_range("train.lr_final", self.lr_final, 0, 1)
        check_range("train.threads", self.threads, 1, allow_none=True)
        if self.early_stop_patience is not None and self.early_stop_metric is None:
            raise ValueError("train.early_stop_patience needs 'train.early_stop_metric'")

"""Where training runs, how batches get there, seeding, and the learning-rate schedule's shape."""
from __future__ import annotations

import math
import random

import numpy as np
import torch

from ..model import Batch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """train.device as a torch.device: ``auto`` is this process's GPU under torchrun (``cuda:LOCAL_RANK``) when
    CUDA is there, else the CPU; anything else is checked by ``sentae.weights.resolve_device``."""
    from ..weights import resolve_device as check_device

    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    return check_device(name, "train.device")


def to_device(batch: Batch, device: torch.device) -> Batch:
    """Move a batch to ``device``. For CUDA the tensors go through pinned (page-locked) memory first, so the copy
    is a real asynchronous DMA (``non_blocking``) that overlaps with the host's work; on the CPU nothing moves."""
    if device.type != "cuda":
        return {k: v.to(device) for k, v in batch.items()}
    return {k: v.pin_memory().to(device, non_blocking=True) for k, v in batch.items()}


def lr_multiplier(step: int, warmup: int, total: int, decay: str = "none", final: float = 0.0) -> float:
    """Learning-rate factor at ``step``: ``(step + 1) / warmup`` during warm-up, then 1 (``none``) or a fall from 1
    to ``final`` that ends at ``total`` steps, along a half cosine or a straight line."""
    if warmup and step < warmup:
        return min(1.0, (step + 1) / warmup)
    if decay == "none":
        return 1.0
    progress = min(1.0, max(0.0, (step - warmup) / max(1, total - warmup)))
    shape = 0.5 * (1.0 + math.cos(math.pi * progress)) if decay == "cosine" else 1.0 - progress
    return final + (1.0 - final) * shape

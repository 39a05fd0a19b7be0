"""A run folder as a ready Sampler."""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import SentaeError
from ..model import is_sentence_model
from ..run import RunFolder
from .sampler import Sampler


def load_sampler(run_dir: str | Path, device: str | torch.device = "cpu") -> Sampler:
    """A ``TextSampler`` (with the run's tokenizer) for a text model, a ``Sampler`` for an image model."""
    run = RunFolder(run_dir)
    model = run.load_model(device)
    if model.data_info.modality == "text":
        from .text_sampler import TextSampler

        return TextSampler(model, run.path, run.load_tokenizer())
    return Sampler(model, run.path)


def load_text_sampler(run_dir: str | Path, device: str | torch.device = "cpu"):
    """A ``TextSampler`` for a run whose model generates sentences; a clear error for any other run."""
    from .text_sampler import TextSampler

    sampler = load_sampler(run_dir, device)
    if not isinstance(sampler, TextSampler) or not is_sentence_model(sampler.model):
        kind = "an image model" if not isinstance(sampler, TextSampler) else "not a sentence model (no likelihood)"
        raise SentaeError(f"{run_dir}: this command generates sentences; model '{sampler.model.name}' is {kind}")
    return sampler

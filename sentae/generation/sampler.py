"""Sampler: what users do with a trained model — draw samples, reconstruct inputs, encode them."""
from __future__ import annotations

from pathlib import Path

import torch

from ..model import SentaeModel


class Sampler:
    """A trained model in eval mode plus the run folder it came from.

    >>> sampler = sentae.load("runs/mlp_vae_digits")  # doctest: +SKIP
    >>> sampler.sample(8, seed=0).shape              # doctest: +SKIP
    torch.Size([8, 1, 8, 8])
    """

    def __init__(self, model: SentaeModel, run_dir: Path | None = None) -> None:
        self.model = model
        self.run_dir = run_dir

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _generator(self, seed: int | None) -> torch.Generator | None:
        if seed is None:
            return None
        return torch.Generator(device=self.device).manual_seed(seed)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples from the model's prior."""
        return self.model.sample(n, generator=self._generator(seed))

    @torch.no_grad()
    def encode(self, inputs: torch.Tensor) -> torch.Tensor:
        """Codes of ``inputs`` (the posterior mean for variational models)."""
        return self.model.encode(inputs.to(self.device))

    @torch.no_grad()
    def reconstruct(self, inputs: torch.Tensor) -> torch.Tensor:
        """Decode the codes of ``inputs``."""
        return self.model.reconstruct(inputs.to(self.device))

"""Diagonal Gaussian posterior, its reparameterised sample and its KL to the standard normal prior."""
from __future__ import annotations

import torch
from torch import nn


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per dimension, in nats: shape of ``mu``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


class GaussianLatent(nn.Module):
    """Maps features to (mu, logvar) of a ``latent_size``-dimensional diagonal Gaussian."""

    def __init__(self, in_features: int, latent_size: int) -> None:
        super().__init__()
        self.to_stats = nn.Linear(in_features, 2 * latent_size)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_stats(h).chunk(2, dim=-1)
        return mu, logvar.clamp(-20.0, 10.0)  # keeps exp(logvar) finite in low precision

    @staticmethod
    def sample(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + eps * (0.5 * logvar).exp()

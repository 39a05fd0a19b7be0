"""Denoising input noise, the same option on every image model.

Every image model's config inherits ``InputNoiseConfig``, so ``noise_std`` and ``mask_prob`` mean the same thing
everywhere: the model sees a corrupted copy of each training image and is scored on reconstructing the clean one
(Vincent et al. 2008). Noise is applied only while training; evaluation always sees clean inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class InputNoiseConfig:
    noise_std: float = 0.0  # denoising: std of Gaussian noise added to input pixels while training (0 = off)
    mask_prob: float = 0.0  # denoising: probability of zeroing each input pixel while training, in [0, 1) (0 = off)

    def __post_init__(self) -> None:
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be 0 or more, got {self.noise_std}")
        if not 0 <= self.mask_prob < 1:
            raise ValueError(f"mask_prob must be in [0, 1), got {self.mask_prob}")


def corrupt(x: torch.Tensor, noise_std: float = 0.0, mask_prob: float = 0.0) -> torch.Tensor:
    """``x`` with additive Gaussian noise of std ``noise_std``, then each pixel zeroed with probability
    ``mask_prob`` (masking noise). Draws from the global RNG, which the Trainer seeds."""
    if noise_std > 0:
        x = x + noise_std * torch.randn_like(x)
    if mask_prob > 0:
        x = x * (torch.rand_like(x) >= mask_prob).to(x.dtype)
    return x

"""Sparse autoencoder: one hidden layer (over- or under-complete) with a sparsity penalty on its activations.

The KL penalty is the one of Ng's sparse-autoencoder notes: for each hidden unit j, the mean activation over the
batch ρ̂_j is pulled towards a small target ρ by ``KL(ρ || ρ̂_j) = ρ log(ρ/ρ̂_j) + (1-ρ) log((1-ρ)/(1-ρ̂_j))``,
summed over units. The L1 option penalises the activations themselves, summed over units and averaged over images.
With ``sparsity_weight: 0`` the model is a plain one-hidden-layer autoencoder (and, with input noise, a denoising
one), which the feature benchmark uses as its baselines.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from torch import nn

from sentae import DataInfo, StepContext, StepOutput
from sentae.schema import Range

from .base import ImageAutoencoder
from .noise import InputNoiseConfig


@dataclass
class SparseAEConfig(InputNoiseConfig):
    hidden_size: Annotated[int, Range(1)] = 100  # hidden units: more than the pixels is over-complete, fewer is under-complete
    penalty: Literal["kl", "l1"] = "kl"  # kl: KL(target || mean activation) per unit (Ng); l1: sum of |activations|
    target: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.05  # ρ, the target mean activation of every hidden unit (kl only)
    sparsity_weight: Annotated[float, Range(0)] = 3.0  # β, weight of the penalty against the per-image cross-entropy (0 = no penalty)
    activation: Literal["sigmoid", "relu"] = "sigmoid"  # hidden non-linearity; the kl penalty needs sigmoid

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.penalty == "kl" and self.activation != "sigmoid":
            raise ValueError("penalty 'kl' needs activations in (0, 1): use activation 'sigmoid' or penalty 'l1'")


def kl_sparsity(h: torch.Tensor, target: float, eps: float = 1e-6) -> torch.Tensor:
    """Sum over hidden units of KL(target || mean activation over the batch); ``h`` is ``(N, units)`` in (0, 1)."""
    rho_hat = h.mean(0).clamp(eps, 1 - eps)  # clamped: a dead or saturated unit would give log(0)
    rho = torch.as_tensor(target, dtype=h.dtype, device=h.device)
    return (rho * (rho / rho_hat).log() + (1 - rho) * ((1 - rho) / (1 - rho_hat)).log()).sum()


def hoyer_sparsity(h: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Hoyer's sparsity of each row of ``h`` averaged over rows: 0 when all units are equal, 1 when one unit
    carries all the activation. Scale-free, so sigmoid and ReLU codes compare."""
    n = h.shape[-1]
    if n == 1:
        return torch.ones((), device=h.device)
    ratio = h.abs().sum(-1) / (h.pow(2).sum(-1).sqrt() + eps)
    return ((n**0.5 - ratio) / (n**0.5 - 1)).clamp(0, 1).mean()


class SparseAE(ImageAutoencoder):
    """One-hidden-layer autoencoder with a KL (target mean activation) or L1 sparsity penalty."""

    name = "sparse_ae"
    config_class = SparseAEConfig
    paper = "Ng 2011, Sparse autoencoder (CS294A lecture notes); L1 option as in Lee et al. 2007"
    sentae_api = 1
    tiny_config = {"hidden_size": 13}

    def __init__(self, config: SparseAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.encoder = nn.Linear(self.pixels, config.hidden_size)
        self.decoder = nn.Linear(config.hidden_size, self.pixels)
        self.act = nn.Sigmoid() if config.activation == "sigmoid" else nn.ReLU()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.encoder(x.flatten(1)))

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code).view(-1, *self.image_shape)

    def filters(self) -> torch.Tensor:
        return self.encoder.weight.detach()

    def penalty(self, h: torch.Tensor) -> torch.Tensor:
        if self.config.penalty == "kl":
            return kl_sparsity(h, self.config.target)
        return h.abs().sum(-1).mean()

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = self.augment(batch["image"])
        h = self.encode(self.corrupt(x))
        bce, sse = self.reconstruction_terms(self.decode_logits(h), x)
        penalty = self.penalty(h)
        loss = bce + self.config.sparsity_weight * penalty
        hd = h.detach()
        return StepOutput(loss, {
            "bce": bce.detach(), "sse": sse.detach(), "penalty": penalty.detach(),
            "mean_activation": hd.mean(), "sparsity": hoyer_sparsity(hd),
        })

"""The KL term a VAE minimises, with free bits (Kingma et al. 2016): KL below a floor of ``free_bits`` nats is not
penalised, so the optimiser has no reason to push the posterior onto the prior there (posterior collapse)."""
from __future__ import annotations

from typing import Literal

import torch

FreeBitsMode = Literal["per_dim", "total"]


def kl_penalty(kl_dims: torch.Tensor, free_bits: float = 0.0, mode: FreeBitsMode = "per_dim") -> torch.Tensor:
    """The KL to minimise from per-dimension KLs ``[B, D]`` (nats). ``free_bits`` <= 0: the batch mean of the
    summed KL. ``per_dim``: each dimension's batch-mean KL is clamped at ``free_bits`` before summing (a floor of
    lambda per dimension, as Kingma et al.); ``total``: the batch-mean summed KL is clamped at ``free_bits``.

    >>> kl = torch.tensor([[0.1, 2.0], [0.3, 2.0]])
    >>> round(float(kl_penalty(kl)), 4), float(kl_penalty(kl, 0.5)), float(kl_penalty(kl, 3.0, "total"))
    (2.2, 2.5, 3.0)
    """
    if free_bits <= 0:
        return kl_dims.sum(1).mean()
    if mode == "per_dim":
        return kl_dims.mean(0).clamp(min=free_bits).sum()
    if mode == "total":
        return kl_dims.sum(1).mean().clamp(min=free_bits)
    raise ValueError(f"free_bits_mode must be per_dim or total, got {mode!r}")

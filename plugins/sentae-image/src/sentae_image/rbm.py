"""Restricted Boltzmann machines trained with contrastive divergence (CD-k), for greedy layer-wise pre-training.

Visible units are Bernoulli (logistic), fed with real values in [0, 1] (pixel intensities, or the hidden
probabilities of the layer below), as Hinton & Salakhutdinov (2006) do. Hidden units are Bernoulli, or linear
with unit-variance Gaussian noise ("gaussian") for the code layer of a deep autoencoder.

CD as a loss. The CD-k update of a parameter θ is ``<-dE/dθ>_data - <-dE/dθ>_model``, where the model statistics
come from a k-step Gibbs chain started at the data. Written with the free energy F(v) (the energy with the hidden
units summed or integrated out), the same update is ``-(dF(v_data)/dθ - dF(v_model)/dθ)``. So the surrogate loss

    L = mean over the batch of  F(v_data) - F(v_model),   v_model detached (no gradient through the chain)

has exactly the negative CD update as its gradient: a plain optimizer step on L *is* a CD step (with the hidden
statistics taken as expectations, the usual low-variance choice). That is how ``deep_ae`` pre-trains inside
sentae's Trainer: the model returns L as the step's loss and the Trainer backpropagates and steps it like any
other loss. The value of L itself is not an objective that must fall; the reconstruction error is what to watch.

Free energies, with pre-activation ``a = W v + c``:

- Bernoulli hidden: ``F(v) = -b·v - sum_j softplus(a_j)``
- Gaussian hidden (energy ``-b·v - c·h - vᵀWᵀh + |h|²/2``): ``F(v) = -b·v - |a|²/2`` (constant dropped)
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Hidden = Literal["bernoulli", "gaussian"]


def free_energy(v: torch.Tensor, weight: torch.Tensor, vis_bias: torch.Tensor, hid_bias: torch.Tensor,
                hidden: Hidden = "bernoulli") -> torch.Tensor:
    """F(v) per example, ``(N,)``; ``weight`` is ``(hidden, visible)`` like an ``nn.Linear`` weight."""
    pre = F.linear(v, weight, hid_bias)
    vis_term = v @ vis_bias
    if hidden == "gaussian":
        return -vis_term - 0.5 * pre.pow(2).sum(-1)
    return -vis_term - F.softplus(pre).sum(-1)


def hidden_mean(v: torch.Tensor, weight: torch.Tensor, hid_bias: torch.Tensor, hidden: Hidden = "bernoulli") -> torch.Tensor:
    """E[h | v]: probabilities (Bernoulli) or the linear pre-activation (Gaussian)."""
    pre = F.linear(v, weight, hid_bias)
    return pre if hidden == "gaussian" else torch.sigmoid(pre)


def sample_hidden(v: torch.Tensor, weight: torch.Tensor, hid_bias: torch.Tensor, hidden: Hidden = "bernoulli",
                  generator: torch.Generator | None = None) -> torch.Tensor:
    mean = hidden_mean(v, weight, hid_bias, hidden)
    if hidden == "gaussian":
        return mean + torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return torch.bernoulli(mean, generator=generator)


def visible_mean(h: torch.Tensor, weight: torch.Tensor, vis_bias: torch.Tensor) -> torch.Tensor:
    """p(v = 1 | h) for logistic visible units."""
    return torch.sigmoid(F.linear(h, weight.t(), vis_bias))


@torch.no_grad()
def gibbs_negative(v: torch.Tensor, weight: torch.Tensor, vis_bias: torch.Tensor, hid_bias: torch.Tensor,
                   hidden: Hidden = "bernoulli", k: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    """The negative phase of CD-k: k Gibbs steps from the data. Hidden states are sampled; the last visible state
    is kept as probabilities (real-valued "reconstructions", less noisy statistics), earlier ones are sampled."""
    for step in range(k):
        h = sample_hidden(v, weight, hid_bias, hidden, generator)
        v = visible_mean(h, weight, vis_bias)
        if step < k - 1:
            v = torch.bernoulli(v, generator=generator)
    return v


def cd_loss(v: torch.Tensor, weight: torch.Tensor, vis_bias: torch.Tensor, hid_bias: torch.Tensor,
            hidden: Hidden = "bernoulli", k: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    """The CD-k surrogate ``mean(F(v) - F(v_model))``; its gradient is the negative CD-k update (module docstring)."""
    v = v.detach()
    v_model = gibbs_negative(v, weight, vis_bias, hid_bias, hidden, k, generator)
    return (free_energy(v, weight, vis_bias, hid_bias, hidden) - free_energy(v_model, weight, vis_bias, hid_bias, hidden)).mean()


class RBM(nn.Module):
    """One RBM with logistic visible units and Bernoulli or Gaussian (linear) hidden units.

    >>> rbm = RBM(64, 32)
    >>> loss = rbm.cd_loss(torch.rand(10, 64))   # backprop and step it with any optimizer: a CD-1 step
    """

    def __init__(self, n_visible: int, n_hidden: int, hidden: Hidden = "bernoulli", init_std: float = 0.01) -> None:
        super().__init__()
        if hidden not in ("bernoulli", "gaussian"):
            raise ValueError(f"hidden must be 'bernoulli' or 'gaussian', got {hidden!r}")
        self.hidden = hidden
        self.weight = nn.Parameter(torch.randn(n_hidden, n_visible) * init_std)
        self.vis_bias = nn.Parameter(torch.zeros(n_visible))
        self.hid_bias = nn.Parameter(torch.zeros(n_hidden))

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        return free_energy(v, self.weight, self.vis_bias, self.hid_bias, self.hidden)

    def hidden_mean(self, v: torch.Tensor) -> torch.Tensor:
        return hidden_mean(v, self.weight, self.hid_bias, self.hidden)

    def reconstruct(self, v: torch.Tensor) -> torch.Tensor:
        """Deterministic up-down pass: ``p(v | E[h | v])``."""
        return visible_mean(self.hidden_mean(v), self.weight, self.vis_bias)

    def cd_loss(self, v: torch.Tensor, k: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        return cd_loss(v, self.weight, self.vis_bias, self.hid_bias, self.hidden, k, generator)

    @torch.no_grad()
    def reconstruction_error(self, v: torch.Tensor) -> float:
        """Sum of squared errors per example of the deterministic reconstruction, averaged over ``v``."""
        return float(((self.reconstruct(v) - v) ** 2).sum(-1).mean())

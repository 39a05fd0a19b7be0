"""Contractive autoencoder (Rifai et al. 2011): reconstruction plus λ‖J_f(x)‖²_F, the squared Frobenius norm of the
encoder's Jacobian at each training image, which makes the code insensitive to small input changes.

For one sigmoid layer h = σ(Wx + b) the norm has a closed form: ``J = diag(h ⊙ (1 - h)) W``, so
``‖J‖²_F = Σ_j (h_j (1 - h_j))² Σ_i W_ji²``, as cheap as the forward pass. For deeper encoders the Jacobian is
computed exactly with autograd: one batched vector-Jacobian product per code unit, with a graph for the
backward pass (cost grows with the code size).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

import torch
from torch import nn

from sentae import DataInfo, StepContext, StepOutput
from sentae.schema import Range

from .base import ImageAutoencoder, check_sizes, mlp
from .noise import InputNoiseConfig


@dataclass
class ContractiveAEConfig(InputNoiseConfig):
    hidden_sizes: Annotated[list[int], Range(1)] = field(default_factory=lambda: [100])  # sigmoid encoder layers; the last is the code
    contraction: Annotated[float, Range(0)] = 0.1  # λ, weight of the squared Frobenius norm of the encoder Jacobian, per image
    jacobian: Literal["auto", "closed_form", "autograd"] = "auto"  # auto: closed form for one layer, else autograd

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sizes(self.hidden_sizes, "hidden_sizes")
        if self.jacobian == "closed_form" and len(self.hidden_sizes) != 1:
            raise ValueError("jacobian 'closed_form' holds for a single sigmoid layer; use 'autograd' for "
                             f"hidden_sizes {self.hidden_sizes}")


def sigmoid_jacobian_frob2(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """‖J‖²_F per example for h = σ(Wx + b), from the activations ``h`` ``(N, H)`` and ``W`` ``(H, D)``."""
    return ((h * (1 - h)).pow(2) * weight.pow(2).sum(1)).sum(-1)


def autograd_jacobian_frob2(encoder: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes, ‖J‖²_F per example) of any ``encoder`` mapping ``(N, D) -> (N, H)`` with no cross-example terms.
    The norm keeps its graph when gradients are enabled, so it can be trained on."""
    keep_graph = torch.is_grad_enabled()
    with torch.enable_grad():  # needed even for validation, which runs under no_grad
        xg = x.detach().requires_grad_(True)
        h = encoder(xg)
        n, units = h.shape
        basis = torch.eye(units, dtype=h.dtype, device=h.device).unsqueeze(1).expand(units, n, units)
        # row j of every example's Jacobian at once: grad of h[:, j] wrt x, batched over j
        jac = torch.autograd.grad(h, xg, basis, is_grads_batched=True, create_graph=keep_graph)[0]  # (H, N, D)
        frob2 = jac.pow(2).sum((0, 2))
    if not keep_graph:
        h, frob2 = h.detach(), frob2.detach()
    return h, frob2


class ContractiveAE(ImageAutoencoder):
    """Autoencoder with a contractive penalty on the encoder's Jacobian (closed form or autograd)."""

    name = "contractive_ae"
    config_class = ContractiveAEConfig
    paper = "Rifai et al. 2011, Contractive Auto-Encoders: Explicit Invariance During Feature Extraction, ICML"
    sentae_api = 1
    tiny_config = {"hidden_sizes": [13]}

    def __init__(self, config: ContractiveAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        sizes = [self.pixels, *config.hidden_sizes]
        self.encoder = mlp(sizes, nn.Sigmoid, last_activation=True)
        self.decoder = mlp(list(reversed(sizes)), nn.Sigmoid)  # logits out
        self.closed_form = config.jacobian == "closed_form" or (config.jacobian == "auto" and len(config.hidden_sizes) == 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code).view(-1, *self.image_shape)

    def filters(self) -> torch.Tensor:
        return self.encoder[0].weight.detach()

    def encode_with_jacobian(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(codes, ‖J_f(x)‖²_F per image) for images ``x``."""
        flat = x.flatten(1)
        if self.closed_form:
            h = self.encoder(flat)
            return h, sigmoid_jacobian_frob2(h, self.encoder[0].weight)
        return autograd_jacobian_frob2(self.encoder, flat)

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = self.augment(batch["image"])
        h, frob2 = self.encode_with_jacobian(self.corrupt(x))
        bce, sse = self.reconstruction_terms(self.decode_logits(h), x)
        jac = frob2.mean()
        loss = bce + self.config.contraction * jac
        return StepOutput(loss, {"bce": bce.detach(), "sse": sse.detach(), "jacobian_frob2": jac.detach()})

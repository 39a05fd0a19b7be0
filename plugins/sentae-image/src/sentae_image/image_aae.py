"""Adversarial autoencoder for images (Makhzani et al. 2015): the conv autoencoder's code is pushed toward the
prior N(0, I) by a discriminator that tells codes of real images from prior samples, so images decoded from prior
samples look like the data, and the discriminator's view of a code is one more anomaly score.

Two optimizers, stepped by the Trainer in this order every step, the same mechanism as the text ``aae``:
``main`` (encoder + decoder: reconstruction plus lambda times the adversarial loss) and ``disc`` (the
discriminator only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, StepContext, StepOutput
from sentae.model import adamw
from sentae.nn.params import split_parameters
from sentae.schema import Range

from .base import ImageAutoencoder, check_sizes
from .conv_net import ConvDecoding, conv_decoder, conv_encoder
from .noise import InputNoiseConfig


@dataclass
class ImageAAEConfig(InputNoiseConfig):
    channels: Annotated[list[int], Range(1)] = field(default_factory=lambda: [32, 64])  # output channels of each stride-2 convolution
    latent_size: Annotated[int, Range(1)] = 8  # dimensions of the code z, matched to N(0, I)
    adversarial_weight: Annotated[float, Range(0)] = 1.0  # lambda: weight of the adversarial term in the autoencoder's loss (nats per image scale)
    disc_hidden: Annotated[int, Range(1)] = 256  # hidden units of each of the discriminator's two hidden layers

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sizes(self.channels, "channels")


class ImageAAE(ConvDecoding, ImageAutoencoder):
    """conv_ae + a discriminator on the code against N(0, I)."""

    name = "image_aae"
    config_class = ImageAAEConfig
    paper = "Makhzani et al. 2015, Adversarial Autoencoders"
    sentae_api = 1
    tiny_config = {"channels": [5, 11], "latent_size": 7, "disc_hidden": 13}
    stochastic = False  # a point code: no ELBO, but a discriminator score

    def __init__(self, config: ImageAAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.latent_size = config.latent_size
        layers, self.feature_shape = conv_encoder(self.image_shape, config.channels)
        features = math.prod(self.feature_shape)
        self.encoder = nn.Sequential(*layers, nn.Linear(features, config.latent_size))
        self.expand = nn.Linear(config.latent_size, features)
        self.decoder = conv_decoder(self.image_shape[0], config.channels)
        h = config.disc_hidden
        self.discriminator = nn.Sequential(nn.Linear(config.latent_size, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                                           nn.Linear(h, 1))

    def optimizer_names(self) -> list[str]:
        return ["main", "disc"]

    def optimizers(self, lr: float, weight_decay: float) -> dict[str, torch.optim.Optimizer]:
        rest, disc = split_parameters(self, self.discriminator)
        return {"main": adamw(rest, lr, weight_decay), "disc": adamw(disc, lr, weight_decay)}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def disc_logit(self, z: torch.Tensor) -> torch.Tensor:
        """The discriminator's logit per code ``(N,)``: high when a code looks like a prior sample."""
        return self.discriminator(z).squeeze(-1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images (pixel probabilities) decoded from z ~ N(0, I)."""
        z = torch.randn(n, self.latent_size, generator=generator, device=self.expand.weight.device)
        return torch.sigmoid(self.decode_logits(z))

    def disc_loss(self, z: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy of the discriminator: prior samples are 'real' (1), codes are 'fake' (0)."""
        real, fake = self.disc_logit(prior), self.disc_logit(z)
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = self.augment(batch["image"])
        if ctx.optimizer == "disc":
            # The codes are fixed inputs here: only the discriminator learns in this step.
            with torch.no_grad():
                z = self.encode(self.corrupt(x))
            loss = self.disc_loss(z, torch.randn_like(z))
            return StepOutput(loss, {"disc": loss.detach()})
        z = self.encode(self.corrupt(x))
        bce, sse = self.reconstruction_terms(self.decode_logits(z), x)
        logits = self.disc_logit(z)
        fool = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        loss = bce + self.config.adversarial_weight * fool
        return StepOutput(loss, {"bce": bce.detach(), "sse": sse.detach(), "adv": fool.detach()})

    @torch.no_grad()
    def evaluate(self, batches) -> dict[str, float]:
        """The reconstruction numbers plus the discriminator's accuracy at telling codes from prior samples (0.5:
        the codes look like the prior to it)."""
        batches = list(batches)
        out = super().evaluate(batches)
        right = total = 0
        for batch in batches:
            z = self.encode(batch["image"])
            right += int((self.disc_logit(z) < 0).sum()) + int((self.disc_logit(torch.randn_like(z)) > 0).sum())
            total += 2 * len(z)
        out["disc_accuracy"] = right / max(total, 1)
        return out

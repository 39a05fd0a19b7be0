"""Adversarial sentence autoencoder (Makhzani et al. 2015): a discriminator tells codes of real sentences from
samples of the prior N(0, I), and the encoder learns to fool it, so the codes fill the prior and sentences decoded
from prior samples are sentences. With the dae's input noise switched on this is the DAAE of Shen et al. 2020.

Two optimizers, stepped by the Trainer in this order every step: ``main`` (encoder + decoder: reconstruction plus
lambda times the adversarial loss) and ``disc`` (the discriminator only).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, StepContext, StepOutput
from sentae.model import adamw
from sentae.nn.noise import TextNoiseConfig
from sentae.nn.params import split_parameters
from sentae.schema import Range

from .dae import DAE, DAEConfig


@dataclass
class AAEConfig(DAEConfig):
    noise: TextNoiseConfig = field(default_factory=TextNoiseConfig)  # input corruption (off: plain AAE; drop 0.3: DAAE)
    adversarial_weight: Annotated[float, Range(0)] = 10.0  # lambda: weight of the adversarial term in the autoencoder's loss (Shen et al.: 10)
    disc_hidden: Annotated[int, Range(1)] = 512  # hidden units of the latent discriminator (one hidden layer)


class AAE(DAE):
    """dae + a discriminator on the code against N(0, I)."""

    name = "aae"
    config_class = AAEConfig
    paper = "Makhzani et al. 2015, Adversarial Autoencoders; Shen et al. 2020 (DAAE: with input noise)"
    tiny_config = {"embedding_size": 11, "hidden_size": 13, "latent_size": 7, "disc_hidden": 5}

    def __init__(self, config: AAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.discriminator = nn.Sequential(
            nn.Linear(config.latent_size, config.disc_hidden), nn.ReLU(), nn.Linear(config.disc_hidden, 1)
        )

    def optimizer_names(self) -> list[str]:
        return ["main", "disc"]

    def optimizers(self, lr: float, weight_decay: float) -> dict[str, torch.optim.Optimizer]:
        rest, disc = split_parameters(self, self.discriminator)
        return {"main": adamw(rest, lr, weight_decay), "disc": adamw(disc, lr, weight_decay)}

    def _prior(self, like: torch.Tensor) -> torch.Tensor:
        return torch.randn_like(like)

    def disc_loss(self, z: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy of the discriminator: prior samples are 'real' (1), codes are 'fake' (0)."""
        real, fake = self.discriminator(self._prior(z)), self.discriminator(z)
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        if ctx.optimizer == "disc":
            # The codes are fixed inputs here: only the discriminator learns in this step.
            with torch.no_grad():
                z = self.encode(*self.noisy(batch["tokens"], batch["lengths"]))
            loss = self.disc_loss(z)
            return StepOutput(loss, {"disc": loss.detach()})
        z, rec = self.reconstruction(batch)
        logits = self.discriminator(z)
        fool = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        loss = rec.mean() + self.config.adversarial_weight * fool
        return StepOutput(loss, {"rec": rec.mean().detach(), "adv": fool.detach()})

    @torch.no_grad()
    def evaluate(self, batches) -> dict[str, float]:
        """The dae's numbers plus the discriminator's accuracy at telling codes from prior samples (0.5: the codes
        look like the prior to it)."""
        batches = list(batches)
        out = super().evaluate(batches)
        right = total = 0
        for batch in batches:
            z = self.encode(batch["tokens"], batch["lengths"])
            right += int((self.discriminator(z) < 0).sum()) + int((self.discriminator(self._prior(z)) > 0).sum())
            total += 2 * len(z)
        out["disc_accuracy"] = right / max(total, 1)
        return out


@dataclass
class DAAEConfig(AAEConfig):
    noise: TextNoiseConfig = field(default_factory=lambda: TextNoiseConfig(drop=0.3))  # Shen et al.: word drop 0.3


class DAAE(AAE):
    """aae preset with Shen et al.'s denoising (word drop 0.3): the DAAE."""

    name = "daae"
    config_class = DAAEConfig

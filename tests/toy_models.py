"""Tiny in-process models for trainer tests (registered with ``sentae.register`` inside fixtures)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from sentae import DataInfo, SentaeModel, StepContext, StepOutput


@dataclass
class FlakyConfig:
    nan_from: int = -1  # first step whose loss is NaN (-1: never)
    nan_until: int = 10**9  # first step whose loss is finite again


class FlakyAE(SentaeModel):
    """A linear autoencoder whose loss is NaN for steps in [nan_from, nan_until)."""

    name = "toy_flaky"
    modality = "image"
    config_class = FlakyConfig
    sentae_api = 1

    def __init__(self, config, data_info):
        super().__init__(config, data_info)
        self.enc = nn.Linear(64, 5)
        self.dec = nn.Linear(5, 64)

    @classmethod
    def default_data_info(cls):
        return DataInfo(modality="image", image_shape=(1, 8, 8))

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = batch["image"].flatten(1)
        loss = ((self.dec(self.enc(x)) - x) ** 2).sum(1).mean()
        if ctx.training and self.config.nan_from >= 0 and self.config.nan_from <= ctx.step < self.config.nan_until:
            loss = loss * float("nan")
        return StepOutput(loss)

    def example_batch(self, batch_size, generator):
        return {"image": torch.rand(batch_size, 1, 8, 8, generator=generator)}


@dataclass
class TwoPlayerConfig:
    code_size: int = 3  # dimensions of the code


class TwoPlayer(SentaeModel):
    """An autoencoder with a critic on its code: two optimizers, stepped critic first, as adversarial models do."""

    name = "toy_two_player"
    modality = "image"
    config_class = TwoPlayerConfig
    sentae_api = 1
    calls: list[str] = []  # optimizer names in the order training_step saw them

    def __init__(self, config, data_info):
        super().__init__(config, data_info)
        self.enc = nn.Linear(64, config.code_size)
        self.dec = nn.Linear(config.code_size, 64)
        self.critic = nn.Linear(config.code_size, 1)

    @classmethod
    def default_data_info(cls):
        return DataInfo(modality="image", image_shape=(1, 8, 8))

    def optimizers(self, lr, weight_decay):
        ae = list(self.enc.parameters()) + list(self.dec.parameters())
        return {"critic": torch.optim.SGD(self.critic.parameters(), lr=lr), "autoencoder": torch.optim.SGD(ae, lr=lr)}

    def training_step(self, batch, ctx):
        if ctx.training:
            TwoPlayer.calls.append(ctx.optimizer)
        x = batch["image"].flatten(1)
        code = self.enc(x)
        if ctx.optimizer == "critic":
            return StepOutput(self.critic(code.detach()).pow(2).mean())
        recon = ((self.dec(code) - x) ** 2).sum(1).mean()
        return StepOutput(recon - 0.01 * self.critic(code).mean(), {"recon": recon.detach()})

    def example_batch(self, batch_size, generator):
        return {"image": torch.rand(batch_size, 1, 8, 8, generator=generator)}

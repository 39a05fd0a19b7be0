"""Convolutional autoencoder: strided convolutions down to a code vector, transposed convolutions back up."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated

import torch
from torch import nn

from sentae import DataInfo, StepContext, StepOutput
from sentae.schema import Range

from .base import ImageAutoencoder, check_sizes
from .noise import InputNoiseConfig


@dataclass
class ConvAEConfig(InputNoiseConfig):
    channels: Annotated[list[int], Range(1)] = field(default_factory=lambda: [16, 32])  # output channels of each stride-2 convolution
    code_size: Annotated[int, Range(1)] = 16  # dimensions of the code vector

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sizes(self.channels, "channels")


class ConvAE(ImageAutoencoder):
    """Conv encoder (stride-2, ReLU) -> linear code -> linear + transposed-conv decoder with Bernoulli pixels."""

    name = "conv_ae"
    config_class = ConvAEConfig
    paper = "Masci et al. 2011, Stacked Convolutional Auto-Encoders for Hierarchical Feature Extraction"
    sentae_api = 1
    tiny_config = {"channels": [5, 11], "code_size": 7}

    def __init__(self, config: ConvAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        c, h, w = self.image_shape
        layers, in_ch = [], c
        for out_ch in config.channels:
            layers += [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1), nn.ReLU()]
            in_ch = out_ch
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        self.feature_shape = (in_ch, h, w)
        self.encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(in_ch * h * w, config.code_size))
        ups = []
        chans = list(reversed(config.channels))
        for i, ch in enumerate(chans):
            nxt = chans[i + 1] if i + 1 < len(chans) else c
            ups.append(nn.ConvTranspose2d(ch, nxt, 3, stride=2, padding=1, output_padding=1))
            if i + 1 < len(chans):
                ups.append(nn.ReLU())
        self.expand = nn.Linear(config.code_size, in_ch * h * w)
        self.decoder = nn.Sequential(*ups)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        feat = self.expand(code).view(-1, *self.feature_shape)
        logits = self.decoder(feat)
        _, h, w = self.image_shape
        return logits[..., :h, :w]  # transposed convolutions may overshoot odd sizes

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = self.augment(batch["image"])
        logits = self.decode_logits(self.encode(self.corrupt(x)))
        bce, sse = self.reconstruction_terms(logits, x)
        return StepOutput(bce, {"sse": sse.detach()})

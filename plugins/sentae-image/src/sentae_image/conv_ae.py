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
from .conv_net import ConvDecoding, conv_decoder, conv_encoder
from .noise import InputNoiseConfig


@dataclass
class ConvAEConfig(InputNoiseConfig):
    channels: Annotated[list[int], Range(1)] = field(default_factory=lambda: [16, 32])  # output channels of each stride-2 convolution
    code_size: Annotated[int, Range(1)] = 16  # dimensions of the code vector

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sizes(self.channels, "channels")


class ConvAE(ConvDecoding, ImageAutoencoder):
    """Conv encoder (stride-2, ReLU) -> linear code -> linear + transposed-conv decoder with Bernoulli pixels."""

    name = "conv_ae"
    config_class = ConvAEConfig
    paper = "Masci et al. 2011, Stacked Convolutional Auto-Encoders for Hierarchical Feature Extraction"
    sentae_api = 1
    tiny_config = {"channels": [5, 11], "code_size": 7}

    def __init__(self, config: ConvAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        layers, self.feature_shape = conv_encoder(self.image_shape, config.channels)
        features = math.prod(self.feature_shape)
        self.encoder = nn.Sequential(*layers, nn.Linear(features, config.code_size))
        decoder = conv_decoder(self.image_shape[0], config.channels)  # built before expand: the seed's initial weights stay as they were
        self.expand = nn.Linear(config.code_size, features)
        self.decoder = decoder

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = self.augment(batch["image"])
        logits = self.decode_logits(self.encode(self.corrupt(x)))
        bce, sse = self.reconstruction_terms(logits, x)
        return StepOutput(bce, {"sse": sse.detach()})

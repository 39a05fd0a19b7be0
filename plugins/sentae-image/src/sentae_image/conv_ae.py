"""Convolutional autoencoder: strided convolutions down to a code vector, transposed convolutions back up."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, SentaeModel, StepContext, StepOutput


@dataclass
class ConvAEConfig:
    channels: list[int] = field(default_factory=lambda: [16, 32])  # output channels of each stride-2 convolution
    code_size: int = 16  # dimensions of the code vector
    noise_std: float = 0.0  # denoising: std of Gaussian noise added to inputs while training (0 = off)
    mask_prob: float = 0.0  # denoising: probability of zeroing each input pixel while training (0 = off)


class ConvAE(SentaeModel):
    """Conv encoder (stride-2, ReLU) -> linear code -> linear + transposed-conv decoder with Bernoulli pixels."""

    name = "conv_ae"
    modality = "image"
    config_class = ConvAEConfig
    paper = "Masci et al. 2011, Stacked Convolutional Auto-Encoders for Hierarchical Feature Extraction"
    sentae_api = 1

    def __init__(self, config: ConvAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        if data_info.image_shape is None:
            raise ValueError("conv_ae needs image data (data_info.image_shape)")
        c, h, w = data_info.image_shape
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

    @classmethod
    def default_data_info(cls) -> DataInfo:
        return DataInfo(modality="image", image_shape=(1, 8, 8), num_classes=10)

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """Denoising noise, applied only while training."""
        if not self.training:
            return x
        if self.config.noise_std > 0:
            x = x + self.config.noise_std * torch.randn_like(x)
        if self.config.mask_prob > 0:
            x = x * (torch.rand_like(x) >= self.config.mask_prob)
        return x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        feat = self.expand(code).view(-1, *self.feature_shape)
        logits = self.decoder(feat)
        _, h, w = self.data_info.image_shape
        return logits[..., :h, :w]  # transposed convolutions may overshoot odd sizes

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = batch["image"]
        logits = self.decode_logits(self.encode(self.corrupt(x)))
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        sse = ((torch.sigmoid(logits) - x) ** 2).sum() / x.shape[0]
        return StepOutput(bce, {"sse": sse.detach()})

    def example_batch(self, batch_size: int, generator: torch.Generator):
        return {"image": torch.rand(batch_size, *self.data_info.image_shape, generator=generator)}

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(self.encode(x)))

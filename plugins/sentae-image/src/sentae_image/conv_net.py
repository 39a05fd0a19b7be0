"""The convolutional encoder body and decoder that conv_ae, conv_vae and image_aae share: stride-2 3x3
convolutions down to a feature map, and the mirror image back up with transposed convolutions."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn


def conv_encoder(image_shape: Sequence[int], channels: Sequence[int]) -> tuple[list[nn.Module], tuple[int, int, int]]:
    """Layers ``Conv2d(stride 2) + ReLU`` per entry of ``channels``, then ``Flatten``; and the shape
    ``(C, H, W)`` of the feature map they leave (H and W halved per layer, rounded up)."""
    c, h, w = image_shape
    layers: list[nn.Module] = []
    in_ch = c
    for out_ch in channels:
        layers += [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1), nn.ReLU()]
        in_ch = out_ch
        h, w = math.ceil(h / 2), math.ceil(w / 2)
    return layers + [nn.Flatten()], (in_ch, h, w)


def conv_decoder(image_channels: int, channels: Sequence[int]) -> nn.Sequential:
    """Transposed convolutions from the deepest feature map back to ``image_channels`` logits, ReLU between
    them; each doubles the height and width (the caller crops what overshoots an odd size)."""
    ups: list[nn.Module] = []
    chans = list(reversed(channels))
    for i, ch in enumerate(chans):
        nxt = chans[i + 1] if i + 1 < len(chans) else image_channels
        ups.append(nn.ConvTranspose2d(ch, nxt, 3, stride=2, padding=1, output_padding=1))
        if i + 1 < len(chans):
            ups.append(nn.ReLU())
    return nn.Sequential(*ups)


class ConvDecoding(nn.Module):
    """Mixin for a model with ``expand`` (code -> flat feature map), ``decoder`` (conv_decoder), ``feature_shape``
    and ``image_shape``: the logits of a code, cropped to the image size."""

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        feat = self.expand(code).view(-1, *self.feature_shape)
        logits = self.decoder(feat)
        _, h, w = self.image_shape
        return logits[..., :h, :w]  # transposed convolutions may overshoot odd sizes

"""Denoising input noise and shift augmentation, the same options on every image model.

Every image model's config inherits ``InputNoiseConfig``, so ``noise_std``, ``mask_prob`` and ``shift_pixels``
mean the same thing everywhere. Noise: the model sees a corrupted copy of each training image and is scored on
reconstructing the clean one (Vincent et al. 2008). Shift: each training image is translated by a random whole
number of pixels (input and target alike), which multiplies a small training set by the number of offsets and
keeps a large network from memorising it. Both apply only while training; evaluation always sees the images as
they are.

Paired transforms (``input_transform``) are the deterministic kind of input corruption: the model is fed a
transformed image and trained to output the original, e.g. ``grayscale`` for colourization. Unlike noise the
transform is part of the model's input always, in training, validation and ``reconstruct``, so a trained
colourizer given a colour image sees its gray version, and given a gray image (the same on every channel) sees
it unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import torch

from sentae.schema import Range, check_declared_ranges


@dataclass
class InputNoiseConfig:
    noise_std: Annotated[float, Range(0)] = 0.0  # denoising: std of Gaussian noise added to input pixels while training (0 = off)
    mask_prob: Annotated[float, Range(0, 1, high_open=True)] = 0.0  # denoising: probability of zeroing each input pixel while training (0 = off)
    shift_pixels: Annotated[int, Range(0)] = 0  # augmentation: translate each training image by up to this many pixels per axis (0 = off)
    noise_clip: bool = False  # denoising: clip noisy input pixels to [0, 1], as a saved noisy image holds them
    input_transform: Literal["none", "grayscale"] = "none"  # paired transform fed to the model, trained to output the original: grayscale = luminance on every channel (colourization)

    def __post_init__(self) -> None:
        check_declared_ranges(self)  # every image model's config inherits this, so its own fields are checked too


LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 luminance weights of R, G, B


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luminance ``0.299 R + 0.587 G + 0.114 B`` of RGB images ``(N, 3, H, W)``, repeated over the 3 channels so
    the shape stays the same; a one-channel image is already gray and comes back as it is."""
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise ValueError(f"input_transform 'grayscale' needs RGB images (3 channels), got {x.shape[1]} channels")
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True).expand_as(x).contiguous()


def transform_input(x: torch.Tensor, transform: str) -> torch.Tensor:
    """``x`` under the paired transform ``transform`` (``none`` or ``grayscale``)."""
    if transform == "none":
        return x
    if transform == "grayscale":
        return grayscale(x)
    raise ValueError(f"unknown input_transform {transform!r}; known: none, grayscale")


def corrupt(x: torch.Tensor, noise_std: float = 0.0, mask_prob: float = 0.0, clip: bool = False) -> torch.Tensor:
    """``x`` with additive Gaussian noise of std ``noise_std`` (clipped to [0, 1] with ``clip``), then each pixel
    zeroed with probability ``mask_prob`` (masking noise). Draws from the global RNG, which the Trainer seeds."""
    if noise_std > 0:
        x = x + noise_std * torch.randn_like(x)
        if clip:
            x = x.clamp(0.0, 1.0)
    if mask_prob > 0:
        x = x * (torch.rand_like(x) >= mask_prob).to(x.dtype)
    return x


def random_shift(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Each image of ``x`` (``(N, C, H, W)``) translated by its own offsets ``dy, dx`` drawn uniformly from
    ``[-max_shift, max_shift]``; pixels shifted in from outside are 0 (the background of digit images). Draws from
    the global RNG, which the Trainer seeds."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    k = max_shift
    padded = torch.nn.functional.pad(x, (k, k, k, k))
    dy = torch.randint(0, 2 * k + 1, (n,), device=x.device)
    dx = torch.randint(0, 2 * k + 1, (n,), device=x.device)
    rows = (torch.arange(h, device=x.device) + dy[:, None])[:, :, None]  # (N, H, 1)
    cols = (torch.arange(w, device=x.device) + dx[:, None])[:, None, :]  # (N, 1, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    # advanced indices around the channel slice put their dims first: (N, H, W, C)
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2).contiguous()

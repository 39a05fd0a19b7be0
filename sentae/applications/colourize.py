"""Colourization: a model trained with ``input_transform: grayscale`` (fed each image's luminance, trained to
output the colour original) applied to gray or colour images. ``keep_luminance`` then puts the input's own
luminance back into the output, so that the model supplies only the colour and the detail of the input is kept
whatever the model's code lost."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 luminance weights of R, G, B, as the grayscale input transform uses


def luminance(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Luminance ``(N, 1, H, W)`` of images ``(N, C, H, W)`` (one channel: the image itself)."""
    x = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if x.shape[1] == 1:
        return x.astype(np.float32)
    w = np.asarray(LUMA, dtype=np.float32).reshape(1, 3, 1, 1)
    return (x.astype(np.float32) * w).sum(1, keepdims=True)


def keep_luminance(output: np.ndarray, inputs: np.ndarray | torch.Tensor) -> np.ndarray:
    """``output`` (RGB ``(N, 3, H, W)`` in [0, 1]) with its luminance replaced by that of ``inputs``: the same
    shift added to R, G and B (which keeps the colour differences R-G, B-G), clipped to [0, 1]."""
    return np.clip(output + (luminance(inputs) - luminance(output)), 0.0, 1.0).astype(np.float32)


def colourize(run: str | Path | Any, inputs: Any, *, keep_input_luminance: bool = True, batch_size: int = 256,
              device: str | torch.device = "cpu") -> tuple[np.ndarray, list[str]]:
    """Colour images ``(N, 3, H, W)`` float32 in [0, 1] of gray (or colour) ``inputs`` under the colourization
    model of ``run``, and a name per image; with ``keep_input_luminance`` the output keeps each input's luminance.

    >>> colour, names = sentae.applications.colourize("runs/colourize", "gray_photos/")   # doctest: +SKIP
    """
    from ..errors import SentaeError
    from .denoise import denoise_images
    from .inputs import read_image_inputs
    from .score import _sampler

    model = _sampler(run, device).model
    shape = model.data_info.image_shape
    if model.data_info.modality != "image" or shape is None or shape[0] != 3:
        raise SentaeError(f"model '{model.name}' does not output RGB images; colourize needs a colour image model "
                          f"(e.g. recipes/colourize_patches.yaml)")
    if getattr(model.config, "input_transform", "none") != "grayscale":
        raise SentaeError(f"model '{model.name}' was not trained to colourize (model.input_transform is "
                          f"'{getattr(model.config, 'input_transform', 'none')}'; train with input_transform: grayscale)")
    images, names = read_image_inputs(inputs, shape)
    out = denoise_images(model, images, batch_size).numpy()
    return (keep_luminance(out, images) if keep_input_luminance else out), names

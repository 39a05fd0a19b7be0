"""Denoising: each input image replaced by the model's reconstruction of it, the clean image an autoencoder
trained with input noise (``noise_std``, ``mask_prob``) has learnt to recover."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import SentaeError
from .inputs import batches, read_image_inputs


@torch.no_grad()
def denoise_images(model, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Reconstructions (pixel probabilities in [0, 1]) of ``images`` ``(N, C, H, W)``, in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.reconstruct(images[sl].to(device)).float().cpu() for sl in batches(len(images), batch_size)])


def denoise(run: str | Path | Any, inputs: Any, *, batch_size: int = 256,
            device: str | torch.device = "cpu") -> tuple[np.ndarray, list[str]]:
    """The denoised images ``(N, C, H, W)`` float32 in [0, 1] of ``inputs`` (an array/tensor, a ``.npy``/idx/PNG/
    JPEG file or a folder of images) under the image model of ``run``, and a name per image.

    >>> clean, names = sentae.denoise("runs/mnist_denoise", "noisy.npy")   # doctest: +SKIP
    """
    from .score import _sampler

    model = _sampler(run, device).model
    if model.data_info.modality != "image":
        raise SentaeError(f"model '{model.name}' is a {model.data_info.modality} model; denoise works on images")
    images, names = read_image_inputs(inputs, model.data_info.image_shape)
    return denoise_images(model, images, batch_size).numpy(), names


def write_images(images: np.ndarray, names: list[str], output: str | Path, force: bool = False) -> list[Path]:
    """Write images ``(N, C, H, W)`` in [0, 1]: to ``output.npy`` as one float32 array, or as 8-bit PNG files
    (``00000.png``, ...) in the folder ``output``. An existing file is refused unless ``force``; every file is
    written atomically."""
    from ..io import atomic_write_with

    out = Path(output)
    if out.suffix.lower() == ".npy":
        refuse_existing(out, force)
        return [write_npy(out, images)]
    from PIL import Image

    targets = [out / f"{i:05d}.png" for i in range(len(images))]
    if out.exists() and not out.is_dir():
        raise SentaeError(f"{out}: is a file; give a folder for PNG output or a name ending in .npy")
    for t in targets:
        refuse_existing(t, force)
    out.mkdir(parents=True, exist_ok=True)
    pixels = (np.clip(images, 0, 1) * 255 + 0.5).astype(np.uint8)
    for t, img in zip(targets, pixels):
        arr = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        atomic_write_with(t, lambda tmp, a=arr: Image.fromarray(a).save(tmp, format="PNG"))
    return targets


def refuse_existing(path: Path, force: bool) -> None:
    """sentae never replaces a file it was not asked to: an existing output needs ``force``."""
    if path.exists() and not force:
        raise SentaeError(f"{path}: already exists; remove it, choose another name, or pass --force to replace it")
    if path.is_dir():
        raise SentaeError(f"{path}: is a folder; give the name of a file to write")


def write_npy(path: Path, array: np.ndarray) -> Path:
    """``array`` as a ``.npy`` file, written atomically."""
    from ..io import atomic_write_with

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)

    return atomic_write_with(path, write)

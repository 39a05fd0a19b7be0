"""Reading the inputs of ``score``, ``denoise`` and ``encode``: images as ``(N, C, H, W)`` floats in [0, 1] of the
model's shape, sentences as non-empty lines. Bad input is one ``DataError`` naming the file and what is wrong."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import DataError

MAX_INPUTS = 1_000_000  # images or sentences in one call: the work on user input stays bounded
IMAGE_FILE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _as_images(arr: np.ndarray, image_shape: Sequence[int], where: str) -> torch.Tensor:
    """An array of images in one of the usual layouts as ``(N, C, H, W)`` float32 in [0, 1]: uint8 is read as
    0..255; floats must already lie in [0, 1]."""
    c, h, w = image_shape
    if arr.dtype == np.uint8:
        x = arr.astype(np.float32) / 255.0
    elif np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer):
        x = arr.astype(np.float32)
        if not np.isfinite(x).all():
            raise DataError(f"{where}: holds NaN or infinite pixel values")
        if x.size and (x.min() < 0 or x.max() > 1):
            raise DataError(f"{where}: pixel values must be in [0, 1] (or uint8 0..255), found "
                            f"{x.min():.4g}..{x.max():.4g}")
    else:
        raise DataError(f"{where}: pixel array of type {arr.dtype} is not numeric")
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3 and c == 1 and x.shape[1:] == (h, w):
        x = x[:, None]
    elif x.ndim == 3 and x.shape == (c, h, w):
        x = x[None]
    elif x.ndim == 4 and x.shape[1:] != (c, h, w) and x.shape[1:] == (h, w, c):
        x = x.transpose(0, 3, 1, 2)  # channels-last, as image libraries store them
    if x.ndim != 4 or x.shape[1:] != (c, h, w):
        raise DataError(f"{where}: images of shape {tuple(arr.shape[1:]) if arr.ndim > 2 else tuple(arr.shape)} do "
                        f"not fit the model, which reads {c}x{h}x{w} (channels x height x width)")
    if len(x) == 0:
        raise DataError(f"{where}: holds no images")
    if len(x) > MAX_INPUTS:
        raise DataError(f"{where}: {len(x):,} images is more than the {MAX_INPUTS:,} one call takes; split the file")
    return torch.from_numpy(np.ascontiguousarray(x))


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_FILE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no PNG/JPEG images in this folder or its sub-folders")
    return files


def read_image_inputs(source: str | Path | np.ndarray | torch.Tensor, image_shape: Sequence[int]) -> tuple[torch.Tensor, list[str]]:
    """Images ``(N, C, H, W)`` for a model reading ``image_shape``, and a name per image (its file, or its index).

    ``source``: an array or tensor; a ``.npy`` file; an MNIST-format idx file (``.gz`` too); a PNG/JPEG file; or a
    folder of PNG/JPEG files (sub-folders included, sorted by path), each converted to the model's channels and
    resized to its height and width."""
    c, h, w = image_shape
    if isinstance(source, (np.ndarray, torch.Tensor)):
        arr = source.detach().cpu().numpy() if isinstance(source, torch.Tensor) else source
        x = _as_images(arr, image_shape, "inputs")
        return x, [str(i) for i in range(len(x))]
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir() or path.suffix.lower() in IMAGE_FILE_SUFFIXES:
        from ..data.images import _load_image  # the image_folder source's reader: same conversion, same errors

        if c not in (1, 3):
            raise DataError(f"{path}: image files give 1 or 3 channels; the model reads {c}")
        files = _image_files(path) if path.is_dir() else [path]
        if len(files) > MAX_INPUTS:
            raise DataError(f"{path}: {len(files):,} images is more than the {MAX_INPUTS:,} one call takes")
        arr = np.stack([_load_image(p, c == 1, (h, w)) for p in files])
        names = [str(p.relative_to(path)) if path.is_dir() else p.name for p in files]
        return _as_images(arr, image_shape, str(path)), names
    if path.suffix.lower() == ".npy":
        with open(path, "rb") as fh:
            if fh.read(6) != b"\x93NUMPY":
                raise DataError(f"{path}: not a .npy file (it does not start with the NumPy header)")
        try:
            arr = np.load(path, allow_pickle=False)  # never unpickle a user's file
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable .npy array ({str(exc).splitlines()[0]})") from None
        x = _as_images(arr, image_shape, str(path))
        return x, [str(i) for i in range(len(x))]
    if "idx" in path.name or path.suffix.lower() in (".gz", ".ubyte"):
        from ..data.images import read_idx

        x = _as_images(read_idx(path), image_shape, str(path))
        return x, [str(i) for i in range(len(x))]
    raise DataError(f"{path}: unknown image input; give a .npy file, an idx file, a PNG/JPEG file or a folder of them")


def read_sentences(source: str | Path | Sequence[str]) -> list[str]:
    """Sentences from a list, or the non-blank lines of a UTF-8 file (stripped)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text ({exc})") from None
        except FileNotFoundError:
            raise DataError(f"{path}: no such file") from None
        lines = [line.strip() for line in text.split("\n")]
        where = str(path)
    else:
        lines, where = [str(s).strip() for s in source], "inputs"
    lines = [line for line in lines if line]
    if not lines:
        raise DataError(f"{where}: no sentences to read")
    if len(lines) > MAX_INPUTS:
        raise DataError(f"{where}: {len(lines):,} sentences is more than the {MAX_INPUTS:,} one call takes")
    return lines


def batches(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def describe_inputs(source: Any) -> str:
    return str(source) if isinstance(source, (str, Path)) else f"{type(source).__name__} inputs"

"""Image sources: scikit-learn's bundled 8x8 digits (no download) and MNIST-format idx files."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from ..model import Batch, DataInfo
from . import DataModule, register_source, resolve_path, split_indices


class ImageData(DataModule):
    """Images in [0, 1] as ``(N, C, H, W)`` float tensors with integer labels, split into train/val/test."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, splits: dict[str, list[int]], num_classes: int | None) -> None:
        self.images = images
        self.labels = labels
        self.index = {k: torch.tensor(v, dtype=torch.long) for k, v in splits.items()}
        self.info = DataInfo(modality="image", image_shape=tuple(images.shape[1:]), num_classes=num_classes)

    def split_names(self) -> list[str]:
        return [k for k in ("train", "val", "test") if k in self.index]

    def split_size(self, split: str) -> int:
        return len(self.index[split]) if split in self.index else 0

    def get_batch(self, split: str, indices: list[int]) -> Batch:
        rows = self.index[split][torch.as_tensor(indices, dtype=torch.long)]
        return {"image": self.images[rows], "label": self.labels[rows]}


def _limit(images: torch.Tensor, labels: torch.Tensor, cfg: DataConfig):
    if cfg.limit is not None:
        images, labels = images[: cfg.limit], labels[: cfg.limit]
    if len(images) < 3:
        raise DataError(f"data source '{cfg.source}' has {len(images)} images; at least 3 are needed to split")
    return images, labels


@register_source("digits")
def digits(cfg: DataConfig) -> ImageData:
    """scikit-learn's 1,797 8x8 digit images (pixel values 0..16 scaled to [0, 1])."""
    _no_options(cfg)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(bunch.target, dtype=torch.long)
    images, labels = _limit(images, labels, cfg)
    return ImageData(images, labels, split_indices(len(images), cfg.val_fraction, cfg.test_fraction, cfg.split_seed), 10)


def read_idx(path: Path) -> np.ndarray:
    """Read an MNIST-format idx file (optionally gzip-compressed); a truncated or foreign file is an error."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read idx file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an idx file (bad magic number)")
    dtype_code, ndim = raw[2], raw[3]
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise DataError(f"{path}: unknown idx data type 0x{dtype_code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated idx header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(dtypes[dtype_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path}: truncated or oversized idx file: {len(raw) - header} data bytes, shape {shape} needs {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


@register_source("mnist")
def mnist(cfg: DataConfig) -> ImageData:
    """MNIST-format idx images (and labels beside them) from ``data.path``.

    ``data.path`` is the images file; the labels file is found by replacing ``images-idx3`` with ``labels-idx1``.
    Without a separate test file, the set is split by ``val_fraction``/``test_fraction`` with ``split_seed``.
    """
    _no_options(cfg)
    path = resolve_path(cfg.path, "data source 'mnist'")
    if path.is_dir():
        candidates = sorted(path.glob("*images-idx3-ubyte*"))
        if not candidates:
            raise DataError(f"{path}: no '*images-idx3-ubyte*' file in this folder")
        path = candidates[0]
    images = read_idx(path)
    if images.ndim != 3:
        raise DataError(f"{path}: expected a 3-d idx image array, got shape {images.shape}")
    label_path = path.with_name(path.name.replace("images-idx3", "labels-idx1"))
    if label_path.exists():
        labels = torch.tensor(read_idx(label_path).astype(np.int64))
        if len(labels) != len(images):
            raise DataError(f"{label_path}: {len(labels)} labels for {len(images)} images in {path}")
        num_classes = 10
    else:
        labels, num_classes = torch.full((len(images),), -1, dtype=torch.long), None
    x = torch.tensor(images.astype(np.float32) / 255.0).unsqueeze(1)
    x, labels = _limit(x, labels, cfg)
    return ImageData(x, labels, split_indices(len(x), cfg.val_fraction, cfg.test_fraction, cfg.split_seed), num_classes)


def _no_options(cfg: DataConfig) -> None:
    if cfg.options:
        raise DataError(f"data source '{cfg.source}' takes no 'data.options' (got {', '.join(cfg.options)})")

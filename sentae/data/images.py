"""Image sources: scikit-learn's bundled 8x8 digits (no download), MNIST-format idx files, and folders of PNG/JPEG
images (Pillow)."""
from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import torch

from ..errors import DataError
from ..model import Batch, DataInfo
from ..schema import Range, check_declared_ranges
from .base import DataModule, resolve_path, split_indices
from .config import DataConfig
from .sources import register_source, source_options


class ImageData(DataModule):
    """Images in [0, 1] as ``(N, C, H, W)`` float tensors with integer labels, split into train/val/test."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, splits: dict[str, list[int]], num_classes: int | None) -> None:
        self.images = images
        self.labels = labels
        self.index = {k: torch.tensor(v, dtype=torch.long) for k, v in splits.items()}
        self.info = DataInfo(modality="image", image_shape=tuple(images.shape[1:]), num_classes=num_classes)
        self.class_names: list[str] = []  # label names where the source has them (image_folder sub-folders)

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


@dataclass
class NoOptions:
    """The options of a source that takes none: any key in ``data.options`` is an error."""


@register_source("digits", options=NoOptions)
def digits(cfg: DataConfig) -> ImageData:
    """scikit-learn's 1,797 8x8 digit images (pixel values 0..16 scaled to [0, 1])."""
    source_options(cfg, NoOptions)
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("data source 'digits' is scikit-learn's bundled digits: pip install scikit-learn "
                        "(installed with the sentae-image plugin)") from None

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


@register_source("mnist", options=NoOptions)
def mnist(cfg: DataConfig) -> ImageData:
    """MNIST-format idx images (and labels beside them) from ``data.path``.

    ``data.path`` is the images file (or a folder holding one); the labels file is found by replacing
    ``images-idx3`` with ``labels-idx1``. The set is split by ``val_fraction``/``test_fraction`` with ``split_seed``.
    The image recipes use the 10,000-image MNIST test set this way as 8,000 train / 2,000 test images:
    ``val_fraction: 0.0, test_fraction: 0.2, split_seed: 0``.
    """
    source_options(cfg, NoOptions)
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


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class ImageFolderOptions:
    """Options of the ``image_folder`` source."""

    grayscale: bool = True  # convert every image to one channel; false keeps RGB (3 channels)
    size: Annotated[list[int] | None, Range(1)] = None  # [height, width] in pixels, to resize every image to (null: as read)

    def __post_init__(self) -> None:
        check_declared_ranges(self, "data.options.")
        if self.size is not None and len(self.size) != 2:
            raise ValueError(f"data.options.size must be [height, width] in pixels, got {self.size!r}")


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _load_image(path: Path, gray: bool, size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()  # decode now, so that a truncated file fails here with its name
            im = im.convert("L" if gray else "RGB")
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:  # UnidentifiedImageError is an OSError
        raise DataError(f"{path}: cannot read image, the file is truncated, corrupt or not an image ({exc})") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


@register_source("image_folder", options=ImageFolderOptions)
def image_folder(cfg: DataConfig) -> ImageData:
    """PNG/JPEG images from the folder ``data.path``, read with Pillow, pixels scaled to [0, 1].

    Images directly in the folder are unlabelled; images in sub-folders are labelled by sub-folder name (sorted
    names -> 0, 1, ...). ``data.options``: ``grayscale`` (default true; false keeps RGB) and ``size: [height,
    width]`` to resize every image (needed when their sizes differ). ``data.limit`` keeps the first N files.
    """
    o = source_options(cfg, ImageFolderOptions)
    gray, size = o.grayscale, (tuple(o.size) if o.size is not None else None)
    root = resolve_path(cfg.path, "data source 'image_folder'")
    if not root.is_dir():
        raise DataError(f"{root}: data source 'image_folder' needs a folder of PNG/JPEG images")
    top = _image_files(root)
    classes = [d for d in sorted(root.iterdir()) if d.is_dir() and _image_files(d)]
    if top and classes:
        raise DataError(f"{root}: holds images both directly and in sub-folders ({classes[0].name}/); put them all in "
                        f"class sub-folders (labelled) or all in the folder itself (unlabelled)")
    if classes:
        files = [(p, k) for k, d in enumerate(classes) for p in _image_files(d)]
    else:
        files = [(p, -1) for p in top]
    if not files:
        raise DataError(f"{root}: no {'/'.join(s[1:].upper() for s in IMAGE_SUFFIXES)} images in this folder or its sub-folders")
    if cfg.limit is not None:
        files = files[: cfg.limit]
    arrays = []
    for path, _ in files:
        arr = _load_image(path, gray, size)
        if arrays and arr.shape != arrays[0].shape:
            raise DataError(f"{path}: image is {arr.shape[2]}x{arr.shape[1]} pixels but {files[0][0]} is "
                            f"{arrays[0].shape[2]}x{arrays[0].shape[1]}; set data.options.size: [height, width] to resize them")
        arrays.append(arr)
    images = torch.from_numpy(np.stack(arrays)).float() / 255.0
    labels = torch.tensor([k for _, k in files], dtype=torch.long)
    images, labels = _limit(images, labels, cfg)
    data = ImageData(images, labels, split_indices(len(images), cfg.val_fraction, cfg.test_fraction, cfg.split_seed),
                     len(classes) or None)
    data.class_names = [d.name for d in classes]
    return data

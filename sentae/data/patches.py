"""The ``photo_patches`` image source: square RGB patches cut from a few large photos, by default the two colour
photos scikit-learn bundles (``load_sample_images``: china.jpg and flower.jpg, 427x640 each, no download).

The split is by region, not by patch: each photo's grid of ``patch``-pixel columns is cut left to right into a
train, a val and a test band (``val_fraction`` and ``test_fraction`` of the columns, the test band rightmost).
Val and test patches tile their band without overlap; train patches may overlap each other (``train_stride``),
but never reach into another band, so no pixel of a test patch is ever seen in training. The split is fixed by the
photos and the fractions alone (``split_seed`` plays no part)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
import torch

from ..errors import DataError
from ..schema import Range, check_declared_ranges
from .config import DataConfig
from .images import IMAGE_SUFFIXES, ImageData, _load_image
from .base import resolve_path
from .sources import register_source, source_options


@dataclass
class PhotoPatchOptions:
    """Options of the ``photo_patches`` source."""

    patch: Annotated[int, Range(4, 512)] = 32  # side of each square patch, in pixels
    train_stride: Annotated[int | None, Range(1)] = None  # step between train patches in pixels (null: the patch side, no overlap)

    def __post_init__(self) -> None:
        check_declared_ranges(self, "data.options.")


def _photos(cfg: DataConfig) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 array (3, H, W)) of each photo: scikit-learn's two, or every PNG/JPEG in ``data.path``."""
    if not cfg.path:
        try:
            from sklearn.datasets import load_sample_images
        except ImportError:
            raise DataError("data source 'photo_patches' without data.path cuts scikit-learn's bundled photos: "
                            "pip install scikit-learn (installed with the sentae-image plugin)") from None
        bunch = load_sample_images()
        names = [str(f).replace("\\", "/").rsplit("/", 1)[-1] for f in bunch.filenames]
        return [(n, np.ascontiguousarray(im.transpose(2, 0, 1))) for n, im in zip(names, bunch.images)]
    root = resolve_path(cfg.path, "data source 'photo_patches'")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{root}: no PNG/JPEG photos to cut patches from")
    return [(p.name, _load_image(p, False, None)) for p in files]


def cut_patches(photo: np.ndarray, patch: int, val_fraction: float, test_fraction: float,
                train_stride: int) -> dict[str, list[tuple[int, int]]]:
    """Top-left corners ``(row, col)`` of the patches of each split in one photo ``(C, H, W)`` (see the module)."""
    _, h, w = photo.shape
    rows, cols = h // patch, w // patch
    n_test, n_val = int(round(cols * test_fraction)), int(round(cols * val_fraction))
    n_train = cols - n_test - n_val
    if rows < 1 or n_train < 1:
        raise DataError(f"a {w}x{h} photo has {cols} columns of {patch}-pixel patches, too few for val_fraction "
                        f"{val_fraction} and test_fraction {test_fraction} to leave a train band")
    bands = {"train": (0, n_train * patch), "val": (n_train * patch, (n_train + n_val) * patch),
             "test": ((n_train + n_val) * patch, cols * patch)}
    out: dict[str, list[tuple[int, int]]] = {}
    for split, (x0, x1) in bands.items():
        step = train_stride if split == "train" else patch
        out[split] = [(y, x) for y in range(0, rows * patch - patch + 1, step) for x in range(x0, x1 - patch + 1, step)]
    return out


@register_source("photo_patches", options=PhotoPatchOptions)
def photo_patches(cfg: DataConfig) -> ImageData:
    """RGB ``patch`` x ``patch`` patches in [0, 1] of scikit-learn's two sample photos (or of the photos in
    ``data.path``), split by region (module docstring). Labels: the index of the photo a patch comes from.
    ``data.limit`` keeps the first N train patches."""
    o = source_options(cfg, PhotoPatchOptions)
    if not (0 <= cfg.val_fraction < 1 and 0 <= cfg.test_fraction < 1 and cfg.val_fraction + cfg.test_fraction < 1):
        raise DataError(f"data.val_fraction ({cfg.val_fraction}) and data.test_fraction ({cfg.test_fraction}) must "
                        f"be in [0, 1) and sum below 1")
    stride = o.train_stride or o.patch
    arrays: list[np.ndarray] = []
    labels: list[int] = []
    splits: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for k, (name, photo) in enumerate(_photos(cfg)):
        if photo.shape[0] != 3:
            raise DataError(f"{name}: photo_patches needs RGB photos, this one has {photo.shape[0]} channels")
        for split, corners in cut_patches(photo, o.patch, cfg.val_fraction, cfg.test_fraction, stride).items():
            for y, x in corners:
                splits[split].append(len(arrays))
                arrays.append(photo[:, y:y + o.patch, x:x + o.patch])
                labels.append(k)
    if cfg.limit is not None:
        splits["train"] = splits["train"][: cfg.limit]
    if not splits["train"]:
        raise DataError("data source 'photo_patches': no train patches")
    images = torch.from_numpy(np.stack(arrays)).float() / 255.0
    return ImageData(images, torch.tensor(labels, dtype=torch.long), splits, None)

"""What every data source builds on: the ``DataModule`` base class, data paths and fixed random splits."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..errors import DataError
from ..model import Batch, DataInfo

__all__ = ["DATA_DIR_ENV", "SPLIT_ALIASES", "DataModule", "canonical_split", "resolve_path", "split_indices"]

DATA_DIR_ENV = "SENTAE_DATA_DIR"
# Other names the same held-out splits go by (Hugging Face's "validation", the papers' "dev").
SPLIT_ALIASES = {"dev": "val", "valid": "val", "validation": "val", "eval": "val"}


def canonical_split(name: str) -> str:
    """sentae's name of a split: ``dev``, ``valid``, ``validation`` -> ``val``; other names unchanged."""
    return SPLIT_ALIASES.get(name.strip().lower(), name.strip()) if isinstance(name, str) else name


class DataModule:
    """Splits of one corpus plus how to batch them. Subclasses fill ``info`` and implement ``get_batch``."""

    info: DataInfo

    def split_size(self, split: str) -> int:
        raise NotImplementedError

    def split_names(self) -> list[str]:
        raise NotImplementedError

    def get_batch(self, split: str, indices: list[int]) -> Batch:
        raise NotImplementedError

    def batches(self, split: str, batch_size: int, *, epoch: int = 0, seed: int = 0, shuffle: bool = True) -> list[list[int]]:
        """Index batches of one epoch. Deterministic in (seed, epoch) and independent of the global RNG, so a
        resumed run replays exactly the order an uninterrupted run would have used."""
        n = self.split_size(split)
        if shuffle:
            g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
            order = torch.randperm(n, generator=g).tolist()
        else:
            order = list(range(n))
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]

    def save(self, run_dir: Path) -> None:
        """Write what is needed to rebuild inputs later (tokenizer files for text); nothing for images."""

    def describe(self) -> str:
        sizes = ", ".join(f"{s} {self.split_size(s):,}" for s in self.split_names())
        return f"{self.info.modality} data: {sizes}"


def resolve_path(path: str | None, what: str) -> Path:
    """A data path as given, or relative to $SENTAE_DATA_DIR when it does not exist as given."""
    if not path:
        raise DataError(f"{what}: 'data.path' is required for this source")
    p = Path(path).expanduser()
    if p.exists():
        return p
    root = os.environ.get(DATA_DIR_ENV)
    if root and (Path(root) / path).exists():
        return Path(root) / path
    where = f" (nor under ${DATA_DIR_ENV}={root})" if root else f" (set ${DATA_DIR_ENV} to resolve relative paths)"
    raise DataError(f"{what}: path not found: {path}{where}")


def split_indices(n: int, val_fraction: float, test_fraction: float, seed: int) -> dict[str, list[int]]:
    """A fixed random train/val/test split of ``n`` examples, reproducible from ``seed``."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DataError(f"data.val_fraction ({val_fraction}) and data.test_fraction ({test_fraction}) must be in [0, 1) and sum below 1")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    return {
        "test": sorted(order[:n_test]),
        "val": sorted(order[n_test : n_test + n_val]),
        "train": sorted(order[n_test + n_val :]),
    }

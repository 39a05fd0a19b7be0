"""Fixed subsets of a split, the same for every model and every run."""
from __future__ import annotations

import torch


def subset_indices(n: int, size: int | None, seed: int) -> list[int]:
    """A fixed subset: ``size`` indices drawn with ``seed``, in file order (all of them when size is None)."""
    if size is None or size >= n:
        return list(range(n))
    return sorted(torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:size].tolist())

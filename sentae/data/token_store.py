"""Token ids held in flat arrays instead of Python lists, and length-bucketed batches computed over them.

A split's ids are one flat array of token ids (``uint16`` while the vocabulary fits, ``int32`` above) and an
``int64`` offsets array (sentence ``i`` is ``tokens[offsets[i]:offsets[i + 1]]``); both may be memory-mapped files,
so a split of ten million sentences costs the pages that are read, not ten million Python lists.

``bucketed_batches`` is ``TextData.batches`` (shuffle, sort every chunk of 50 batches by length, cut, shuffle the
batch order) done with array sorts: the same generator calls in the same order, a stable sort by (chunk, length),
so the batches are exactly those of the list version, index for index.
"""
from __future__ import annotations

from typing import Iterator, Sequence, overload

import numpy as np
import torch

__all__ = ["BatchList", "RaggedIds", "bucketed_batches", "token_dtype"]


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest array type that holds every id of a vocabulary of ``vocab_size``."""
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.int32)


class _IdLists(Sequence[list[int]]):
    """What both array-backed sequences share: iteration by index, and ``==`` with one of their own kind or with a
    list of lists, element by element (as the list versions they stand in for compare)."""

    def __iter__(self) -> Iterator[list[int]]:
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (type(self), list, tuple)):
            return len(self) == len(other) and all(a == list(b) for a, b in zip(self, other))
        return NotImplemented


class RaggedIds(_IdLists):
    """The token ids of one split as a read-only sequence of ``list[int]`` over ``tokens`` and ``offsets``."""

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray) -> None:
        self.tokens, self.offsets = tokens, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, i: int) -> list[int]: ...
    @overload
    def __getitem__(self, i: slice) -> list[list[int]]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"sentence {i} of {n}")
        return self.tokens[self.offsets[i] : self.offsets[i + 1]].tolist()

    def lengths(self) -> np.ndarray:
        """Tokens per sentence (without bos/eos), as ``int32``."""
        return np.diff(self.offsets).astype(np.int32)


class BatchList(_IdLists):
    """The batches of one epoch, lazily: batch ``k`` is ``order[s:s + batch_size]`` with ``s = perm[k] * batch_size``.
    Slicing gives another ``BatchList`` (the Trainer slices for resume and for DDP ranks); an item is a
    ``list[int]``, as from the list version; ``==`` compares with a list of lists."""

    def __init__(self, order: np.ndarray, batch_size: int, perm: np.ndarray) -> None:
        self.order, self.batch_size, self.perm = order, batch_size, perm

    def __len__(self) -> int:
        return len(self.perm)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return BatchList(self.order, self.batch_size, self.perm[k])
        start = int(self.perm[k]) * self.batch_size
        return self.order[start : start + self.batch_size].tolist()

    def tolist(self) -> list[list[int]]:
        return list(self)


def bucketed_batches(lengths: np.ndarray, batch_size: int, *, seed: int, epoch: int) -> BatchList:
    """Length-bucketed batches of a split with these sentence lengths, deterministic in (seed, epoch)."""
    n = len(lengths)
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    chunk = 50 * batch_size
    width = int(lengths.max(initial=0)) + 1
    # int32 where the numbers fit: at ten million sentences every array here is 40 MB instead of 80
    small = n < 2**31 and (n // chunk + 1) * width < 2**31
    kind = np.int32 if small else np.int64
    order = torch.randperm(n, generator=g).numpy().astype(kind)
    # One stable sort by (chunk, length) is the list version's stable sort of each chunk by length: ties keep the
    # shuffled order. Every chunk but the last holds a whole number of batches, so cutting the sorted order every
    # batch_size positions gives exactly its batches.
    keys = (np.arange(n, dtype=kind) // chunk) * width + np.asarray(lengths, dtype=kind)[order]
    order = order[np.argsort(keys, kind="stable")]
    del keys
    count = -(-n // batch_size)
    perm = torch.randperm(count, generator=g).numpy()
    return BatchList(order, batch_size, perm)

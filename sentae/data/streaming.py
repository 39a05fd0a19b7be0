"""Training batches read as a stream: a split of a token store cut into windows of ``shuffle_buffer`` consecutive
sentences, each window a shuffle buffer.

For epoch ``e`` with seed ``s``:

1. the windows are visited in an order drawn from ``(s, e)`` (the store is memory-mapped, so a window is read where
   it lies; nothing before it is read);
2. under DDP, rank ``r`` of ``w`` takes every ``w``-th window of that order, starting at the ``r``-th: the ranks read
   disjoint shards, and each reads its windows front to back;
3. inside a window, the sentences are length-bucketed exactly as a whole split is without streaming (shuffle, sort
   each chunk of 50 batches by length, cut into batches, shuffle the batches; ``token_store.bucketed_batches``),
   with a generator drawn from ``(s, e, window)``.

Memory: the plan of one window (``shuffle_buffer`` sentence indices) and a few numbers per window; never a list of
the split. Every batch is a function of ``(seed, epoch, position)``, so a run resumed at a position gives exactly the
batches an uninterrupted run gives from there, and ``position`` says where the stream stands (the Trainer keeps it
in its state and checks it on resume).
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch

from ..errors import DataError
from .token_store import BatchList, bucketed_batches

__all__ = ["STREAM_CHECKED", "LazyLengths", "StreamPlan", "TokenStream", "check_position"]

# The keys of a position that a resume must find unchanged: anything else about the stream follows from them
# and train.seed (which a resume cannot change either).
STREAM_CHECKED = ("store", "sentences", "shuffle_buffer", "batch_size", "world", "epoch", "pos")


class LazyLengths(Sequence[int]):
    """Sentence lengths (bos/eos included) read from an offsets array when asked, not kept as an array."""

    def __init__(self, offsets: np.ndarray, extra: int = 2) -> None:
        self.offsets, self.extra = offsets, extra

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                return [self[k] for k in range(start, stop, step)]
            return (np.diff(self.offsets[start : stop + 1]) + self.extra).astype(np.int32)
        return int(self.offsets[i + 1] - self.offsets[i]) + self.extra


class StreamPlan(Sequence[list[int]]):
    """The batches of one epoch of a streamed split, for one rank, computed a window at a time. ``plan[k]`` is a
    list of sentence indices; ``len(plan)`` is equal on every rank (the longer shards are cut to the shortest)."""

    def __init__(self, offsets: np.ndarray, batch_size: int, shuffle_buffer: int, *, seed: int, epoch: int,
                 rank: int = 0, world: int = 1, store: str = "") -> None:
        if shuffle_buffer < 1 or batch_size < 1:
            raise DataError(f"a stream needs shuffle_buffer >= 1 and batch_size >= 1, got {shuffle_buffer}, {batch_size}")
        self.offsets, self.batch_size, self.buffer = offsets, batch_size, shuffle_buffer
        self.seed, self.epoch, self.rank, self.world, self.store = seed, epoch, rank, world, store
        self.sentences = len(offsets) - 1
        windows = -(-self.sentences // shuffle_buffer)
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        self.order = torch.randperm(windows, generator=g).numpy()  # one number per window, not per sentence
        counts = -(-np.minimum(shuffle_buffer, self.sentences - self.order * shuffle_buffer) // batch_size)
        per_rank = [int(counts[r::world].sum()) for r in range(world)]
        self.mine = self.order[rank::world]
        self.ends = np.cumsum(counts[rank::world])  # batches of this rank's plan up to the end of each window
        self.length = min(per_rank)  # every rank steps the same number of times
        self._window: tuple[int, BatchList] | None = None  # the one window plan held

    def shard(self, rank: int, world: int) -> StreamPlan:
        """The plan of rank ``rank`` of ``world`` (its own windows), for the same epoch."""
        return StreamPlan(self.offsets, self.batch_size, self.buffer, seed=self.seed, epoch=self.epoch, rank=rank,
                          world=world, store=self.store)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if k < 0:
            k += self.length
        if not 0 <= k < self.length:
            raise IndexError(f"batch {k} of {self.length}")
        j, b = self._locate(k)
        window = int(self.mine[j])
        start = window * self.buffer
        return [start + i for i in self._plan(window)[b]]  # indices inside the window -> in the split

    def __iter__(self) -> Iterator[list[int]]:
        for k in range(self.length):
            yield self[k]

    def _locate(self, k: int) -> tuple[int, int]:
        """(index into this rank's windows, batch inside that window) of batch ``k``."""
        j = int(np.searchsorted(self.ends, k, side="right"))
        return j, k - (int(self.ends[j - 1]) if j else 0)

    def _plan(self, window: int) -> BatchList:
        """The bucketed batches of one window (indices inside it); the last one asked for is kept."""
        if self._window is None or self._window[0] != window:
            start = window * self.buffer
            stop = min(start + self.buffer, self.sentences)
            lengths = np.diff(self.offsets[start : stop + 1]).astype(np.int32)
            seed = (self.seed * 1_000_003 + self.epoch) * 1_000_033 + window
            self._window = (window, bucketed_batches(lengths, self.batch_size, seed=seed % (1 << 62), epoch=0))
        return self._window[1]

    def held(self) -> int:
        """Sentence indices this plan holds now (at most one window's)."""
        return 0 if self._window is None else len(self._window[1].order)

    def position(self, pos: int) -> dict[str, Any]:
        """Where the stream stands after ``pos`` batches of this plan: what a checkpoint records. ``window`` and
        ``window_start`` name the window the next batch comes from (-1 at the end of the epoch)."""
        if pos < self.length:
            j, b = self._locate(pos)
            window, inside = int(self.mine[j]), b
        else:
            window, inside = -1, 0
        return {"store": self.store, "sentences": self.sentences, "shuffle_buffer": self.buffer,
                "batch_size": self.batch_size, "world": self.world, "epoch": self.epoch, "pos": int(pos),
                "window": window, "window_start": window * self.buffer if window >= 0 else -1,
                "batch_in_window": inside}


def check_position(saved: dict[str, Any], now: dict[str, Any]) -> None:
    """A ``DataError`` when a resumed stream is not where the checkpoint left it (another corpus, shuffle buffer,
    batch size or number of processes)."""
    changed = [k for k in STREAM_CHECKED if saved.get(k) != now.get(k)]
    if changed:
        what = ", ".join(f"{k} {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise DataError(f"--resume: the training stream is not the one the checkpoint was reading ({what}); resume "
                        f"with the same corpus, data.options.shuffle_buffer, train.batch_size and number of processes")


class TokenStream(torch.utils.data.IterableDataset):
    """The training batches of a streamed ``TextData`` as an iterable, epoch after epoch, with its position as
    state: ``state_dict()`` after a batch, ``load_state_dict()`` in a new process, and iteration continues with the
    batch that would have come next.

    >>> stream = TokenStream(data, batch_size=32, seed=0)     # doctest: +SKIP
    >>> batch = next(iter(stream)); state = stream.state_dict()  # doctest: +SKIP
    """

    def __init__(self, data: Any, batch_size: int, *, seed: int = 0, split: str = "train", rank: int = 0,
                 world: int = 1) -> None:
        super().__init__()
        self.data, self.batch_size, self.seed, self.split = data, batch_size, seed, split
        self.rank, self.world = rank, world
        self.epoch = self.pos = 0

    def plan(self) -> StreamPlan:
        plan = self.data.batches(self.split, self.batch_size, epoch=self.epoch, seed=self.seed)
        if not isinstance(plan, StreamPlan):
            raise DataError("TokenStream needs data built with data.options.stream: true")
        return plan.shard(self.rank, self.world) if self.world > 1 else plan

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        while True:
            plan = self.plan()
            if not len(plan):
                raise DataError(f"the {self.split} split gives no batch of {self.batch_size} per process")
            while self.pos < len(plan):
                indices = plan[self.pos]
                self.pos += 1
                yield self.data.get_batch(self.split, indices)
            self.epoch, self.pos = self.epoch + 1, 0

    def state_dict(self) -> dict[str, Any]:
        return {**self.plan().position(self.pos), "rank": self.rank}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        check_position(state, self.plan().position(self.pos))

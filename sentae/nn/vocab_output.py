"""The decoder's distribution over the vocabulary: a full softmax, or an adaptive softmax (Grave et al. 2017).

Both give a normalised distribution, so every NLL, perplexity and importance-weighted bound stays exact; they
differ in cost. The full softmax projects every position onto every word. The adaptive softmax projects onto a
short list of the most frequent words plus one entry per tail cluster, and only the few positions whose target
lies in a tail cluster pay for that cluster's (smaller) projection: with 2,000 of PTB's 10,000 words in the short
list, 87% of tokens never leave the head and the output layer does about a fifth of the work.

Token ids must be ordered by frequency for the adaptive softmax to pay off (sentae's word tokenizer is); with any
other order it is still exact, only slower and usually worse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..schema import Range, check_declared_ranges


@dataclass
class SoftmaxConfig:
    kind: Literal["full", "adaptive"] = "full"  # full: one projection onto the vocabulary; adaptive: Grave et al. 2017
    cutoffs: Annotated[list[int], Range(1)] = field(default_factory=lambda: [2000, 6000])  # adaptive: token ids where the short list and each tail cluster end
    div_value: Annotated[float, Range(1)] = 4.0  # adaptive: tail cluster i projects to hidden_size / div_value**(i+1) dimensions first

    def __post_init__(self) -> None:
        if self.kind not in ("full", "adaptive"):
            raise ValueError(f"softmax.kind must be full or adaptive, got {self.kind!r}")
        # Increasing and below the vocabulary size are checked by AdaptiveSoftmax, which knows the vocabulary.
        check_declared_ranges(self, "softmax.")


# Scores per chunk of rows when no gradient is kept: about 20 MB of float32 logits. Evaluation scores tens of
# thousands of positions at once (IW-NLL decodes K copies of a batch); one [N, V] tensor of logits and another of
# log-probabilities for all of them is gigabytes, and the kernel's page faults on such fresh buffers cost more
# time than the products themselves (system time 2x user time with K = 50 on PTB).
NO_GRAD_CHUNK_VALUES = 5_120_000


def chunked_nll(nll: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], hidden: torch.Tensor,
                targets: torch.Tensor, width: int) -> torch.Tensor:
    """``nll(hidden, targets)`` over chunks of rows when no gradient is needed (the same numbers, cache-sized
    temporaries); in one call when autograd has to keep the graph."""
    rows = max(1, NO_GRAD_CHUNK_VALUES // max(1, width))
    if hidden.shape[0] <= rows or (torch.is_grad_enabled() and hidden.requires_grad):
        return nll(hidden, targets)
    return torch.cat([nll(h, t) for h, t in zip(hidden.split(rows), targets.split(rows))])


class FullSoftmax(nn.Linear):
    """One linear map onto the vocabulary; ``scores`` are its logits. (A Linear, so its weights keep the names
    ``output.weight``/``output.bias`` in every run folder.)"""

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """-log p(target | hidden) for each row of ``hidden [N, H]``, in nats, float32: ``[N]``."""
        return chunked_nll(self._nll, hidden, targets, self.out_features)

    def _nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self(hidden).float(), targets, reduction="none")

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """Unnormalised log-probabilities of every word: ``[N, V]``."""
        return self(hidden)


class AdaptiveSoftmax(nn.Module):
    """Adaptive softmax: a head over the short list and one entry per tail cluster; p(w) = p_head(cluster of w)
    * p_cluster(w) for a tail word. Softmaxes run in float32 under bf16/fp16 autocast, like the full softmax's."""

    def __init__(self, hidden_size: int, vocab_size: int, cutoffs: list[int], div_value: float = 4.0) -> None:
        super().__init__()
        cutoffs = [int(c) for c in cutoffs]
        if not cutoffs or any(b <= a for a, b in zip(cutoffs, cutoffs[1:])) or cutoffs[0] < 1 or cutoffs[-1] >= vocab_size:
            raise ValueError(f"softmax.cutoffs must be increasing token ids between 1 and the vocabulary size "
                             f"{vocab_size} (exclusive), got {cutoffs}")
        self.vocab_size = vocab_size
        self.shortlist = cutoffs[0]
        self.register_buffer("bounds", torch.tensor(cutoffs), persistent=False)
        edges = cutoffs + [vocab_size]
        self.head = nn.Linear(hidden_size, self.shortlist + len(cutoffs))
        self.tails = nn.ModuleList()
        for i, (lo, hi) in enumerate(zip(edges, edges[1:])):
            width = max(1, int(hidden_size // div_value ** (i + 1)))
            self.tails.append(nn.Sequential(nn.Linear(hidden_size, width, bias=False), nn.Linear(width, hi - lo)))
        self.starts = edges[:-1]

    def _head_logp(self, hidden: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the short-list words and of each tail cluster, float32: ``[N, shortlist + tails]``."""
        return F.log_softmax(self.head(hidden).float(), -1)

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """-log p(target | hidden) for each row of ``hidden [N, H]``, in nats, float32: ``[N]``."""
        return chunked_nll(self._nll, hidden, targets, self.head.out_features)

    def _nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        cluster = torch.bucketize(targets, self.bounds, right=True)  # 0: short list, i >= 1: tail i - 1
        head_target = torch.where(cluster == 0, targets, self.shortlist + cluster - 1)
        head_logp = self._head_logp(hidden)
        nll = -head_logp.gather(1, head_target.unsqueeze(1)).squeeze(1)
        for i, tail in enumerate(self.tails):
            rows = (cluster == i + 1).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            tail_logp = F.log_softmax(tail(hidden[rows]).float(), -1)
            word = (targets[rows] - self.starts[i]).unsqueeze(1)
            nll = nll.index_add(0, rows, -tail_logp.gather(1, word).squeeze(1))
        return nll

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of every word (already normalised): ``[N, V]``."""
        head_logp = self._head_logp(hidden)
        parts = [head_logp[:, : self.shortlist]]
        for i, tail in enumerate(self.tails):
            cluster_logp = head_logp[:, self.shortlist + i : self.shortlist + i + 1]
            parts.append(cluster_logp + F.log_softmax(tail(hidden).float(), -1))
        return torch.cat(parts, -1)


def make_vocab_output(hidden_size: int, vocab_size: int, config: SoftmaxConfig | None = None) -> nn.Module:
    """The output layer ``config`` asks for; both kinds provide ``nll(hidden, targets)`` and ``scores(hidden)``."""
    config = config or SoftmaxConfig()
    if config.kind == "adaptive":
        return AdaptiveSoftmax(hidden_size, vocab_size, config.cutoffs, config.div_value)
    return FullSoftmax(hidden_size, vocab_size)

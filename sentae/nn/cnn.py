"""Convolutional sentence encoder and classifier (Kim 2014): embeddings, 1-D convolutions of several widths, max
over time. Both read token ids or soft embeddings, so a classifier can judge generated sentences differentiably.

The window rule: a width-w filter's max runs over the windows that lie wholly inside the sentence (bos and eos
included); a sentence shorter than w has no such window and uses the one at its start, whose positions beyond the
sentence's end read zeros. Positions outside the sentence are zeroed before the convolution, so neither how much
padding a batch has nor what the pad positions hold (a trained pad row, a soft sentence's tail) changes a
sentence's features.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class SentenceCNN(nn.Module):
    """Sentence features ``[B, filters * len(widths)]``: one max-pooled activation per filter and width."""

    def __init__(self, vocab_size: int, embedding_size: int, filters: int = 64, widths: Sequence[int] = (3, 4, 5),
                 dropout: float = 0.0, pad_id: int = 0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_size, filters, w) for w in widths)
        self.widths = list(widths)
        self.dropout = nn.Dropout(dropout)  # on the embeddings
        self.output_size = filters * len(self.widths)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Features of framed token ids ``[B, T]`` (bos .. eos, padded) with ``lengths [B]``."""
        positions = torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0)
        return self.forward_embedded(self.embedding(tokens), positions < lengths.to(tokens.device).unsqueeze(1))

    def forward_embedded(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Features of embeddings ``[B, T, E]`` with ``mask [B, T]`` True at the sentence's positions (a prefix)."""
        short = max(self.widths) - emb.shape[1]
        if short > 0:  # every filter needs at least one window
            emb = F.pad(emb, (0, 0, 0, short))
            mask = F.pad(mask, (0, short), value=False)
        x = self.dropout(emb * mask.unsqueeze(2).to(emb.dtype)).transpose(1, 2)  # [B, E, T], zero outside
        lengths = mask.sum(1, keepdim=True)  # [B, 1]
        pooled = []
        for conv, width in zip(self.convs, self.widths):
            h = F.relu(conv(x))  # [B, F, T - width + 1]
            start = torch.arange(h.shape[2], device=h.device).unsqueeze(0)
            inside = (start + width <= lengths) | (start == 0)  # [B, windows]
            pooled.append(h.masked_fill(~inside.unsqueeze(1), float("-inf")).amax(2))
        return torch.cat(pooled, 1)


class TextCNN(SentenceCNN):
    """A SentenceCNN with a linear head: class logits ``[B, num_classes]`` (dropout on embeddings and features)."""

    def __init__(self, vocab_size: int, embedding_size: int, num_classes: int, filters: int = 64,
                 widths: Sequence[int] = (3, 4, 5), dropout: float = 0.0, pad_id: int = 0) -> None:
        super().__init__(vocab_size, embedding_size, filters, widths, dropout, pad_id)
        self.out = nn.Linear(self.output_size, num_classes)

    def forward_embedded(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(super().forward_embedded(emb, mask)))

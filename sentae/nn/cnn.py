"""Convolutional sentence classifier (Kim 2014): embeddings, 1-D convolutions of several widths, max over time.
It reads token ids or soft embeddings, so it can judge generated sentences differentiably."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class TextCNN(nn.Module):
    def __init__(self, vocab_size: int, embedding_size: int, num_classes: int, filters: int = 64,
                 widths: Sequence[int] = (3, 4, 5), dropout: float = 0.0, pad_id: int = 0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_size, filters, w) for w in widths)
        self.widths = list(widths)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(filters * len(self.widths), num_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, C]`` for framed token ids ``[B, T]`` (bos .. eos, padded)."""
        t = torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0)
        return self.forward_embedded(self.embedding(tokens), t < lengths.to(tokens.device).unsqueeze(1))

    def forward_embedded(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Class logits from embeddings ``[B, T, E]`` with ``mask [B, T]`` True at real positions."""
        short = max(self.widths) - emb.shape[1]
        if short > 0:  # sentences shorter than the widest filter: pad, and those windows are masked out below
            emb = F.pad(emb, (0, 0, 0, short))
            mask = F.pad(mask, (0, short), value=False)
        x = self.dropout(emb).transpose(1, 2)  # [B, E, T]
        pooled = []
        for conv, w in zip(self.convs, self.widths):
            h = F.relu(conv(x))  # [B, F, T - w + 1]
            # A window counts when its first position is real; every sentence has at least bos at position 0.
            valid = mask[:, : h.shape[2]].unsqueeze(1)
            pooled.append(h.masked_fill(~valid, float("-inf")).amax(2))
        return self.out(self.dropout(torch.cat(pooled, 1)))

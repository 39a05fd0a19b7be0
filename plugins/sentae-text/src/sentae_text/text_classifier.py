"""Attribute classifier over sentences: the independent judge of attribute control and transfer.

A 1-D CNN with several filter widths and max-pooling over time (Kim 2014) by default, or a bidirectional GRU.
It is trained like any other sentae model, on the same tokens, and predicts one attribute of the data (e.g.
sentiment); examples whose label is missing (-1) are skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, SentaeModel, StepContext, StepOutput
from sentae.errors import ConfigError
from sentae.nn import RNNEncoder

from .common import default_info, example_batch


@dataclass
class TextClassifierConfig:
    attribute: str = "sentiment"  # name of the data attribute to predict; its values are the classes
    arch: Literal["cnn", "bigru"] = "cnn"  # cnn: convolutions + max-pool over time (Kim 2014); bigru: bidirectional GRU
    embedding_size: int = 128  # word embedding dimensions
    filter_widths: list[int] = field(default_factory=lambda: [3, 4, 5])  # cnn: n-gram widths of the filters, in tokens
    num_filters: int = 100  # cnn: filters per width
    hidden_size: int = 128  # bigru: state dimensions per direction
    dropout: float = 0.5  # dropout on embeddings and on the sentence feature, in [0, 1)

    def __post_init__(self) -> None:
        for name in ("embedding_size", "num_filters", "hidden_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.filter_widths or any(w < 1 for w in self.filter_widths):
            raise ValueError(f"filter_widths must be a non-empty list of positive widths, got {self.filter_widths}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class CNNSentenceEncoder(nn.Module):
    """Convolutions of several widths over the word embeddings, each max-pooled over the sentence.

    Only windows that lie inside the sentence (bos and eos included) enter the max, so a sentence gets the same
    feature whatever padding its batch has; a sentence shorter than a filter uses the one window at its start,
    which sees the zero embedding of <pad> beyond its end."""

    def __init__(self, vocab_size: int, embedding_size: int, widths: list[int], num_filters: int, pad_id: int,
                 dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_size, num_filters, w) for w in widths)
        self.widths = list(widths)
        self.pad_id = pad_id
        self.dropout = nn.Dropout(dropout)
        self.output_size = num_filters * len(widths)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        need = max(self.widths)
        if tokens.shape[1] < need:  # every filter needs at least one window
            tokens = F.pad(tokens, (0, need - tokens.shape[1]), value=self.pad_id)
        emb = self.dropout(self.embedding(tokens)).transpose(1, 2)  # [B, E, T]
        lengths = lengths.to(tokens.device).unsqueeze(1)
        pooled = []
        for width, conv in zip(self.widths, self.convs):
            act = torch.relu(conv(emb))  # [B, F, T - width + 1]
            start = torch.arange(act.shape[2], device=tokens.device).unsqueeze(0)
            inside = (start + width <= lengths) | (start == 0)  # [B, windows]
            act = act.masked_fill(~inside.unsqueeze(1), float("-inf"))
            pooled.append(act.max(2).values)
        return torch.cat(pooled, 1)


class TextClassifier(SentaeModel):
    """Predicts a sentence attribute (e.g. sentiment) from its tokens: the classifier behind attribute accuracy."""

    name = "text_classifier"
    modality = "text"
    config_class = TextClassifierConfig
    paper = "Kim 2014, Convolutional Neural Networks for Sentence Classification"
    sentae_api = 1
    tiny_config = {"embedding_size": 11, "filter_widths": [2, 3], "num_filters": 5, "hidden_size": 13, "dropout": 0.0}

    def __init__(self, config: TextClassifierConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        if data_info.vocab_size is None:
            raise ConfigError(f"{self.name} needs text data (data_info.vocab_size)")
        if config.attribute not in data_info.attributes:
            has = ", ".join(sorted(data_info.attributes)) or "none"
            raise ConfigError(
                f"{self.name}: the data has no attribute '{config.attribute}' (model.attribute); its attributes: {has}"
            )
        self.attribute = config.attribute
        self.values = list(data_info.attributes[config.attribute])
        if len(self.values) < 2:
            raise ConfigError(f"{self.name}: attribute '{self.attribute}' has {len(self.values)} value(s); 2 or more are needed")
        c, v, pad = config, data_info.vocab_size, data_info.pad_id
        if c.arch == "cnn":
            self.encoder: nn.Module = CNNSentenceEncoder(v, c.embedding_size, c.filter_widths, c.num_filters, pad, c.dropout)
        else:
            self.encoder = RNNEncoder(v, c.embedding_size, c.hidden_size, 1, "gru", True, pad, c.dropout)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(self.encoder.output_size, len(self.values))

    @classmethod
    def default_data_info(cls) -> DataInfo:
        info = default_info()
        info.attributes = {"sentiment": ["negative", "neutral", "positive"]}  # 3 classes: no clash with batch 2
        return info

    def logits(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Unnormalised class scores ``[B, C]``, classes in the order of ``values``."""
        return self.head(self.dropout(self.encoder(tokens, lengths)))

    def _labels(self, batch) -> torch.Tensor:
        key = f"attr_{self.attribute}"
        if key not in batch:
            raise ConfigError(f"{self.name}: the batch has no '{key}' labels (has: {', '.join(sorted(batch))})")
        return batch[key]

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        labels = self._labels(batch)
        logits = self.logits(batch["tokens"], batch["lengths"])
        known = labels >= 0
        n = int(known.sum())
        if n == 0:
            # No labelled example: a zero loss that still depends on every parameter, so the Trainer's backward
            # (and DDP's gradient hooks) see the whole graph.
            return StepOutput(logits.sum() * 0.0, {"labelled": 0.0})
        loss = F.cross_entropy(logits[known].float(), labels[known])
        acc = (logits[known].argmax(1) == labels[known]).float().mean()
        return StepOutput(loss, {"accuracy": acc.detach(), "labelled": float(n)})

    @torch.no_grad()
    def evaluate(self, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Cross-entropy (nats per labelled sentence) and accuracy over the labelled examples of a split."""
        loss = correct = n = 0.0
        for batch in batches:
            labels = self._labels(batch)
            known = labels >= 0
            if not bool(known.any()):
                continue
            logits = self.logits(batch["tokens"], batch["lengths"])[known].float()
            loss += float(F.cross_entropy(logits, labels[known], reduction="sum"))
            correct += float((logits.argmax(1) == labels[known]).sum())
            n += float(known.sum())
        if n == 0:
            return {"loss": float("nan"), "accuracy": float("nan"), "labelled": 0.0}
        return {"loss": loss / n, "accuracy": correct / n, "labelled": n}

    def example_batch(self, batch_size: int, generator: torch.Generator):
        batch = example_batch(self.data_info, batch_size, generator)
        labels = torch.randint(0, len(self.values), (batch_size,), generator=generator)
        labels[0] = -1  # one missing label: the loss must skip it
        batch[f"attr_{self.attribute}"] = labels
        return batch

"""Attribute classifier over sentences: the independent judge of attribute control and transfer.

A 1-D CNN with several filter widths and max-pooling over time (Kim 2014) by default, or a bidirectional GRU.
It is trained like any other sentae model, on the same tokens, and predicts one attribute of the data (e.g.
sentiment); examples whose label is missing (-1) are skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Iterable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, SentaeModel, StepContext, StepOutput
from sentae.errors import ConfigError
from sentae.model import AttributeClassifierModel
from sentae.nn import RNNEncoder
from sentae.nn.cnn import SentenceCNN
from sentae.schema import Range, check_declared_ranges

from .common import default_info, example_batch


@dataclass
class TextClassifierConfig:
    attribute: str = "sentiment"  # name of the data attribute to predict; its values are the classes
    arch: Literal["cnn", "bigru"] = "cnn"  # cnn: convolutions + max-pool over time (Kim 2014); bigru: bidirectional GRU
    embedding_size: Annotated[int, Range(1)] = 128  # word embedding dimensions
    filter_widths: Annotated[list[int], Range(1)] = field(default_factory=lambda: [3, 4, 5])  # cnn: n-gram widths of the filters, in tokens
    num_filters: Annotated[int, Range(1)] = 100  # cnn: filters per width
    hidden_size: Annotated[int, Range(1)] = 128  # bigru: state dimensions per direction
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.5  # dropout on embeddings and on the sentence feature

    def __post_init__(self) -> None:
        check_declared_ranges(self)
        if not self.filter_widths:
            raise ValueError("filter_widths must be a non-empty list of positive widths, got []")


class TextClassifier(SentaeModel, AttributeClassifierModel):
    """Predicts a sentence attribute (e.g. sentiment) from its tokens: the classifier behind attribute accuracy."""

    name = "text_classifier"
    modality = "text"
    config_class = TextClassifierConfig
    paper = "Kim 2014, Convolutional Neural Networks for Sentence Classification"
    sentae_api = 1
    roles = ("attribute_classifier",)  # found by sentae.evaluation through REGISTRY.for_role
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
            self.encoder: nn.Module = SentenceCNN(v, c.embedding_size, c.num_filters, c.filter_widths, c.dropout, pad)
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

"""RNN language model: the baseline every text-VAE number is compared with."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Iterable, Literal

import torch

from sentae import DataInfo, SentaeModel, StepContext, StepOutput
from sentae.generation.decoding import DecodeConfig, decode
from sentae.model import SentenceModel
from sentae.nn import RNNDecoder, SoftmaxConfig
from sentae.schema import Range, check_declared_ranges

from .common import default_info, example_batch


@dataclass
class RNNLMConfig:
    embedding_size: Annotated[int, Range(1)] = 256  # word embedding dimensions
    hidden_size: Annotated[int, Range(1)] = 512  # RNN state dimensions
    num_layers: Annotated[int, Range(1)] = 1  # stacked RNN layers
    cell: Literal["lstm", "gru"] = "lstm"  # recurrent cell
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0  # dropout on embeddings and RNN outputs
    softmax: SoftmaxConfig = field(default_factory=SoftmaxConfig)  # output layer: full, or adaptive (faster on large vocabularies)

    def __post_init__(self) -> None:
        check_declared_ranges(self)


class RNNLM(SentaeModel, SentenceModel):
    """LSTM/GRU language model p(x) = prod_t p(x_t | x_<t); its NLL is exact, no bound."""

    name = "rnn_lm"
    modality = "text"
    config_class = RNNLMConfig
    paper = "Mikolov et al. 2010, Recurrent neural network based language model (the baseline of Bowman et al. 2016)"
    sentae_api = 1
    roles = ("language_model",)  # found by sentae.evaluation through REGISTRY.for_role
    tiny_config = {"embedding_size": 11, "hidden_size": 13}
    latent_size = 0

    def __init__(self, config: RNNLMConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        if data_info.vocab_size is None:
            raise ValueError("rnn_lm needs text data (data_info.vocab_size)")
        self.decoder = RNNDecoder(data_info.vocab_size, config.embedding_size, config.hidden_size, config.num_layers,
                                  config.cell, latent_size=0, pad_id=data_info.pad_id, dropout=config.dropout,
                                  softmax=config.softmax)

    @classmethod
    def default_data_info(cls) -> DataInfo:
        return default_info()

    def sentence_nll(self, tokens: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder.sentence_nll(tokens, None, self.data_info.pad_id)

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        nll = self.sentence_nll(batch["tokens"], batch["lengths"])
        words = (batch["lengths"] - 1).sum()  # predicted tokens: words + eos
        return StepOutput(nll.mean(), {"nll_per_word": (nll.sum() / words).detach()})

    @torch.no_grad()
    def evaluate(self, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out NLL per sentence and per word, as corpus totals (not a mean of per-batch ratios)."""
        nll = words = n = 0.0
        for batch in batches:
            nll += float(self.sentence_nll(batch["tokens"], batch["lengths"]).sum())
            words += float((batch["lengths"] - 1).sum())  # predicted tokens: words + eos
            n += len(batch["lengths"])
        return {"loss": nll / n, "nll_per_word": nll / words}

    def example_batch(self, batch_size: int, generator: torch.Generator):
        return example_batch(self.data_info, batch_size, generator)

    def generate(self, z: torch.Tensor | None, n: int, config: DecodeConfig | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` sentences as token ids ``[n, T]``; ``z`` is ignored (a language model has no code)."""
        info, config = self.data_info, config if config is not None else DecodeConfig()
        return decode(self.decoder, None, n, info.bos_id, info.eos_id, info.pad_id, config, generator)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        cfg = DecodeConfig(strategy="sample", max_length=self.data_info.max_length or 30)
        return self.generate(None, n, cfg, generator)

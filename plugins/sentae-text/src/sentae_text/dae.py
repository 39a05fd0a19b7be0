"""Deterministic sentence autoencoder, optionally denoising (Shen et al. 2020): the encoder reads a corrupted
sentence (words dropped, blanked, substituted, locally shuffled) and the decoder must write the clean one.

With every noise probability at 0 it is the plain AE of Shen et al.'s tables; ``aae`` adds a latent
discriminator on top of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import torch
from torch import nn

from sentae import DataInfo, SentaeModel, StepContext, StepOutput
from sentae.model import LatentTextModel
from sentae.nn.noise import TextNoiseConfig

from .common import DecodesFromCode, default_info, encoder_head_generator, example_batch, noisy_copy
from .rnn_config import RNNAutoencoderConfig


def _shen_noise() -> TextNoiseConfig:
    return TextNoiseConfig(drop=0.3)


@dataclass
class DAEConfig(RNNAutoencoderConfig):
    noise: TextNoiseConfig = field(default_factory=_shen_noise)  # input corruption (Shen et al.: word drop 0.3)


class DAE(DecodesFromCode, SentaeModel, LatentTextModel):
    """RNN encoder -> deterministic code z -> RNN decoder; the encoder sees a noisy copy of the input.

    ``sample`` decodes z ~ N(0, I). A plain AE's codes follow no prior, so expect poor sentences (Shen et al.'s
    point); the aae's discriminator is what makes prior samples meaningful."""

    name = "dae"
    modality = "text"
    config_class = DAEConfig
    paper = "Shen et al. 2020, Educating Text Autoencoders: Latent Representation Guidance via Denoising"
    sentae_api = 1
    tiny_config = {"embedding_size": 11, "hidden_size": 13, "latent_size": 7}
    stochastic = False  # the code is a point, not a distribution: no KL, no importance-weighted NLL

    def __init__(self, config: DAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.latent_size = config.latent_size
        self.encoder, self.to_code, self.decoder = encoder_head_generator(config, data_info, self.name, nn.Linear)

    @classmethod
    def default_data_info(cls) -> DataInfo:
        return default_info()

    # -- pieces used by training, evaluation and the sampler ---------------------------------------------------
    def encode_stats(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, None]:
        """The code of each sentence, and ``None`` where a VAE gives its log-variance."""
        return self.to_code(self.encoder(tokens, lengths)), None

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encode_stats(tokens, lengths)[0]

    def sentence_nll(self, tokens: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """-log p(x | z) per sentence, in nats."""
        return self.decoder.sentence_nll(tokens, z, self.data_info.pad_id)

    def noisy(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The corrupted copy the encoder reads while training (the clean batch at evaluation)."""
        return noisy_copy(tokens, lengths, self.config.noise, self.data_info) if self.training else (tokens, lengths)

    def reconstruction(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Code of the (noisy) input and -log p(clean x | z) per sentence."""
        tokens, lengths = batch["tokens"], batch["lengths"]
        z = self.encode(*self.noisy(tokens, lengths))
        return z, self.sentence_nll(tokens, lengths, z)

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        _, rec = self.reconstruction(batch)
        return StepOutput(rec.mean(), {"rec": rec.mean().detach()})

    @torch.no_grad()
    def evaluate(self, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out reconstruction of clean input (nats per sentence and per word) and the code statistics:
        active units (Cov_x z > 0.01) and the mean squared norm of the codes (compare with latent_size, the prior's)."""
        from sentae.evaluation.text import active_units

        rec = words = n = 0.0
        codes = []
        for batch in batches:
            z = self.encode(batch["tokens"], batch["lengths"])
            rec += float(self.sentence_nll(batch["tokens"], batch["lengths"], z).sum())
            words += float((batch["lengths"] - 1).sum())
            n += len(batch["lengths"])
            codes.append(z.float())
        z = torch.cat(codes)
        au, _ = active_units(z)
        return {"loss": rec / n, "rec": rec / n, "rec_per_word": rec / words, "active_units": float(au),
                "code_sq_norm": float(z.pow(2).sum(1).mean())}

    def example_batch(self, batch_size: int, generator: torch.Generator):
        return example_batch(self.data_info, batch_size, generator)

"""RNN-VAE for sentences (Bowman et al. 2016) with the remedies for posterior collapse users reach for:
KL annealing (linear, sigmoid, cyclical), word dropout, free bits, and AE pre-training with a decoder reset."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Iterable, Literal

import torch

from sentae import DataInfo, SentaeModel, StepContext, StepOutput
from sentae.nn import GaussianLatent, gaussian_kl
from sentae.nn.free_bits import kl_penalty
from sentae.model import LatentTextModel
from sentae.schema import Range
from sentae.training.kl_schedules import KLSchedule

from .common import DecodesFromCode, default_info, encoder_head_generator, example_batch, word_dropout
from .rnn_config import RNNAutoencoderConfig


@dataclass
class RNNVAEConfig(RNNAutoencoderConfig):
    latent_size: Annotated[int, Range(1)] = 32  # dimensions of the Gaussian code z
    word_dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0  # probability of replacing a decoder input word by <unk> (Bowman: 0.25..0.5)
    kl: KLSchedule = field(default_factory=KLSchedule)  # weight of the KL term over training
    free_bits: Annotated[float, Range(0)] = 0.0  # nats: KL below this is not penalised (0 = off)
    free_bits_mode: Literal["per_dim", "total"] = "per_dim"  # per_dim: lambda per dimension (Kingma 2016); total: on the sum
    ae_pretrain_steps: Annotated[int, Range(0)] = 0  # steps trained as a plain AE (z = mu, no KL), then the decoder is reset (Li et al. 2019)


class RNNVAE(DecodesFromCode, SentaeModel, LatentTextModel):
    """Bidirectional RNN encoder -> diagonal Gaussian z -> RNN decoder conditioned on z."""

    name = "rnn_vae"
    modality = "text"
    config_class = RNNVAEConfig
    paper = ("Bowman et al. 2016, Generating Sentences from a Continuous Space; Fu et al. 2019 (cyclical annealing); "
             "Li et al. 2019 (AE pre-training + free bits)")
    sentae_api = 1
    tiny_config = {"embedding_size": 11, "hidden_size": 13, "latent_size": 7}

    def __init__(self, config: RNNVAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.latent_size = config.latent_size
        self.encoder, self.latent, self.decoder = encoder_head_generator(config, data_info, self.name, GaussianLatent)
        # 1 once the decoder has been reset after AE pre-training; a buffer, so checkpoints and resume keep it.
        self.register_buffer("decoder_was_reset", torch.zeros((), dtype=torch.long))

    @classmethod
    def default_data_info(cls) -> DataInfo:
        return default_info()

    # -- pieces used by training, evaluation and the sampler ---------------------------------------------------
    def encode_stats(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.latent(self.encoder(tokens, lengths))

    def sentence_nll(self, tokens: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """-log p(x | z) per sentence, in nats."""
        return self.decoder.sentence_nll(tokens, z, self.data_info.pad_id)

    def kl_weight(self, ctx: StepContext) -> float:
        if ctx.step < self.config.ae_pretrain_steps:
            return 0.0
        return self.config.kl.weight(ctx.step - self.config.ae_pretrain_steps, ctx.total_steps - self.config.ae_pretrain_steps)

    def kl_penalty(self, kl_dims: torch.Tensor) -> torch.Tensor:
        """The KL term that is minimised, with free bits applied to the batch-mean KL (``sentae.nn.free_bits``)."""
        return kl_penalty(kl_dims, self.config.free_bits, self.config.free_bits_mode)

    def _maybe_reset_decoder(self, ctx: StepContext) -> None:
        # The optimizer keeps its moment estimates for the decoder: only the Trainer touches optimizers, and the
        # moments of a fresh decoder are rebuilt within a few hundred steps (beta2 = 0.999).
        if ctx.training and 0 < self.config.ae_pretrain_steps <= ctx.step and int(self.decoder_was_reset) == 0:
            for module in self.decoder.modules():
                if module is not self.decoder and hasattr(module, "reset_parameters"):
                    module.reset_parameters()
            self.decoder_was_reset.fill_(1)

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        self._maybe_reset_decoder(ctx)
        tokens, lengths = batch["tokens"], batch["lengths"]
        mu, logvar = self.encode_stats(tokens, lengths)
        pretraining = ctx.step < self.config.ae_pretrain_steps
        z = mu if pretraining else GaussianLatent.sample(mu, logvar)
        inputs = word_dropout(tokens[:, :-1], self.config.word_dropout if self.training else 0.0, self.data_info)
        rec = self.decoder.sentence_nll(tokens, z, self.data_info.pad_id, inputs=inputs)
        kl_dims = gaussian_kl(mu, logvar)
        beta = self.kl_weight(ctx)
        loss = rec.mean() + beta * self.kl_penalty(kl_dims)
        return StepOutput(loss, {"rec": rec.mean().detach(), "kl": kl_dims.sum(1).mean().detach(), "beta": beta})

    @torch.no_grad()
    def evaluate(self, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out ELBO terms (beta = 1, no word dropout), per-word bound, and the collapse diagnostics:
        KL per dimension, active units (Cov_x E[z|x] > 0.01) and a mutual-information estimate."""
        from sentae.evaluation.text import active_units, mutual_information

        rec_sum = kl_sum = words = n = 0.0
        mus, logvars, kl_dims = [], [], []
        for batch in batches:
            tokens, lengths = batch["tokens"], batch["lengths"]
            mu, logvar = self.encode_stats(tokens, lengths)
            rec = self.sentence_nll(tokens, lengths, GaussianLatent.sample(mu, logvar))
            kd = gaussian_kl(mu, logvar)
            rec_sum += float(rec.sum())
            kl_sum += float(kd.sum())
            words += float((lengths - 1).sum())
            n += len(lengths)
            mus.append(mu.float())
            logvars.append(logvar.float())
            kl_dims.append(kd.float())
        mu, logvar = torch.cat(mus), torch.cat(logvars)
        per_dim = torch.cat(kl_dims).mean(0)
        au, _ = active_units(mu)
        out = {
            "rec": rec_sum / n,
            "kl": kl_sum / n,
            "elbo": -(rec_sum + kl_sum) / n,
            "nll_bound_per_word": (rec_sum + kl_sum) / words,
            "active_units": float(au),
            "mi": float(mutual_information(mu[:1000], logvar[:1000])),
        }
        out.update({f"kl_dim/{i}": float(v) for i, v in enumerate(per_dim)})
        return out

    def example_batch(self, batch_size: int, generator: torch.Generator):
        return example_batch(self.data_info, batch_size, generator)


@dataclass
class RNNVAESmallConfig(RNNVAEConfig):
    embedding_size: Annotated[int, Range(1)] = 128  # word embedding dimensions (encoder and decoder each)
    hidden_size: Annotated[int, Range(1)] = 256  # RNN state dimensions (per direction in the encoder)
    latent_size: Annotated[int, Range(1)] = 16  # dimensions of the Gaussian code z


class RNNVAESmall(RNNVAE):
    """rnn_vae preset for quick experiments: embedding 128, hidden 256, latent 16."""

    name = "rnn_vae_small"
    config_class = RNNVAESmallConfig


class RNNVAEBase(RNNVAE):
    """rnn_vae preset of the PTB benchmarks: embedding 256, hidden 512, latent 32 (the defaults)."""

    name = "rnn_vae_base"
    config_class = RNNVAEConfig

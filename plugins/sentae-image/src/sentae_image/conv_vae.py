"""Convolutional VAE (Kingma & Welling 2014) for images: the conv encoder of conv_ae ends in a diagonal Gaussian
q(z|x), the decoder reads a sample of it, and the loss is the negative ELBO with Bernoulli pixels. The KL term has
the same schedules (constant, linear, sigmoid, cyclical) and free bits as the text VAE, so it generates images from
the prior N(0, I), interpolates between codes, and scores images by their ELBO or importance-weighted NLL."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Iterable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, StepContext, StepOutput
from sentae.nn import GaussianLatent, gaussian_kl
from sentae.nn.free_bits import kl_penalty
from sentae.schema import Range
from sentae.training.kl_schedules import KLSchedule

from .base import ImageAutoencoder, check_sizes
from .conv_net import ConvDecoding, conv_decoder, conv_encoder
from .noise import InputNoiseConfig


@dataclass
class ConvVAEConfig(InputNoiseConfig):
    channels: Annotated[list[int], Range(1)] = field(default_factory=lambda: [32, 64])  # output channels of each stride-2 convolution
    latent_size: Annotated[int, Range(1)] = 16  # dimensions of the Gaussian code z
    kl: KLSchedule = field(default_factory=KLSchedule)  # weight of the KL term over training
    free_bits: Annotated[float, Range(0)] = 0.0  # nats: KL below this is not penalised (0 = off)
    free_bits_mode: Literal["per_dim", "total"] = "per_dim"  # per_dim: lambda per dimension (Kingma 2016); total: on the sum

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sizes(self.channels, "channels")


class ConvVAE(ConvDecoding, ImageAutoencoder):
    """Conv encoder -> diagonal Gaussian z -> linear + transposed-conv decoder with Bernoulli pixels."""

    name = "conv_vae"
    config_class = ConvVAEConfig
    paper = "Kingma & Welling 2014, Auto-Encoding Variational Bayes; Kingma et al. 2016 (free bits)"
    sentae_api = 1
    tiny_config = {"channels": [5, 11], "latent_size": 7}
    stochastic = True  # q(z|x) is a Gaussian: the ELBO and the IW-NLL are defined

    def __init__(self, config: ConvVAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.latent_size = config.latent_size
        layers, self.feature_shape = conv_encoder(self.image_shape, config.channels)
        features = math.prod(self.feature_shape)
        self.encoder = nn.Sequential(*layers)
        self.latent = GaussianLatent(features, config.latent_size)
        self.expand = nn.Linear(config.latent_size, features)
        self.decoder = conv_decoder(self.image_shape[0], config.channels)

    # -- what evaluation, scoring and the sampler read ---------------------------------------------------------
    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance ``(N, latent)`` of images ``x``."""
        return self.latent(self.encoder(x))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean: the code used for features, reconstruction and interpolation."""
        return self.encode_stats(x)[0]

    def image_nll(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """-log p(x | z) per image ``(N,)``, nats (Bernoulli pixels summed over the image)."""
        logits = self.decode_logits(z)
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images (pixel probabilities) decoded from z ~ N(0, I)."""
        device = self.expand.weight.device
        z = torch.randn(n, self.latent_size, generator=generator, device=device)
        return torch.sigmoid(self.decode_logits(z))

    # -- training ----------------------------------------------------------------------------------------------
    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = self.augment(batch["image"])
        mu, logvar = self.encode_stats(self.corrupt(x))
        z = GaussianLatent.sample(mu, logvar)
        logits = self.decode_logits(z)
        bce, sse = self.reconstruction_terms(logits, x)
        kl_dims = gaussian_kl(mu, logvar)
        # held-out numbers are always the ELBO (beta 1), whatever the schedule says at this step
        beta = self.config.kl.weight(ctx.step, ctx.total_steps) if ctx.training else 1.0
        penalty = kl_penalty(kl_dims, self.config.free_bits, self.config.free_bits_mode) if ctx.training else kl_dims.sum(1).mean()
        loss = bce + beta * penalty
        return StepOutput(loss, {"bce": bce.detach(), "sse": sse.detach(), "kl": kl_dims.sum(1).mean().detach(),
                                 "beta": beta})

    @torch.no_grad()
    def evaluate(self, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out ELBO terms (beta 1, one posterior sample per image, nats per image) and the collapse
        diagnostics: active units (Cov_x E[z|x] > 0.01) and the KL per dimension."""
        from sentae.evaluation.text import active_units

        rec = kl = n = 0.0
        mus, kls = [], []
        for batch in batches:
            x = batch["image"]
            mu, logvar = self.encode_stats(x)
            kd = gaussian_kl(mu, logvar)
            rec += float(self.image_nll(x, GaussianLatent.sample(mu, logvar)).sum())
            kl += float(kd.sum())
            n += len(x)
            mus.append(mu.float())
            kls.append(kd.float())
        n = max(n, 1.0)
        au, _ = active_units(torch.cat(mus))
        out = {"rec_nll_per_image": rec / n, "kl_per_image": kl / n, "elbo_per_image": -(rec + kl) / n,
               "active_units": float(au)}
        out.update({f"kl_dim/{i}": float(v) for i, v in enumerate(torch.cat(kls).mean(0))})
        return out

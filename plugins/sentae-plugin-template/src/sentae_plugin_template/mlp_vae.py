"""MLP variational autoencoder for small images (Kingma & Welling 2014), the template plugin's model."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, SentaeModel, StepContext, StepOutput
from sentae.nn import GaussianLatent, gaussian_kl
from sentae.schema import Range, check_declared_ranges


@dataclass
class MLPVAEConfig:
    # Every number declares its range: a recipe value outside it (or NaN, or infinity) is refused when the recipe
    # loads, with the file and key, and `sentae info mlp_vae` shows it. sentae's tests fail for a number without one.
    hidden_size: Annotated[int, Range(1)] = 128  # units of the encoder's and decoder's hidden layer
    latent_size: Annotated[int, Range(1)] = 8  # dimensions of the Gaussian code
    beta: Annotated[float, Range(0)] = 1.0  # weight of the KL term (1 = the ELBO)

    def __post_init__(self) -> None:
        # The same checks for a config built in Python; checks that relate fields go here too, as a ValueError
        # that reaches the user as a ConfigError naming the recipe key.
        check_declared_ranges(self)


class MLPVAE(SentaeModel):
    """A one-hidden-layer VAE with Bernoulli pixels: encoder x -> h -> (mu, logvar), decoder z -> h -> x."""

    name = "mlp_vae"
    modality = "image"
    config_class = MLPVAEConfig
    paper = "Kingma & Welling 2014, Auto-Encoding Variational Bayes, arXiv:1312.6114"
    sentae_api = 1  # the sentae plugin API this model is written against
    # What the conformance kit builds: small, and no two sizes equal, so a swapped dimension cannot pass by luck.
    tiny_config = {"hidden_size": 13, "latent_size": 7}

    def __init__(self, config: MLPVAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        if data_info.image_shape is None:
            raise ValueError("mlp_vae needs image data (data_info.image_shape)")
        self.pixels = math.prod(data_info.image_shape)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(self.pixels, config.hidden_size), nn.ReLU())
        self.latent = GaussianLatent(config.hidden_size, config.latent_size)
        self.decoder = nn.Sequential(
            nn.Linear(config.latent_size, config.hidden_size), nn.ReLU(), nn.Linear(config.hidden_size, self.pixels)
        )

    @classmethod
    def default_data_info(cls) -> DataInfo:
        """The data shape of a model built without data (create_model, the conformance kit). Not square, so a
        swapped height and width cannot pass by luck."""
        return DataInfo(modality="image", image_shape=(1, 8, 12), num_classes=10)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.data_info.image_shape)

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = batch["image"]
        mu, logvar = self.latent(self.encoder(x))
        z = GaussianLatent.sample(mu, logvar) if self.training else mu
        # Summed over pixels, averaged over the batch: nats per image.
        recon = F.binary_cross_entropy_with_logits(self.decode_logits(z), x, reduction="sum") / x.shape[0]
        kl = gaussian_kl(mu, logvar).sum(-1).mean()
        loss = recon + self.config.beta * kl
        return StepOutput(loss, {"recon": recon.detach(), "kl": kl.detach()})

    def example_batch(self, batch_size: int, generator: torch.Generator):
        return {"image": torch.rand(batch_size, *self.data_info.image_shape, generator=generator)}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.latent(self.encoder(x))[0]

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(self.encode(x)))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        z = torch.randn(n, self.config.latent_size, generator=generator, device=device)
        return torch.sigmoid(self.decode_logits(z))

"""What every image autoencoder shares: Bernoulli pixels, the reconstruction terms, denoising input noise, an
MLP builder, and the small interface (``encode``, ``decode_logits``, ``reconstruct``, ``filters``) that sentae's
image evaluation reads."""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, SentaeModel
from sentae.errors import ConfigError

from .noise import corrupt, random_shift, transform_input

DEFAULT_IMAGE_SHAPE = (1, 8, 12)  # (channels, height, width) of models built without data (create_model, tests)


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.Sigmoid, last_activation: bool = False) -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ...`` with ``activation`` between them (and after the last one
    when ``last_activation``)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_activation:
            layers.append(activation())
    return nn.Sequential(*layers)


def check_sizes(sizes: Sequence[int], what: str) -> None:
    """Config check: a non-empty list of positive layer sizes (a ValueError becomes a ConfigError naming the key)."""
    if not sizes or any(s < 1 for s in sizes):
        raise ValueError(f"{what} must be a non-empty list of positive sizes, got {list(sizes)}")


class ImageAutoencoder(SentaeModel):
    """Base of the image models: pixels in [0, 1] modelled as Bernoulli probabilities (sigmoid of the decoder's
    logits). Subclasses define ``encode`` (images -> codes ``(N, D)``) and ``decode_logits`` (codes -> logits of
    the image's shape)."""

    modality = "image"

    def __init__(self, config, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        if data_info.image_shape is None:
            raise ConfigError(f"model '{self.name}' needs image data, but the data has no image shape "
                              f"(modality '{data_info.modality}')")
        self.image_shape = tuple(data_info.image_shape)
        self.pixels = math.prod(self.image_shape)
        if getattr(config, "input_transform", "none") == "grayscale" and self.image_shape[0] != 3:
            raise ConfigError(f"model '{self.name}': input_transform 'grayscale' needs RGB images (3 channels), but "
                              f"the data has {self.image_shape[0]}; an RGB image_folder needs data.options.grayscale: false")

    @classmethod
    def default_data_info(cls) -> DataInfo:
        # Not square, so a model that swaps height and width fails the conformance kit instead of passing by luck.
        return DataInfo(modality="image", image_shape=DEFAULT_IMAGE_SHAPE, num_classes=10)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """Training images translated by up to ``shift_pixels`` (input and target alike); unchanged in eval."""
        if not self.training:
            return x
        return random_shift(x, self.config.shift_pixels)

    def model_input(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` under the paired transform ``input_transform`` (always, not only in training)."""
        return transform_input(x, getattr(self.config, "input_transform", "none"))

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """The paired transform (``input_transform``, always), then denoising noise (``noise_std``, ``mask_prob``,
        ``noise_clip``), applied only while training. The loss compares the output with the untouched ``x``."""
        x = self.model_input(x)
        if not self.training:
            return x
        return corrupt(x, self.config.noise_std, self.config.mask_prob, self.config.noise_clip)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities decoded from the code of ``x`` (no input noise; the paired transform, if any)."""
        return torch.sigmoid(self.decode_logits(self.encode(self.model_input(x))))

    def filters(self) -> torch.Tensor | None:
        """First-layer weights as ``(units, pixels)`` for filter plots, or None when they are not pixel-shaped."""
        return None

    @staticmethod
    def reconstruction_terms(logits: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(BCE in nats, sum of squared errors) per image, averaged over the batch; both summed over pixels."""
        n = x.shape[0]
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
        sse = ((torch.sigmoid(logits) - x) ** 2).sum() / n
        return bce, sse

    def example_batch(self, batch_size: int, generator: torch.Generator):
        return {"image": torch.rand(batch_size, *self.image_shape, generator=generator)}

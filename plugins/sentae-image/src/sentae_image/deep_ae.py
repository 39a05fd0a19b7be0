"""Deep autoencoder of Hinton & Salakhutdinov (2006): a stack of RBMs pre-trained greedily with contrastive
divergence, unrolled into an encoder and a decoder, then fine-tuned by backpropagation.

Layers ``pixels -> hidden_sizes[0] -> ... -> hidden_sizes[-1]``: logistic hidden layers and a linear code layer.
Encoder layer ``i`` and the mirrored decoder layer ``i`` together hold RBM ``i``: its weight is the encoder weight,
its hidden bias the encoder bias, its visible bias the decoder bias. The RBMs have logistic visible units (pixels
are fed as probabilities) and Bernoulli hidden units, except the top one, whose hidden (code) units are linear
with unit-variance Gaussian noise.

Training runs in phases chosen by the Trainer's step counter, so the Trainer still owns every optimizer step:

1. Pre-training, steps ``[i * pretrain_steps, (i + 1) * pretrain_steps)`` for RBM ``i``: the step's loss is the
   CD-k surrogate ``F(v_data) - F(v_model)`` of that RBM (see ``rbm.py``), whose gradient is exactly the negative CD
   update. Its data ``v`` are the hidden probabilities of the RBMs below, computed without gradient; only RBM ``i``'s
   parameters get gradients, so the optimizer leaves every other parameter alone.
2. Unrolling, at the first fine-tuning step: each decoder weight is set to the transpose of its encoder weight
   (the two are independent parameters from then on). Until then the decoder reads the transposed encoder weights,
   so validation during pre-training already shows the stack's reconstructions.
3. Fine-tuning: cross-entropy of the pixels, as any autoencoder.

``train.max_steps`` counts all phases. With ``pretrain_steps: 0`` every layer starts at random and the model is
trained by backpropagation only (the ablation). The phase bookkeeping lives in two buffers saved with the weights,
so a resumed run picks up where it stopped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, StepContext, StepOutput
from sentae.schema import Range

from .base import ImageAutoencoder, check_sizes
from .noise import InputNoiseConfig
from .rbm import cd_loss, hidden_mean, visible_mean


@dataclass
class DeepAEConfig(InputNoiseConfig):
    hidden_sizes: Annotated[list[int], Range(1)] = field(default_factory=lambda: [200, 100, 50, 10])  # layers after the pixels; the last is the linear code
    pretrain_steps: Annotated[int, Range(0)] = 1000  # CD steps (optimizer steps) per RBM before fine-tuning; 0 = no pre-training (random init)
    cd_k: Annotated[int, Range(1)] = 1  # Gibbs steps per contrastive-divergence update (CD-k)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sizes(self.hidden_sizes, "hidden_sizes")


class DeepAE(ImageAutoencoder):
    """Deep autoencoder with greedy RBM pre-training (CD-k), unrolling and backpropagation fine-tuning."""

    name = "deep_ae"
    config_class = DeepAEConfig
    paper = "Hinton & Salakhutdinov 2006, Reducing the Dimensionality of Data with Neural Networks, Science 313"
    sentae_api = 1
    tiny_config = {"hidden_sizes": [11, 7, 5], "pretrain_steps": 0}

    def __init__(self, config: DeepAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        sizes = [self.pixels, *config.hidden_sizes]
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.decoder = nn.ModuleList(nn.Linear(b, a) for a, b in zip(sizes[:-1], sizes[1:]))  # decoder[i] mirrors encoder[i]
        self.register_buffer("pretrained_layers", torch.zeros((), dtype=torch.long))  # RBMs that had CD steps
        self.register_buffer("unrolled", torch.zeros((), dtype=torch.long))  # 1 once decoder weights were copied

    @property
    def num_layers(self) -> int:
        return len(self.encoder)

    def _hidden_kind(self, i: int) -> str:
        return "gaussian" if i == self.num_layers - 1 else "bernoulli"

    def pretrain_layer(self, ctx: StepContext) -> int | None:
        """The RBM that this training step pre-trains, or None when the step fine-tunes."""
        if not ctx.training or self.config.pretrain_steps == 0:
            return None
        i = ctx.step // self.config.pretrain_steps
        return i if i < self.num_layers else None

    def _tied(self) -> bool:
        return int(self.pretrained_layers) > 0 and not int(self.unrolled)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for i, layer in enumerate(self.encoder):
            h = layer(h)
            if i < self.num_layers - 1:
                h = torch.sigmoid(h)
        return h

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        tied = self._tied()
        h = code
        for i in reversed(range(self.num_layers)):
            dec = self.decoder[i]
            weight = self.encoder[i].weight.t() if tied else dec.weight
            h = F.linear(h, weight, dec.bias)
            if i > 0:
                h = torch.sigmoid(h)
        return h.view(-1, *self.image_shape)

    def filters(self) -> torch.Tensor:
        return self.encoder[0].weight.detach()

    @torch.no_grad()
    def _unroll(self) -> None:
        for enc, dec in zip(self.encoder, self.decoder):
            dec.weight.copy_(enc.weight.t())
        self.unrolled.fill_(1)

    def _pretrain_step(self, x: torch.Tensor, i: int) -> StepOutput:
        with torch.no_grad():  # the data of RBM i: hidden probabilities of the (already trained) RBMs below
            v = x.flatten(1)
            for layer in self.encoder[:i]:
                v = torch.sigmoid(layer(v))
        enc, dec, kind = self.encoder[i], self.decoder[i], self._hidden_kind(i)
        loss = cd_loss(v, enc.weight, dec.bias, enc.bias, kind, self.config.cd_k)
        self.pretrained_layers.fill_(max(int(self.pretrained_layers), i + 1))
        with torch.no_grad():
            recon = visible_mean(hidden_mean(v, enc.weight, enc.bias, kind), enc.weight, dec.bias)
            err = ((recon - v) ** 2).sum(-1).mean()
        # per-layer name: a logging window that spans two layers does not average unrelated numbers
        return StepOutput(loss, {f"rbm{i}_recon_sse": err})

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        x = self.augment(batch["image"])
        layer = self.pretrain_layer(ctx)
        if layer is not None:
            return self._pretrain_step(x, layer)
        if ctx.training and int(self.pretrained_layers) == self.num_layers and not int(self.unrolled):
            self._unroll()
        logits = self.decode_logits(self.encode(self.corrupt(x)))
        bce, sse = self.reconstruction_terms(logits, x)
        return StepOutput(bce, {"sse": sse.detach()})

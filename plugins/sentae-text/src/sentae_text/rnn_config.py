"""The config fields every RNN sentence autoencoder of this plugin shares (rnn_vae, dae and so aae/daae, ctrl_vae):
the sizes and options of its sentence encoder and of the code-conditioned generator ``common.encoder_head_generator``
builds from them. Each variant extends it with its own fields (and may change a default or a comment)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from sentae.nn import SoftmaxConfig
from sentae.schema import Range, check_declared_ranges


@dataclass
class RNNAutoencoderConfig:
    embedding_size: Annotated[int, Range(1)] = 256  # word embedding dimensions (encoder and decoder each)
    hidden_size: Annotated[int, Range(1)] = 512  # RNN state dimensions (per direction in the encoder)
    latent_size: Annotated[int, Range(1)] = 32  # dimensions of the code z
    num_layers: Annotated[int, Range(1)] = 1  # stacked RNN layers
    cell: Literal["lstm", "gru"] = "lstm"  # recurrent cell of encoder and decoder
    bidirectional: bool = True  # bidirectional encoder
    z_init: bool = True  # decoder's initial state computed from z
    z_every_step: bool = True  # z concatenated to every decoder input
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0  # dropout on embeddings and RNN outputs
    softmax: SoftmaxConfig = field(default_factory=SoftmaxConfig)  # output layer: full, or adaptive (faster on large vocabularies)

    def __post_init__(self) -> None:
        check_declared_ranges(self)  # every field of the variant too: subclasses call this through super()

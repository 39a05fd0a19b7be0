"""Pieces the text variants share: default data shape, synthetic batches, word dropout, decoding from a code."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from sentae import DataInfo
from sentae.generation.decoding import DecodeConfig, decode
from sentae.nn import RNNDecoder, RNNEncoder
from sentae.nn.noise import TextNoiseConfig, add_noise

from .rnn_config import RNNAutoencoderConfig

# Default data shape for models built without data (conformance kit, create_model): a tiny vocabulary.
DEFAULT_INFO = DataInfo(modality="text", vocab_size=37, pad_id=0, bos_id=1, eos_id=2, unk_id=3, max_length=14)


def encoder_head_generator(config: RNNAutoencoderConfig, data_info: DataInfo, model_name: str,
                           head: Callable[[int, int], nn.Module], extra_code_size: int = 0
                           ) -> tuple[RNNEncoder, nn.Module, RNNDecoder]:
    """The sentence encoder, its code head ``head(encoder output size, latent size)`` and the code-conditioned
    generator that ``rnn_vae``, ``dae`` (and so ``aae``) and ``ctrl_vae`` share: they differ only in the head (a
    Gaussian for the VAEs, a linear map for the AE) and in ``extra_code_size``, dimensions the generator reads
    beside z (ctrl_vae's attribute code c). Built in that order, so a seed gives the same initial weights as always."""
    if data_info.vocab_size is None:
        raise ValueError(f"{model_name} needs text data (data_info.vocab_size)")
    c, v, pad = config, data_info.vocab_size, data_info.pad_id
    encoder = RNNEncoder(v, c.embedding_size, c.hidden_size, c.num_layers, c.cell, c.bidirectional, pad, c.dropout)
    code_head = head(encoder.output_size, c.latent_size)
    decoder = RNNDecoder(v, c.embedding_size, c.hidden_size, c.num_layers, c.cell, c.latent_size + extra_code_size,
                         c.z_init, c.z_every_step, pad, c.dropout, c.softmax)
    return encoder, code_head, decoder


def default_info() -> DataInfo:
    return DataInfo(**{**DEFAULT_INFO.__dict__, "attributes": {}})


def example_batch(info: DataInfo, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Random sentences of 1..max_length-2 words, framed by bos/eos and padded."""
    max_words = info.max_length - 2
    lengths = torch.randint(1, max_words + 1, (batch_size,), generator=generator) + 2
    tokens = torch.full((batch_size, int(lengths.max())), info.pad_id, dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        words = torch.randint(4, info.vocab_size, (n - 2,), generator=generator)
        tokens[i, 0], tokens[i, 1 : n - 1], tokens[i, n - 1] = info.bos_id, words, info.eos_id
    return {"tokens": tokens, "lengths": lengths}


def noisy_copy(tokens: torch.Tensor, lengths: torch.Tensor, noise: TextNoiseConfig, info: DataInfo
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """A corrupted copy of a batch for a denoising encoder (``noise``); the special tokens are never drawn as
    substitutes."""
    if not noise.active:
        return tokens, lengths
    first_word = max(info.pad_id, info.bos_id, info.eos_id, info.unk_id) + 1
    return add_noise(tokens, lengths, noise, info.vocab_size, info.pad_id, info.unk_id, first_word)


def word_dropout(inputs: torch.Tensor, rate: float, info: DataInfo) -> torch.Tensor:
    """Replace decoder-input words by <unk> with probability ``rate`` (Bowman et al. 2016); bos and pad stay."""
    if rate <= 0:
        return inputs
    keep_special = (inputs == info.bos_id) | (inputs == info.pad_id)
    drop = (torch.rand(inputs.shape, device=inputs.device) < rate) & ~keep_special
    return inputs.masked_fill(drop, info.unk_id)


class DecodesFromCode:
    """``generate``/``sample`` for a model whose ``decoder`` (an RNNDecoder) reads a code of ``latent_size``
    dimensions and whose prior is N(0, I)."""

    def generate(self, z: torch.Tensor, n: int, config: DecodeConfig | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Token ids ``[n, T]`` decoded from codes ``z [n, latent_size]`` (``config``: greedy by default)."""
        info, config = self.data_info, config if config is not None else DecodeConfig()
        return decode(self.decoder, z, n, info.bos_id, info.eos_id, info.pad_id, config, generator)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Greedy sentences decoded from z ~ N(0, I)."""
        device = self.decoder.device
        z = torch.randn(n, self.latent_size, generator=generator, device=device)
        cfg = DecodeConfig(strategy="greedy", max_length=self.data_info.max_length or 30)
        # greedy decoding draws nothing; the generator still reaches generate() for models that draw more of
        # the code there (ctrl_vae's attribute values)
        return self.generate(z, n, cfg, generator)

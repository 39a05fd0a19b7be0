"""Input noise for denoising text autoencoders (Shen et al. 2020; Lample et al. 2018).

Four kinds, each with its own probability, applied in the order shuffle -> drop -> blank -> substitute (as in
Shen et al.'s code, so a dropped word is never also blanked). Every function takes a framed batch
``tokens [B, T]`` = bos w1 .. wn eos pad.. with ``lengths [B]`` (bos and eos counted), touches only the words,
and returns a framed batch again; ``bos``, ``eos`` and padding never move or change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import torch

from ..schema import Range, check_declared_ranges

PROBABILITY = Range(0, 1)


@dataclass
class TextNoiseConfig:
    drop: Annotated[float, PROBABILITY] = 0.0  # probability that a word is deleted (Shen et al.: 0.3)
    blank: Annotated[float, PROBABILITY] = 0.0  # probability that a word is replaced by the blank token (<unk>)
    substitute: Annotated[float, PROBABILITY] = 0.0  # probability that a word is replaced by a random vocabulary word
    shuffle: Annotated[float, PROBABILITY] = 0.0  # probability that a sentence's words are shuffled locally
    shuffle_distance: Annotated[int, Range(1)] = 3  # k: a shuffled word moves at most k positions

    def __post_init__(self) -> None:
        check_declared_ranges(self, "noise.")

    @property
    def active(self) -> bool:
        return any((self.drop, self.blank, self.substitute, self.shuffle))


def word_mask(tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """True at word positions: after bos, before eos."""
    t = torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0)
    return (t >= 1) & (t < lengths.to(tokens.device).unsqueeze(1) - 1)


def _rand(shape, generator: torch.Generator | None, device) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device=device)


def shuffle_words(tokens: torch.Tensor, lengths: torch.Tensor, p: float, k: int,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Local shuffle of the sentences chosen with probability ``p``: each word's sort key is its position plus
    U[0, k+1), so no word lands more than ``k`` positions from where it was."""
    if p <= 0:
        return tokens
    b, t = tokens.shape
    words = word_mask(tokens, lengths)
    pos = torch.arange(t, device=tokens.device, dtype=torch.float).expand(b, t)
    chosen = _rand((b, 1), generator, tokens.device) < p
    jitter = _rand((b, t), generator, tokens.device) * (k + 1)
    # bos, eos and pads keep keys that pin them: words only reorder among themselves.
    keys = torch.where(words & chosen, pos + jitter, pos)
    keys = torch.where(words, keys, torch.where(pos == 0, -1.0, pos + 2.0 * t))
    order = keys.argsort(dim=1, stable=True)
    # argsort puts bos first, then words, then eos/pads in their original order.
    return tokens.gather(1, order)


def drop_words(tokens: torch.Tensor, lengths: torch.Tensor, p: float, pad_id: int,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Delete each word with probability ``p``; the survivors close ranks. Returns new tokens and lengths."""
    if p <= 0:
        return tokens, lengths
    words = word_mask(tokens, lengths)
    drop = words & (_rand(tokens.shape, generator, tokens.device) < p)
    keep = ~drop & (torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0) < lengths.to(tokens.device).unsqueeze(1))
    new_lengths = keep.sum(1)
    # Kept tokens first (stable, so in order), then everything else; then pad what lies beyond the new length.
    order = (~keep).to(torch.int8).argsort(dim=1, stable=True)
    out = tokens.gather(1, order)
    t = torch.arange(out.shape[1], device=out.device).unsqueeze(0)
    out = out.masked_fill(t >= new_lengths.unsqueeze(1), pad_id)
    width = int(new_lengths.max())
    return out[:, :width].contiguous(), new_lengths.to(lengths.dtype)


def blank_words(tokens: torch.Tensor, lengths: torch.Tensor, p: float, blank_id: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace each word by ``blank_id`` with probability ``p``."""
    if p <= 0:
        return tokens
    hit = word_mask(tokens, lengths) & (_rand(tokens.shape, generator, tokens.device) < p)
    return tokens.masked_fill(hit, blank_id)


def substitute_words(tokens: torch.Tensor, lengths: torch.Tensor, p: float, vocab_size: int, first_word_id: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace each word with probability ``p`` by a word drawn uniformly from ids ``[first_word_id, vocab_size)``
    (the special tokens are never drawn)."""
    if p <= 0:
        return tokens
    hit = word_mask(tokens, lengths) & (_rand(tokens.shape, generator, tokens.device) < p)
    span = vocab_size - first_word_id
    rand_ids = first_word_id + (_rand(tokens.shape, generator, tokens.device) * span).long().clamp(max=span - 1)
    return torch.where(hit, rand_ids, tokens)


def add_noise(tokens: torch.Tensor, lengths: torch.Tensor, cfg: TextNoiseConfig, vocab_size: int, pad_id: int,
              blank_id: int, first_word_id: int, generator: torch.Generator | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """All configured noise, in Shen et al.'s order. Returns the noisy batch and its lengths."""
    tokens = shuffle_words(tokens, lengths, cfg.shuffle, cfg.shuffle_distance, generator)
    tokens, lengths = drop_words(tokens, lengths, cfg.drop, pad_id, generator)
    tokens = blank_words(tokens, lengths, cfg.blank, blank_id, generator)
    tokens = substitute_words(tokens, lengths, cfg.substitute, vocab_size, first_word_id, generator)
    return tokens, lengths

"""Attributes as directions in latent space, for text autoencoders without attribute codes.

From sentences labelled with an attribute, encoded to their posterior means: the offset toward a value (mean code
of the sentences with it minus that of the others; White 2016, Shen et al. 2020) and a linear reading of the value
from a code (a logistic regression on the same codes, as LatentOps reads attributes from z). Moving a sentence's code
by the offsets of the attributes it does not already have changes those and, as far as the code allows, nothing
else; a sentence the reading is sure already has the asked value is left where it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from ..errors import SentaeError

Encoder = Callable[[Sequence[str]], torch.Tensor]  # sentences -> codes [N, D]
# A code is left where it is only when the linear reading is this sure it already has the value: on a model whose
# codes hold the attribute only nonlinearly (a small adversarial autoencoder's hold it at 60% linear accuracy) the
# reading is unsure, and the code moves as plain latent arithmetic would move it.
KEEP_CONFIDENCE = 0.9


@dataclass
class Direction:
    """One attribute value's direction: ``offset`` (added to a code, times a scale) and a reading of whether a
    code already has the value (probability from a logistic regression on the labelled codes)."""

    attribute: str
    value: str
    offset: torch.Tensor  # [D]
    weight: np.ndarray  # logistic regression on standardised codes, folded back onto raw codes: [D]
    bias: float

    def probability(self, z: torch.Tensor) -> torch.Tensor:
        """``[N]``: the reading's probability that each code has ``value``."""
        logit = z.detach().double().cpu().numpy() @ self.weight + self.bias
        return torch.from_numpy(1.0 / (1.0 + np.exp(-logit))).float().to(z.device)

    def has_value(self, z: torch.Tensor, confidence: float = KEEP_CONFIDENCE) -> torch.Tensor:
        """``[N]`` booleans: whether the reading is sure (probability at least ``confidence``) that each code
        already has ``value``."""
        return self.probability(z) >= confidence


def pick(texts: list[str], count: int, generator: torch.Generator) -> list[str]:
    """At most ``count`` of ``texts``: a fixed random choice (in file order) when there are more."""
    if len(texts) <= count:
        return texts
    return [texts[i] for i in sorted(torch.randperm(len(texts), generator=generator)[:count].tolist())]


def direction(encode: Encoder, pairs: list[tuple[str, str]], attribute: str, to: str, source: str | None,
              count: int, seed: int) -> Direction:
    """The direction toward ``to`` from sentences labelled ``pairs`` (text, value): away from ``source`` or, by
    default, from every other value. Up to ``count`` sentences per side, a fixed random choice under ``seed``."""
    from .logistic import fit_logistic

    values = sorted({v for _, v in pairs})
    for name, value in (("to", to), ("source", source)):
        if value is not None and value not in values:
            raise SentaeError(f"{name} value '{value}' of attribute '{attribute}' is not among the labelled "
                              f"sentences' values: {', '.join(values)}")
    target = [t for t, v in pairs if v == to]
    rest = [t for t, v in pairs if (v == source if source is not None else v != to)]
    if not rest:
        raise SentaeError(f"no labelled sentence has a '{attribute}' value other than '{to}' to move away from")
    g = torch.Generator().manual_seed(seed)
    z_to, z_rest = encode(pick(target, count, g)), encode(pick(rest, count, g))
    offset = z_to.mean(0) - z_rest.mean(0)
    x = torch.cat([z_to, z_rest]).float().cpu().numpy().astype(np.float64)
    y = np.r_[np.ones(len(z_to)), np.zeros(len(z_rest))]
    mean, std = x.mean(0), x.std(0) + 1e-8  # standardised, so that the regularisation treats dimensions alike
    # weakly regularised (C = 10): the probabilities then say how sure the codes make it, not the penalty
    coef, intercept = fit_logistic((x - mean) / std, y, C=10.0, balanced=True)
    weight = coef / std
    bias = float(intercept - (mean * weight).sum())
    return Direction(attribute, to, offset, weight, bias)


def move(z: torch.Tensor, directions: Sequence[Direction], scale: float, keep_matching: bool = True) -> torch.Tensor:
    """``z`` moved by ``scale`` times the offset of each direction; with ``keep_matching``, a code that the
    direction's reading is sure already has its value (``KEEP_CONFIDENCE``) is not moved along it (several
    attributes compose)."""
    out = z.clone()
    for d in directions:
        step = scale * d.offset.to(z.device, z.dtype)
        if keep_matching:
            out = out + (~d.has_value(z)).to(z.dtype).unsqueeze(1) * step
        else:
            out = out + step
    return out

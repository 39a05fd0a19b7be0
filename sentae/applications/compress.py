"""Codes as compressed images: a uniform scalar quantiser of an autoencoder's codes, and the bits per image it
takes, fixed-length and under an entropy coder. Used by benchmarks/compression.py to compare an autoencoder with
PNG and JPEG; the decoder's weights, which any receiver needs once, are not counted here (the benchmark states
their size)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class UniformQuantizer:
    """``bits`` bits per code number: each dimension's range ``[low, high]`` (seen on the fitting codes) cut into
    ``2**bits`` equally spaced levels, both ends included. A value outside the range is clipped to it first."""

    low: np.ndarray  # (D,) lowest value of each dimension on the fitting codes
    high: np.ndarray  # (D,) highest value
    bits: int  # bits per number, 1..16

    @classmethod
    def fit(cls, codes: np.ndarray, bits: int) -> "UniformQuantizer":
        """The quantiser for ``codes`` ``(N, D)`` (the training split's codes) at ``bits`` per number."""
        if not 1 <= bits <= 16:
            raise ValueError(f"bits must be in 1..16, got {bits}")
        codes = np.asarray(codes, dtype=np.float64)
        return cls(codes.min(0), codes.max(0), int(bits))

    @property
    def levels(self) -> int:
        return 2 ** self.bits

    @property
    def step(self) -> np.ndarray:
        """(D,) distance between neighbouring levels; a constant dimension gets step 1 (one level is used)."""
        span = self.high - self.low
        return np.where(span > 0, span / (self.levels - 1), 1.0)

    def encode(self, codes: np.ndarray) -> np.ndarray:
        """Integer symbols ``(N, D)`` in ``0 .. levels - 1``."""
        x = np.clip(np.asarray(codes, dtype=np.float64), self.low, self.high)
        return np.rint((x - self.low) / self.step).astype(np.int64)

    def decode(self, symbols: np.ndarray) -> np.ndarray:
        """The code values ``(N, D)`` float32 the symbols stand for."""
        return (self.low + symbols * self.step).astype(np.float32)

    def fixed_bits(self, dims: int | None = None) -> int:
        """Bits per image with every symbol written in ``bits`` bits: ``D * bits``."""
        return int((len(self.low) if dims is None else dims) * self.bits)


def entropy_bits(symbols: np.ndarray, fit_symbols: np.ndarray, levels: int) -> float:
    """Mean bits per image that an entropy coder would approach for ``symbols`` ``(N, D)``, with one probability
    table per dimension estimated on ``fit_symbols`` (another split's symbols; add-one smoothing so an unseen
    symbol costs a finite number of bits): the cross-entropy sum_d -log2 p_d(s_d), averaged over the N images."""
    symbols, fit_symbols = np.asarray(symbols), np.asarray(fit_symbols)
    total = 0.0
    for d in range(symbols.shape[1]):
        counts = np.bincount(fit_symbols[:, d], minlength=levels).astype(np.float64) + 1.0
        p = counts / counts.sum()
        total += float(-np.log2(p[symbols[:, d]]).sum())
    return total / len(symbols)

"""The code quantiser behind benchmarks/compression.py: symbols in range, a round trip within half a step, clipping
outside the fitted range, and bits per image that match a hand count."""
import numpy as np
import pytest

from sentae.applications.compress import UniformQuantizer, entropy_bits


def test_round_trip_is_within_half_a_step():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(500, 7)) * np.arange(1, 8)  # dimensions of different ranges
    for bits in (1, 3, 6):
        q = UniformQuantizer.fit(train, bits)
        test = rng.uniform(q.low, q.high, size=(200, 7))
        sym = q.encode(test)
        assert sym.min() >= 0 and sym.max() <= q.levels - 1 and sym.dtype == np.int64
        err = np.abs(q.decode(sym) - test)
        assert (err <= q.step / 2 + 1e-5 * q.step).all()
        assert np.allclose(q.step, (train.max(0) - train.min(0)) / (2 ** bits - 1))
        assert q.fixed_bits() == 7 * bits
    q = UniformQuantizer.fit(train, 4)
    assert np.allclose(q.decode(q.encode(np.array([q.low - 5, q.high + 5]))), [q.low, q.high])  # clipped
    assert np.allclose(q.decode(q.encode(train[:1] * 0 + q.low)), q.low)  # the ends are levels
    with pytest.raises(ValueError):
        UniformQuantizer.fit(train, 0)


def test_constant_dimension_uses_one_level():
    q = UniformQuantizer.fit(np.array([[1.0, 0.0], [1.0, 2.0]]), 2)
    assert q.encode(np.array([[1.0, 2.0]])).tolist() == [[0, 3]]
    assert np.allclose(q.decode(np.array([[0, 3]])), [[1.0, 2.0]])


def test_entropy_bits_match_a_hand_count():
    levels = 4
    fit = np.array([[0, 1], [0, 1], [0, 2], [3, 1]])  # dim 0 counts (3,0,0,1)+1 -> p(0)=4/8; dim 1 (0,3,1,0)+1 -> p(1)=4/8, p(2)=2/8
    sym = np.array([[0, 1], [0, 2]])
    expected = (-np.log2(4 / 8) - np.log2(4 / 8) + -np.log2(4 / 8) - np.log2(2 / 8)) / 2
    assert entropy_bits(sym, fit, levels) == pytest.approx(expected)
    # uniform symbols under their own uniform table: b bits per number, as a fixed-length code
    uniform = np.tile(np.arange(16), 40)[:, None].repeat(3, 1)
    assert entropy_bits(uniform, uniform, 16) == pytest.approx(3 * 4)
    assert entropy_bits(np.zeros((5, 3), int), np.zeros((100, 3), int), 16) < 3 * 0.3  # nearly free when constant

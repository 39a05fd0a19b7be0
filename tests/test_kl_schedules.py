import pytest

from sentae.training.kl_schedules import KLSchedule


def test_constant():
    s = KLSchedule("constant", beta=0.1)
    assert s.weight(0, 100) == 0.1 and s.weight(99, 100) == 0.1


def test_linear_values():
    s = KLSchedule("linear", beta=1.0, warmup_steps=200)
    assert [s.weight(t, 1000) for t in (0, 50, 100, 200, 5000)] == [0.0, 0.25, 0.5, 1.0, 1.0]


def test_sigmoid_values():
    s = KLSchedule("sigmoid", beta=2.0, warmup_steps=1000, sigmoid_slope=0.01)
    assert s.weight(500, 10) == pytest.approx(1.0)  # midpoint: half of beta
    assert s.weight(0, 10) == pytest.approx(2.0 / (1 + 2.718281828459045**5))
    assert s.weight(100000, 10) == pytest.approx(2.0)
    assert s.weight(-10**6, 10) == pytest.approx(0.0)  # no overflow far from the midpoint


def test_cyclical_values():
    # 1000 steps, M=4 cycles of 250 steps, the first half of each ramps 0 -> 1 (Fu et al. 2019, R=0.5)
    s = KLSchedule("cyclical", beta=1.0, cycles=4, ramp_ratio=0.5)
    got = [s.weight(t, 1000) for t in (0, 62, 125, 200, 250, 312, 999)]
    assert got == pytest.approx([0.0, 62 / 125, 1.0, 1.0, 0.0, 62 / 125, 1.0])

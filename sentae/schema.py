"""Typed validation of plain data into dataclasses. A leaf module: it imports nothing of sentae but its errors.

``from_dict`` builds a config dataclass from a mapping, checking keys and types; ``check_range`` is the one range
check every config's ``__post_init__`` uses, so that the messages read the same everywhere.
"""
from __future__ import annotations

import math
from typing import Any


def check_range(name: str, value: Any, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False, allow_none: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``low <= value <= high`` (``<`` where that end is open).

    >>> check_range("dropout", 0.5, 0, 1, high_open=True)
    >>> check_range("hidden_size", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: hidden_size must be at least 1, got 0
    """
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and math.isnan(value)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if not (below or above):
        return
    if high is None:
        raise ValueError(f"{name} must be {'above' if low_open else 'at least'} {low:g}, got {value:g}")
    if low is None:
        raise ValueError(f"{name} must be {'below' if high_open else 'at most'} {high:g}, got {value:g}")
    raise ValueError(f"{name} must be in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}, "
                     f"got {value:g}")

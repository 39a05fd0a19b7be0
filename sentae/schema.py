"""Typed validation of plain data into dataclasses. A leaf module: it imports nothing of sentae but its errors.

``from_dict`` builds a config dataclass from a mapping, checking keys and types; ``check_range`` is the one range
check every config's ``__post_init__`` uses, so that the messages read the same everywhere.

>>> from dataclasses import dataclass
>>> @dataclass
... class Point:
...     width: int = 0
>>> from_dict(Point, {"width": 3}, "demo.yaml", "point.")
Point(width=3)
>>> from_dict(Point, {"widht": 3}, "demo.yaml", "point.")
Traceback (most recent call last):
...
sentae.errors.ConfigError: demo.yaml: unknown key 'point.widht'; did you mean 'point.width'?
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from typing import Any, Literal

from .errors import ConfigError

MISSING = dataclasses.MISSING

__all__ = ["MISSING", "check_range", "from_dict", "reject_unknown"]


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


def from_dict(cls: type, raw: Any, where: str, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``raw``, checking keys and types; errors name ``where`` and the key path.

    A ``ValueError`` from the dataclass's ``__post_init__`` becomes a ``ConfigError``; when its message starts
    with a full key path (``train.lr must be ...``, as a config that knows its section writes it), that path is
    quoted like every other key, otherwise the section is named in front of it.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: '{prefix.rstrip('.') or 'recipe'}' must be a mapping, got {_tname(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    reject_unknown(raw, set(fields), where, prefix)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        if name in raw:
            kwargs[name] = _coerce(raw[name], hints[name], where, prefix + name)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"{where}: missing required key '{prefix}{name}'")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # range checks in the dataclass's __post_init__
        msg = str(exc)
        head, _, rest = msg.partition(" ")
        if prefix and head.startswith(prefix) and head[len(prefix):] in fields:
            raise ConfigError(f"{where}: '{head}' {rest}") from None
        raise ConfigError(f"{where}: '{prefix.rstrip('.') or 'recipe'}': {msg}") from None


def reject_unknown(raw: dict[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    """A ``ConfigError`` for the first key of ``raw`` not in ``allowed``, with the closest valid key."""
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.5)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(allowed))}"
            raise ConfigError(f"{where}: unknown key '{prefix}{key}'{hint}")


def _tname(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _coerce(value: Any, hint: Any, where: str, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    bad = ConfigError(f"{where}: '{path}' must be {_describe(hint)}, got {value!r} ({_tname(value)})")
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where, path)
            except ConfigError:
                continue
        raise bad
    if origin is Literal:
        if value in args:
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
        extra = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{where}: '{path}' must be one of {', '.join(map(str, args))}, got {value!r}{extra}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if hint is str:
        if isinstance(value, str):
            return value
        raise bad
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise bad
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise bad
            return tuple(_coerce(v, a, where, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [_coerce(v, item, where, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        val_t = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(v, val_t, where, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where, path + ".")
    raise ConfigError(f"{where}: '{path}' has an unsupported type {hint}")


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is Literal:
        return f"one of {', '.join(map(str, args))}"
    if hint is type(None):
        return "null"
    if origin is list:
        return f"a list of {_describe(args[0]) if args else 'values'}"
    if origin is dict:
        return "a mapping"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))

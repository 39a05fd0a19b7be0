"""Typed validation of plain data into dataclasses. A leaf module: it imports nothing of sentae but its errors.

``from_dict`` builds a config dataclass from a mapping, checking keys, types and the range each numeric field
declares. A range is declared on the field's type with ``typing.Annotated`` and ``Range``, so that code (this
validator, ``sentae info``, the tests) can read it::

    hidden_size: Annotated[int, Range(1)] = 128  # units, at least 1
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0  # probability, in [0, 1)
    clip_norm: Annotated[float | None, Range(0, low_open=True)] = 1.0  # above 0, or null: off

NaN and infinity are refused for every float field, declared or not. ``check_declared_ranges`` runs the same
checks on an object built in Python (a config's ``__post_init__`` calls it); ``check_range`` is the one check
behind both, so that the messages read the same everywhere.

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
import functools
import math
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from .errors import ConfigError

MISSING = dataclasses.MISSING
# Integers reach torch and numpy, whose C integers are 64-bit: a larger one is refused here, not by a traceback.
INT64 = (-(2**63), 2**63 - 1)

__all__ = ["ANY_VALUE", "MISSING", "Range", "SEED", "check_declared_ranges", "check_range", "declared_ranges",
           "from_dict", "is_numeric", "reject_unknown"]


@dataclass(frozen=True)
class Range:
    """The values a numeric field may take: from ``low`` to ``high`` (``None``: no bound on that side), each end
    included unless it is open. On a list field it bounds every item. ``Range()`` (``ANY_VALUE``) declares that
    every finite number is meaningful.

    >>> str(Range(0, 1, high_open=True)), str(Range(0, low_open=True)), str(Range())
    ('in [0, 1)', 'above 0', 'any finite value')
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __str__(self) -> str:
        low, high = self.low, self.high
        if low is None and high is None:
            return "any finite value"
        if high is None:
            return f"{'above' if self.low_open else 'at least'} {_fmt(low)}"
        if low is None:
            return f"{'below' if self.high_open else 'at most'} {_fmt(high)}"
        return f"in {'(' if self.low_open else '['}{_fmt(low)}, {_fmt(high)}{')' if self.high_open else ']'}"

    def __contains__(self, value: float) -> bool:
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        return not (below or above)

    def problem(self, value: Any, allow_none: bool = False) -> str | None:
        """What is wrong with ``value`` (``must be ..., got ...``), or None when it is in the range."""
        if value is None and allow_none:
            return None
        or_null = " (or null)" if allow_none else ""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number{or_null}, got {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number{or_null}, got {value}"
        if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
            return f"must be a 64-bit integer{or_null}, got {_fmt(value)}"
        if value in self:
            return None
        return f"must be {self}{or_null}, got {_fmt(value)}"


ANY_VALUE = Range()  # every finite number is meaningful; the field's comment says why
SEED = Range(0, 2**32 - 1)  # numpy's seed is 32-bit, so every seed of a recipe is


def check_range(name: str, value: Any, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False, allow_none: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``low <= value <= high`` (``<`` where that end is open) and
    ``value`` is finite; for a check that relates fields, where no declaration can say it.

    >>> check_range("dropout", 0.5, 0, 1, high_open=True)
    >>> check_range("hidden_size", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: hidden_size must be at least 1, got 0
    """
    problem = Range(low, high, low_open, high_open).problem(value, allow_none)
    if problem:
        raise ValueError(f"{name} {problem}")


def is_numeric(hint: Any) -> bool:
    """Whether a field of type ``hint`` holds numbers: ``int``, ``float``, optional or in a list or tuple."""
    hint = _strip(hint)
    if hint in (int, float):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType, list, tuple):
        return any(is_numeric(a) for a in typing.get_args(hint) if a is not Ellipsis and a is not type(None))
    return False


@functools.cache
def declared_ranges(cls: type) -> dict[str, Range | None]:
    """The declared ``Range`` of every numeric field of dataclass ``cls`` (None where a field declares none)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out: dict[str, Range | None] = {}
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name, f.type)
        if is_numeric(hint):
            out[f.name] = _range_of(hint)
    return out


def check_declared_ranges(obj: Any, prefix: str = "") -> None:
    """Raise ``ValueError`` (``PREFIXfield must be ..., got ...``) for the first field of dataclass ``obj`` outside
    its declared range; a config's ``__post_init__`` calls it so that one built in Python is checked like a recipe.

    >>> @dataclass
    ... class Layer:
    ...     size: Annotated[int, Range(1)] = 4
    ...     def __post_init__(self):
    ...         check_declared_ranges(self)
    >>> Layer(size=0)
    Traceback (most recent call last):
    ...
    ValueError: size must be at least 1, got 0
    """
    hints = typing.get_type_hints(type(obj), include_extras=True)
    for name, declared in declared_ranges(type(obj)).items():
        if declared is None:
            continue
        for path, value, allow_none in _items(getattr(obj, name), prefix + name, _admits_none(hints[name])):
            problem = declared.problem(value, allow_none)
            if problem:
                raise ValueError(f"{path} {problem}")


def _range_of(hint: Any) -> Range | None:
    if typing.get_origin(hint) is Annotated:
        return next((m for m in hint.__metadata__ if isinstance(m, Range)), None)
    return None


def _strip(hint: Any) -> Any:
    return typing.get_args(hint)[0] if typing.get_origin(hint) is Annotated else hint


def _admits_none(hint: Any) -> bool:
    hint = _strip(hint)
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def _items(value: Any, path: str, allow_none: bool) -> list[tuple[str, Any, bool]]:
    # A range on a list field bounds each item (which may not be null); messages name the item (``channels[1]``).
    if isinstance(value, (list, tuple)):
        return [(f"{path}[{i}]", v, False) for i, v in enumerate(value)]
    return [(path, value, allow_none)]


def _brief_repr(value: Any) -> str:
    """A repr of at most ~100 characters that looks at only a few items and levels, so that a huge or deeply
    nested value costs nothing to name in a message."""
    import reprlib

    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict = 3, 4, 4, 4
    short.maxstring, short.maxother = 60, 60
    text = short.repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, int):
        # str() of a huge integer is slow and, past 4300 digits, an error of its own: name its size instead
        return str(value) if value.bit_length() <= 100 else f"an integer of {value.bit_length()} bits"
    short = f"{value:g}"
    return short if float(short) == value else repr(value)  # 0.9999999999999999 must not print as 1


def from_dict(cls: type, raw: Any, where: str, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``raw``, checking keys, types and declared ranges; errors name ``where`` and
    the key path (``recipes/x.yaml: 'train.clip_norm' must be above 0 (or null), got -1``).

    A ``ValueError`` from the dataclass's ``__post_init__`` (checks that relate fields) becomes a ``ConfigError``;
    when its message starts with a full key path (``train.lr must be ...``, as a config that knows its section
    writes it) or a field name, that path is quoted like every other key, otherwise the section is named in front.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: '{prefix.rstrip('.') or 'recipe'}' must be a mapping, got {_tname(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    reject_unknown(raw, set(fields), where, prefix)
    hints = typing.get_type_hints(cls, include_extras=True)
    kwargs = {}
    for name, f in fields.items():
        if name in raw:
            kwargs[name] = _coerce(raw[name], hints[name], where, prefix + name)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"{where}: missing required key '{prefix}{name}'")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # checks in the dataclass's __post_init__
        msg = str(exc)
        head, _, rest = msg.partition(" ")
        key = head.partition("[")[0]
        if prefix and key.startswith(prefix) and key[len(prefix):] in fields:
            raise ConfigError(f"{where}: '{head}' {rest}") from None
        if key in fields and rest.startswith("must "):
            raise ConfigError(f"{where}: '{prefix}{head}' {rest}") from None
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


class _Final(ConfigError):
    """A number of the right type but not one sentae can use (NaN, infinity, beyond 64 bits): final, so that a
    union type does not hide it behind "must be a number or null"."""


def _coerce(value: Any, hint: Any, where: str, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Annotated:
        out = _coerce(value, args[0], where, path)
        declared = _range_of(hint)
        if declared is not None:
            for item_path, item, allow_none in _items(out, path, _admits_none(args[0])):
                problem = declared.problem(item, allow_none)
                if problem:
                    raise ConfigError(f"{where}: '{item_path}' {problem}")
        return out
    shown = _fmt(value) if isinstance(value, int) and not isinstance(value, bool) else _brief_repr(value)
    bad = ConfigError(f"{where}: '{path}' must be {_describe(hint)}, got {shown} ({_tname(value)})")
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
            except _Final:
                raise
            except ConfigError:
                continue
        raise bad
    if origin is Literal:
        if value in args:
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
        extra = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{where}: '{path}' must be one of {', '.join(map(str, args))}, "
                          f"got {_brief_repr(value)}{extra}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT64[0] <= value <= INT64[1]:
                raise _Final(f"{where}: '{path}' must be a 64-bit integer, got {_fmt(value)}")
            return value
        raise bad
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # YAML's .nan and .inf are floats; an integer too large for a float is not finite either
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise _Final(f"{where}: '{path}' must be a finite number, got {_fmt(value)}")
            return number
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
    hint = _strip(hint)
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

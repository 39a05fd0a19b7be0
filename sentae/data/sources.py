"""Data sources by name (``data.source`` in recipes), each with the dataclass its ``data.options`` must fit.

A source is a function ``DataConfig -> DataModule`` registered under a name. It may declare an options dataclass:
then a recipe's ``data.options`` is checked against it when the recipe is read (unknown keys, types, ranges, with
the file named), the resolved recipe shows every option with its default, and the source reads its options with
``source_options``. A source without one (a third party's, say) gets ``data.options`` as a plain dict and checks it
itself.

>>> from dataclasses import dataclass
>>> @dataclass
... class LinesOptions:
...     lowercase: bool = False  # lower-case every line
>>> @register_source("my_lines", options=LinesOptions)       # doctest: +SKIP
... def my_lines(cfg):
...     opts = source_options(cfg, LinesOptions)
...     ...
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ..errors import ConfigError, DataError
from ..schema import from_dict
from .base import DataModule
from .config import DataConfig

__all__ = ["Source", "SourceBuilder", "build_data", "get_source", "register_source", "resolve_options",
           "source_names", "source_options", "unregister_source"]

SourceBuilder = Callable[[DataConfig], DataModule]
T = TypeVar("T")
OPTIONS_PREFIX = "data.options."


@dataclass(frozen=True)
class Source:
    """One registered data source."""

    name: str
    build: SourceBuilder
    options: type | None = None  # the dataclass data.options must fit; None: a plain dict the source checks


_SOURCES: dict[str, Source] = {}


def register_source(name: str, *, options: type | None = None) -> Callable[[SourceBuilder], SourceBuilder]:
    """Register a data source under ``name``; ``options`` is its options dataclass (or None: an untyped dict).
    Plugins call this when their module is imported."""
    if options is not None and not (isinstance(options, type) and dataclasses.is_dataclass(options)):
        raise TypeError(f"register_source('{name}'): options must be a dataclass, got {options!r}")

    def deco(fn: SourceBuilder) -> SourceBuilder:
        _SOURCES[name] = Source(name, fn, options)
        return fn

    return deco


def unregister_source(name: str) -> None:
    _SOURCES.pop(name, None)


def source_names() -> list[str]:
    return sorted(_SOURCES)


def get_source(name: str) -> Source:
    """The source registered as ``name``; an unknown name is a ``DataError`` with the closest known one."""
    found = _SOURCES.get(name)
    if found is None:
        close = difflib.get_close_matches(name, list(_SOURCES), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise DataError(f"unknown data source '{name}'{hint} (known: {', '.join(sorted(_SOURCES))})")
    return found


def build_data(cfg: DataConfig) -> DataModule:
    """Build the DataModule a recipe's ``data`` section describes. A file or folder the OS will not let sentae
    read is one ``DataError`` naming it."""
    try:
        return get_source(cfg.source).build(cfg)
    except OSError as exc:
        where = exc.filename or cfg.path or cfg.source
        raise DataError(f"{where}: cannot be read ({exc.strerror or exc})") from None


def resolve_options(source: str, options: dict[str, Any], where: str) -> dict[str, Any]:
    """A recipe's ``data.options`` checked against the options class of ``source`` and returned with every
    default filled in, as a plain mapping; a ``ConfigError`` naming ``where`` otherwise. A source without an
    options class gets its options back unchanged."""
    cls = get_source(source).options
    if cls is None:
        return options
    return dataclasses.asdict(_parse(cls, options, source, where))


def source_options(cfg: DataConfig, cls: type[T]) -> T:
    """``cfg.options`` as the dataclass ``cls``, for a source's builder. Options that were never checked by a
    recipe (a ``DataConfig`` built in Python, an old run folder) get the same checks, as a ``DataError``."""
    return _parse(cls, cfg.options, cfg.source, None)


def _parse(cls: type[T], raw: Any, source: str, where: str | None) -> T:
    # where is None: called by a builder, whose errors are DataErrors that name the source
    what = f"data source '{source}'"
    error = DataError if where is None else ConfigError
    lead = what if where is None else f"{where}: {what}"
    if not isinstance(raw, dict):
        raise error(f"{lead}: 'data.options' must be a mapping, got {type(raw).__name__}")
    names = sorted(f.name for f in dataclasses.fields(cls))
    if not names and raw:
        raise error(f"{lead} takes no 'data.options' (got {', '.join(map(str, raw))})")
    if where is None:
        for key in raw:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.5)
                hint = f"; did you mean '{close[0]}'?" if close else f"; valid: {', '.join(names)}"
                raise DataError(f"{what}: unknown option '{OPTIONS_PREFIX}{key}'{hint}")
    try:
        return from_dict(cls, raw, where or what, OPTIONS_PREFIX)
    except ConfigError as exc:
        if where is None:
            raise DataError(str(exc)) from None
        raise

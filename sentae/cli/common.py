"""What every CLI command shares: error handling, tables, reading and writing sentence files, ``--attr`` pairs and
the decoding options (spelled once, from ``DecodeConfig``'s fields)."""
from __future__ import annotations

import dataclasses
import functools
import sys
import typing
from typing import Any, Callable

import click

from ..errors import SentaeError


def friendly(fn: Callable) -> Callable:
    """Turn sentae's errors into one line on stderr and a non-zero exit code, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SentaeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(getattr(exc, "exit_code", 1))  # 130/143 after a signal, as a shell reports it

    return wrapper


def table(rows: list[list[Any]], header: list[str]) -> str:
    """Rows as left-aligned columns under a header and a rule."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
    lines += [fmt.format(*map(str, r)).rstrip() for r in rows]
    return "\n".join(lines)


def read_lines(source: str) -> list[str]:
    """The non-blank lines of a UTF-8 file (``-``: standard input), stripped; an error when there are none."""
    stream = click.open_file(source, "r", encoding="utf-8")
    try:
        lines = [line.strip() for line in stream.read().split("\n")]
    except UnicodeDecodeError as exc:
        raise SentaeError(f"{source}: not UTF-8 text ({exc})") from None
    lines = [line for line in lines if line]
    if not lines:
        raise SentaeError(f"{'standard input' if source == '-' else source}: no sentences to read")
    return lines


def write_lines(lines: list[str], output: str) -> None:
    """Write lines to ``output`` (``-``: standard output); a file is written atomically."""
    with click.open_file(output, "w", encoding="utf-8", atomic=output != "-") as fh:
        fh.write("\n".join(lines) + "\n")


def parse_attrs(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--attr NAME=VALUE`` pairs as a mapping."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SentaeError(f"--attr expects NAME=VALUE (e.g. sentiment=positive), got '{pair}'")
        out[name.strip()] = value.strip()
    return out


def _decode_fields() -> list[tuple[str, Any, str, Any]]:
    """(name, type hint, help, default) of every DecodeConfig field."""
    from ..generation.decoding import DecodeConfig
    from ..utils import field_help

    helps = field_help(DecodeConfig)
    hints = typing.get_type_hints(DecodeConfig)
    return [(f.name, hints[f.name], helps.get(f.name, ""), f.default) for f in dataclasses.fields(DecodeConfig)]


def decoding_options(fn: Callable) -> Callable:
    """One click option per ``DecodeConfig`` field (``--top-p`` for ``top_p``, ...), plus ``--seed`` and
    ``--device``. A field left out is None, i.e. the command's default (sampling for ``sample``, greedy otherwise;
    the model's length for ``max_length``)."""
    options = []
    for name, hint, help_text, default in _decode_fields():
        flag = "--" + name.replace("_", "-")
        if typing.get_origin(hint) is typing.Literal:
            kind: Any = click.Choice([str(a) for a in typing.get_args(hint)])
        else:
            kind = hint
        extra = " (default: the command's)" if name == "strategy" else (
            " (default: the model's)" if name == "max_length" else f" (default {default:g})")
        options.append(click.option(flag, name, type=kind, default=None, help=f"Decoding: {help_text}{extra}."))
    options += [
        click.option("--seed", type=int, default=None, help="Seed for sampling, for repeatable output."),
        click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ..."),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def decoding(kw: dict[str, Any]) -> dict[str, Any]:
    """The decoding options a user gave (those left out stay the command's defaults)."""
    names = {name for name, *_ in _decode_fields()}
    return {k: v for k, v in kw.items() if k in names and v is not None}

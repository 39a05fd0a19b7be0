"""What every CLI command shares: error handling, tables, reading and writing sentence files, ``--attr`` pairs and
the decoding options (spelled once, from ``DecodeConfig``'s fields)."""
from __future__ import annotations

import dataclasses
import functools
import os
import sys
import tempfile
import typing
from pathlib import Path
from typing import Any, Callable, Iterable

import click

from ..errors import SentaeError


def friendly(fn: Callable) -> Callable:
    """Turn sentae's errors into one line on stderr and a non-zero exit code, without a traceback. An ``OSError``
    that reached this far (a file the OS refused) is told the same way, naming the file."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SentaeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(getattr(exc, "exit_code", 1))  # 130/143 after a signal, as a shell reports it
        except BrokenPipeError as exc:
            _quiet_stdout()  # the reader went away (`sentae sample ... | head`): stop without a traceback
            # Let the frames go now: the generators they hold (the sampler's batches) are then finalised while
            # torch is alive, not at interpreter shutdown (where torch 2.3 prints an "Exception ignored").
            import traceback

            traceback.clear_frames(exc.__traceback__)
            del exc
            sys.exit(1)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename is not None else ""
            click.echo(f"error: {where}{exc.strerror or str(exc).splitlines()[0]}", err=True)
            sys.exit(1)

    return wrapper


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit cannot raise into the interpreter."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def check_output(output: str, option: str = "-o") -> None:
    """Refuse, before any work, an output file that cannot be written: a folder, a file in a folder that does not
    exist, or in one where no file can be made. ``-`` (standard output) is always fine."""
    if output == "-":
        return
    path = Path(output)
    if path.is_dir():
        raise SentaeError(f"{option} {output}: is a folder; give the name of a file to write")
    parent = path.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise SentaeError(f"{option} {output}: the folder {parent} {what}")
    _probe(parent, f"{option} {output}")


def check_folder(folder: str | Path, option: str) -> None:
    """Refuse, before any work, a folder that can be neither used nor created: its nearest existing ancestor must
    be a folder in which sentae can make files."""
    folder = Path(folder)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise SentaeError(f"{option} {folder}: {probe} is a file, not a folder")
    _probe(probe, f"{option} {folder}")


def _probe(folder: Path, what: str) -> None:
    # Asking the OS is the only reliable test: permission bits do not bind root, /proc and read-only mounts do.
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise SentaeError(f"{what}: cannot write in {folder} ({exc.strerror or exc})") from None


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
    write_chunks([lines], output)


def write_chunks(chunks: Iterable[list[str]], output: str, total: int | None = None) -> None:
    """Write each chunk of lines as soon as it is made, so that memory stays bounded however many there are. A
    file is written atomically: it appears, complete, only when the last chunk is in. With ``total`` and a
    terminal on stderr, a progress bar counts the lines (not when the lines go to that same terminal)."""
    from ..io import atomic_open_text

    bar = _progress_bar(total, output)
    try:
        if output == "-":
            for chunk in filter(None, chunks):
                click.echo("\n".join(chunk))
                if bar is not None:
                    bar.update(len(chunk))
            return
        with atomic_open_text(output) as fh:
            for chunk in filter(None, chunks):
                fh.write("\n".join(chunk) + "\n")
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
        # Close the producers now, while everything they use is alive: a generator left to the interpreter's
        # shutdown (the reader went away, `| head`) is finalised after torch's modules are torn down.
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _progress_bar(total: int | None, output: str):
    if total is None or not sys.stderr.isatty() or (output == "-" and sys.stdout.isatty()):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, file=sys.stderr, unit=" sentences", dynamic_ncols=True)


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
    from ..generation.decode_config import DecodeConfig
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
            " (default: the model's)" if name == "max_length" else
            f" (default {default})" if isinstance(default, str) else f" (default {default:g})")
        options.append(click.option(flag, name, type=kind, default=None, help=f"Decoding: {help_text}{extra}."))
    options += [
        click.option("--seed", type=int, default=None, help="Seed for sampling, for repeatable output."),
        click.option("--device", default="auto", show_default=True, help="auto (cuda when there is one, else cpu), cpu, cuda, cuda:1, ..."),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def decoding(kw: dict[str, Any]) -> dict[str, Any]:
    """The decoding options a user gave (those left out stay the command's defaults)."""
    names = {name for name, *_ in _decode_fields()}
    return {k: v for k, v in kw.items() if k in names and v is not None}

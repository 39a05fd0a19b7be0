"""Small helpers shared by the CLI and the docs."""
from __future__ import annotations

import dataclasses
import inspect
import re
import typing

_FIELD_LINE = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+?)\s*$")


def field_help(config_class: type) -> dict[str, str]:
    """One-line help per config field: ``field(metadata={"help": ...})`` or the field's trailing comment."""
    helps: dict[str, str] = {}
    # Base classes first, so that a subclass's comment on a field it redefines wins.
    for klass in reversed([k for k in config_class.__mro__ if dataclasses.is_dataclass(k)]):
        try:
            for line in inspect.getsource(klass).splitlines():
                m = _FIELD_LINE.match(line)
                if m:
                    helps[m.group(1)] = m.group(2)
        except (OSError, TypeError):  # source not available (e.g. a compiled plugin)
            pass
    for f in dataclasses.fields(config_class):
        if "help" in f.metadata:
            helps[f.name] = f.metadata["help"]
    return helps


def type_name(tp: typing.Any) -> str:
    if isinstance(tp, str):
        return tp
    if typing.get_origin(tp) is typing.Annotated:  # a declared range is shown apart (sentae info's help column)
        return type_name(typing.get_args(tp)[0])
    if typing.get_origin(tp) is typing.Literal:
        return " | ".join(map(str, typing.get_args(tp)))
    if typing.get_origin(tp) is not None or type(tp).__name__ == "UnionType":
        return str(tp).replace("typing.", "").replace("NoneType", "None")
    return getattr(tp, "__name__", None) or str(tp)


class Progress:
    """A progress bar on stderr for long work outside training (eval, encoding, neighbours), only when stderr is
    a terminal: logs and pipes get nothing. ``with Progress(total, "eval", "sentences") as bar: bar.update(k)``."""

    def __init__(self, total: int, desc: str, unit: str = "", enabled: bool | None = None) -> None:
        import sys

        self._bar = None
        if enabled is None:
            enabled = sys.stderr.isatty()
        if enabled and total > 0:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=f" {unit}" if unit else "it", file=sys.stderr,
                             dynamic_ncols=True, leave=False)

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

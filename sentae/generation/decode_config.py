"""``DecodeConfig``: the decoding options (strategy, lengths, beam, temperature, top-k, top-p, precision), and
their checks.

Apart from ``decoding`` so that reading the options costs no torch import: the command line builds one option
per field for ``sentae sample --help`` and the other commands without loading a model.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from ..schema import ANY_VALUE, Range, check_declared_ranges

__all__ = ["DECODING_OPTIONS", "DecodeConfig", "check_decoding", "split_decoding"]


@dataclass
class DecodeConfig:
    strategy: Literal["greedy", "beam", "sample"] = "greedy"  # greedy, beam search or sampling
    max_length: Annotated[int, Range(1)] = 30  # tokens generated at most, eos included
    beam: Annotated[int, Range(1)] = 5  # beam width (strategy "beam")
    # Any finite value is meaningful: above 0 favours longer beams, 0 ranks by raw log-probability, below 0 shorter.
    length_penalty: Annotated[float, ANY_VALUE] = 1.0  # beam: score / length**length_penalty (0 = raw log-probability)
    temperature: Annotated[float, Range(0, low_open=True)] = 1.0  # sample: logits / temperature
    top_k: Annotated[int, Range(0)] = 0  # sample: keep the k most probable tokens (0 = all)
    top_p: Annotated[float, Range(0, 1, low_open=True)] = 1.0  # sample: keep the smallest set whose probability reaches p (1 = all)
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16: the decoder's products in bfloat16 (autocast), faster where the CPU or GPU has bf16; sentences may differ from fp32's

    def __post_init__(self) -> None:
        # Decoding options come from the command line and the Python API, not from a recipe: a SentaeError,
        # which the CLI prints as one line.
        from ..errors import SentaeError

        if self.strategy not in ("greedy", "beam", "sample"):
            raise SentaeError(f"unknown decoding strategy '{self.strategy}' (greedy, beam, sample)")
        if self.precision not in ("fp32", "bf16"):
            raise SentaeError(f"unknown decoding precision '{self.precision}' (fp32, bf16)")
        try:
            check_declared_ranges(self)
        except ValueError as exc:
            name, _, problem = str(exc).partition(" ")
            raise SentaeError(f"decoding option '{name}' {problem}") from None


DECODING_OPTIONS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(DecodeConfig))


def split_decoding(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``options`` split into decoding options (``DecodeConfig`` fields) and the rest."""
    decoding = {k: v for k, v in options.items() if k in DECODING_OPTIONS}
    return decoding, {k: v for k, v in options.items() if k not in DECODING_OPTIONS}


def check_decoding(options: dict[str, Any], where: str) -> dict[str, Any]:
    """``options`` if every key is a decoding option; else one error naming the unknown key and the closest one."""
    import difflib

    from ..errors import SentaeError

    for key in options:
        if key not in DECODING_OPTIONS:
            close = difflib.get_close_matches(key, DECODING_OPTIONS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (decoding options: {', '.join(DECODING_OPTIONS)})"
            raise SentaeError(f"{where}: unknown decoding option '{key}'{hint}")
    return options

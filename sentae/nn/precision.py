"""The precision of a model's matrix products when nothing is trained: fp32, or bf16 under autocast.

Decoding (``DecodeConfig.precision``) and evaluation (``sentae eval --precision``) use it. Autocast, not a bf16 copy
of the model: the weights stay as trained, each product reads them in bf16, and what the output layers normalise
(softmax, log-softmax, cross-entropy) runs in float32, as autocast keeps those ops. The results differ slightly
from fp32's (a likelihood in its fifth digit or so; a decoded word where two are nearly tied), which is why fp32 is
every default.
"""
from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from ..errors import SentaeError

PRODUCT_PRECISIONS = ("fp32", "bf16")


def check_product_precision(precision: str, what: str = "precision") -> None:
    """One ``SentaeError`` naming ``what`` when ``precision`` is not one of ``PRODUCT_PRECISIONS``."""
    if precision not in PRODUCT_PRECISIONS:
        raise SentaeError(f"unknown {what} '{precision}' ({', '.join(PRODUCT_PRECISIONS)})")


def products_in(precision: str, device: torch.device | str) -> ContextManager:
    """A context in which the matrix products on ``device`` run in ``precision``."""
    check_product_precision(precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)

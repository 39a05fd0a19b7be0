"""``DataConfig``: the ``data`` section of a recipe, which data source to build and how to split it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DataConfig"]


@dataclass
class DataConfig:
    source: str = "digits"  # a registered data source: digits, mnist, image_folder, text, ptb, yelp, rt_polarity, reviews, hf
    path: str | None = None  # file or folder for sources read from disk; relative to $SENTAE_DATA_DIR if set
    val_fraction: float = 0.1  # share of the training pool held out for validation, in [0, 1)
    test_fraction: float = 0.1  # share held out as the test split, in [0, 1); ignored where a source has one
    split_seed: int = 0  # seed of the fixed random split, any integer
    limit: int | None = None  # keep only the first N examples (quick runs; null: every example)
    # A plain mapping (so that run folders stay plain YAML); checked against the source's options class, see
    # sentae.data.sources.register_source.
    options: dict[str, Any] = field(default_factory=dict)  # source-specific settings, by option name

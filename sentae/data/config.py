"""``DataConfig``: the ``data`` section of a recipe, which data source to build and how to split it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from ..schema import SEED, Range, check_declared_ranges

__all__ = ["DataConfig"]


@dataclass
class DataConfig:
    source: str = "digits"  # a registered data source: digits, mnist, image_folder, text, ptb, yelp, rt_polarity, reviews, hf
    path: str | None = None  # file or folder for sources read from disk; relative to $SENTAE_DATA_DIR if set
    val_fraction: Annotated[float, Range(0, 1, high_open=True)] = 0.1  # share of the training pool held out for validation
    test_fraction: Annotated[float, Range(0, 1, high_open=True)] = 0.1  # share held out as the test split; ignored where a source has one
    split_seed: Annotated[int, SEED] = 0  # seed of the fixed random split
    limit: Annotated[int | None, Range(1)] = None  # keep only the first N examples (quick runs; null: every example)
    # A plain mapping (so that run folders stay plain YAML); checked against the source's options class, see
    # sentae.data.sources.register_source.
    options: dict[str, Any] = field(default_factory=dict)  # source-specific settings, by option name

    def __post_init__(self) -> None:
        # Whether the two fractions leave a train split depends on the source (some have their own test split),
        # so only each one's range is checked here; split_indices checks their sum.
        check_declared_ranges(self, "data.")

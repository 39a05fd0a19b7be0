"""Data: sources by name, fixed splits, and deterministic batches that a resumed run can replay.

``build_data(DataConfig(...))`` builds the ``DataModule`` a recipe's ``data`` section describes. The built-in
sources (digits, mnist, image_folder, one_class; text, ptb, yelp, rt_polarity, hf; reviews) are registered when this
package is imported; a plugin registers its own with ``register_source``.
"""
from __future__ import annotations

from .base import DATA_DIR_ENV, DataModule, resolve_path, split_indices
from .config import DataConfig
from .sources import (Source, SourceBuilder, build_data, get_source, register_source, resolve_options, source_names,
                      source_options, unregister_source)

# The built-in sources register themselves on import; they import only the modules above, never this package.
from . import images, text, corpora, reviews, one_class, patches  # noqa: E402,F401  isort: skip
from . import pretrained_tokenizer  # noqa: E402,F401  the tokenizer kind 'pretrained' (a model's own ids)

__all__ = ["DATA_DIR_ENV", "DataConfig", "DataModule", "Source", "SourceBuilder", "build_data", "get_source",
           "register_source", "resolve_options", "resolve_path", "source_names", "source_options", "split_indices",
           "unregister_source"]

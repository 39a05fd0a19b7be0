"""The ``one_class`` data source: another image source whose training (and validation) split keeps only the images
of the "normal" classes, while the test split stays whole. This is the one-class setting of anomaly detection
(train on one digit, score every digit), with the same test split as the source itself, so numbers are comparable
with every other model trained on that source."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Any

import torch

from ..errors import DataError
from ..schema import Range, check_declared_ranges
from .config import DataConfig
from .images import ImageData
from .sources import get_source, register_source, source_options

FILTERED_SPLITS = ("train", "val")  # the splits a model learns from; the test split keeps every class


@dataclass
class OneClassOptions:
    """Options of the ``one_class`` source."""

    base: str = "mnist"  # the image source to read (digits, mnist, image_folder), with the recipe's path and split
    base_options: dict[str, Any] = field(default_factory=dict)  # that source's own data.options
    normal: Annotated[list[int], Range(0)] = field(default_factory=list)  # label ids kept in the train and val splits (at least one)

    def __post_init__(self) -> None:
        if not self.normal:
            raise ValueError("data.options.normal must list at least one label id (e.g. [3]: digit 3 is normal)")
        if self.base == "one_class":
            raise ValueError("data.options.base must be another source, not one_class")
        check_declared_ranges(self, "data.options.")


@register_source("one_class", options=OneClassOptions)
def one_class(cfg: DataConfig) -> ImageData:
    """``data.options.base`` built with the recipe's path, fractions, seed and limit; its train and val splits
    then keep only the images whose label is in ``normal``. The test split is the base source's, all classes."""
    o = source_options(cfg, OneClassOptions)
    base_cfg = dataclasses.replace(cfg, source=o.base, options=dict(o.base_options))
    data = get_source(o.base).build(base_cfg)
    if not isinstance(data, ImageData):
        raise DataError(f"data source 'one_class': base '{o.base}' is not an image source")
    known = sorted(int(v) for v in torch.unique(data.labels).tolist())
    missing = [k for k in o.normal if k not in known]
    if missing:
        raise DataError(f"data source 'one_class': normal label(s) {missing} do not occur in '{o.base}' "
                        f"(labels there: {known})")
    normal = torch.tensor(sorted(set(o.normal)))
    for split in FILTERED_SPLITS:
        if split in data.index and len(data.index[split]):
            rows = data.index[split]
            data.index[split] = rows[torch.isin(data.labels[rows], normal)]
    if len(data.index.get("train", [])) == 0:
        raise DataError(f"data source 'one_class': no training image has a label in {o.normal}")
    return data

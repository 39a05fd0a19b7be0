"""The named text corpora: Penn Treebank (Mikolov), Yelp sentences with sentiment, rt-polarity, and any Hugging
Face dataset. Each reads its files from ``data.path`` (a default folder under $SENTAE_DATA_DIR) and takes the
options every text source takes (``sentae.data.options.TextOptions``); ``hf`` also those of a file of your own."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .attributes import SENTIMENTS
from .base import resolve_path
from .config import DataConfig
from .options import HFOptions, TextOptions
from .readers import ReadSpec, TextSplit, read_file, read_hf
from .sources import register_source, source_options
from .text import TextData, assemble, read_spec

__all__ = ["HFSourceOptions", "ptb", "yelp", "rt_polarity", "hf"]


@register_source("ptb", options=TextOptions)
def ptb(cfg: DataConfig) -> TextData:
    """Penn Treebank (Mikolov): ``ptb.{train,valid,test}.txt`` under ``data.path`` (default
    ``penn_treebank_mikolov`` in $SENTAE_DATA_DIR); its own ``<unk>`` is the unknown token."""
    o = source_options(cfg, TextOptions)
    base = resolve_path(cfg.path or "penn_treebank_mikolov", "data source 'ptb'")
    spec = read_spec(cfg, o, fmt="text")
    return assemble(cfg, o, lambda: _standard_splits(base, "ptb.{}.txt", spec), {},
                    files=_standard_files(base, "ptb.{}.txt"))


@register_source("yelp", options=TextOptions)
def yelp(cfg: DataConfig) -> TextData:
    """Yelp sentences with sentiment (negative/positive; 0/1 accepted): ``{train,valid,test}.jsonl`` under
    ``data.path`` (default ``yelp`` in $SENTAE_DATA_DIR)."""
    o = source_options(cfg, TextOptions)
    base = resolve_path(cfg.path or "yelp", "data source 'yelp'")
    attrs = {"sentiment": SENTIMENTS}
    spec = read_spec(cfg, o, fmt="jsonl", attributes=attrs, aliases={"0": "negative", "1": "positive"})
    return assemble(cfg, o, lambda: _standard_splits(base, "{}.jsonl", spec), attrs,
                    files=_standard_files(base, "{}.jsonl"))


STANDARD_SPLITS = (("train", "train"), ("val", "valid"), ("test", "test"))  # ours, as the files name them


def _standard_splits(base: Path, pattern: str, spec: ReadSpec) -> dict[str, TextSplit]:
    """The train/valid/test files of a corpus with fixed splits (``pattern`` has ``{}`` for the split's name)."""
    return {ours: read_file(base / pattern.format(theirs), spec) for ours, theirs in STANDARD_SPLITS}


def _standard_files(base: Path, pattern: str) -> list[Path]:
    """Those files' paths, which key the corpus's token-cache entry."""
    return [base / pattern.format(theirs) for _, theirs in STANDARD_SPLITS]


@register_source("rt_polarity", options=TextOptions)
def rt_polarity(cfg: DataConfig) -> TextData:
    """Movie-review snippets (Pang & Lee 2005): ``rt-polarity.{neg,pos}`` (cp1252) under ``data.path`` (default
    ``rt_polarity``); sentiment from the file; split by ``val_fraction``/``test_fraction`` with ``split_seed``."""
    o = source_options(cfg, TextOptions)
    base = resolve_path(cfg.path or "rt_polarity", "data source 'rt_polarity'")
    attrs = {"sentiment": SENTIMENTS}
    paths = [base / f"rt-polarity.{value[:3]}" for value in SENTIMENTS]

    def read() -> dict[str, TextSplit]:
        pool = TextSplit([], {"sentiment": []})
        for label, path in enumerate(paths):
            spec = read_spec(cfg, o, fmt="text", encoding="cp1252", attributes=attrs, fixed={"sentiment": label})
            pool.extend(read_file(path, spec))
        return {"train": pool}

    return assemble(cfg, o, read, attrs, files=paths)


@dataclass
class HFSourceOptions(HFOptions):
    """Options of the ``hf`` source: those of ``HFOptions``, with ``hf_dataset`` required."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hf_dataset is None:
            raise ValueError("data.options.hf_dataset is required (a dataset name, or json/csv/text)")


@register_source("hf", options=HFSourceOptions)
def hf(cfg: DataConfig) -> TextData:
    """A Hugging Face dataset (``data.options.hf_dataset``; ``hf_config``, ``hf_data_files``, ``streaming``)."""
    o = source_options(cfg, HFSourceOptions)
    return assemble(cfg, o, read_hf(o, read_spec(cfg, o, fmt="jsonl")), o.attributes)

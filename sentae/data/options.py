"""The ``data.options`` of the text sources, as dataclasses: those every text source takes (``TextOptions``), those
of sources that read a file of your own (``ReadOptions``) and those of Hugging Face datasets (``HFOptions``).

A source's options class is one of these or a subclass (``reviews`` adds ``size`` and ``seed``); see
``sentae.data.sources.register_source``. Messages name the option as ``data.options.NAME``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from ..schema import Range, check_declared_ranges

__all__ = ["TextOptions", "ReadOptions", "HFOptions"]


@dataclass
class TextOptions:
    """Options of every text source: tokenizer, lengths, tense labels, selection and balancing."""

    tokenizer: Literal["word", "bpe", "unigram", "pretrained"] = "word"  # how sentences become token ids (pretrained: a model's own, see pretrained_tokenizer)
    pretrained_tokenizer: str | None = None  # tokenizer "pretrained": a folder with tokenizer.json, a .gguf file or a Hub name
    vocab_size: Annotated[int | None, Range(4, low_open=True)] = None  # largest vocabulary, 4 specials included (null: every train word for word, 8000 otherwise)
    min_freq: Annotated[int, Range(1)] = 1  # least train-split count of a word kept in a word vocabulary
    max_length: Annotated[int, Range(1)] = 50  # tokens per sentence without bos/eos; longer ones follow length_policy
    length_policy: Literal["truncate", "drop"] = "truncate"  # what happens to a sentence over max_length
    max_line_tokens: Annotated[int, Range(1)] = 1000  # a longer line of a file is an error (one sentence a line is expected)
    tense_labels: bool = False  # add the attribute tense (past/present/future) from the rule-based labeller
    require_labels: list[str] | None = None  # keep only sentences labelled for every attribute named (null: all)
    balance: str | None = None  # an attribute whose rarer values are repeated in train (null: no re-weighting)
    balance_max_repeat: Annotated[int, Range(1)] = 4  # most times one train sentence is repeated by balance

    def __post_init__(self) -> None:
        check_declared_ranges(self, "data.options.")  # also the fields of subclasses (ReviewsOptions' size, ...)
        if self.require_labels is not None and not self.require_labels:
            raise ValueError("data.options.require_labels must be a list of attribute names, got []")


@dataclass
class ReadOptions(TextOptions):
    """Options of sources that read a corpus of your own: columns, attributes, format and encoding."""

    text_column: str = "text"  # the column (CSV/TSV header, JSONL key) holding the sentence
    # Values may be numbers in YAML ([0, 1]); they are kept as strings, as the files are read.
    attributes: dict[str, list[str | int]] = field(default_factory=dict)  # attribute name -> its allowed values
    attribute_columns: dict[str, str] = field(default_factory=dict)  # attribute -> column, where the names differ
    format: Literal["text", "jsonl", "csv", "tsv"] | None = None  # the files' format (null: from each file's suffix)
    encoding: str = "utf-8"  # text encoding of the files, any Python codec name (e.g. cp1252)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not all(isinstance(v, list) and v for v in self.attributes.values()):
            raise ValueError(f"data.options.attributes must be a mapping of attribute name -> list of allowed "
                             f"values, got {self.attributes!r}")
        if not set(self.attribute_columns) <= set(self.attributes):
            raise ValueError(f"data.options.attribute_columns must be a mapping of declared attribute name -> "
                             f"column name, got {self.attribute_columns!r}")
        self.attributes = {str(k): [str(x) for x in v] for k, v in self.attributes.items()}  # 0/1 -> "0"/"1"


@dataclass
class HFOptions(ReadOptions):
    """Options of Hugging Face datasets, read through ``datasets.load_dataset``."""

    hf_dataset: str | None = None  # a dataset name on the Hub, or json/csv/text with hf_data_files
    hf_config: str | None = None  # the dataset's configuration name (null: its default)
    hf_data_files: Any = None  # load_dataset's data_files: a path, a list, or split -> path(s) (null: none)
    streaming: bool = False  # read only the first data.limit examples of each split, without downloading the rest
    cache_dir: str | None = None  # where datasets caches downloads (null: its default, ~/.cache/huggingface)

"""Labelled sentences for latent arithmetic: from a file, from pairs in memory, or from a run's training data."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

from ..errors import SentaeError
from ..run import RunFolder

Labelled = Union[str, Path, Sequence[tuple[str, str]], None]


def read_labelled_file(path: str | Path, attribute: str, text_column: str = "text") -> list[tuple[str, str]]:
    """(text, value) pairs from a JSONL, CSV or TSV file with a text column and an ``attribute`` column, read by
    ``sentae.data.readers.read_labelled_pairs``. Rows whose value is empty or null are skipped (unlabelled)."""
    from ..data.readers import read_labelled_pairs

    return read_labelled_pairs(path, attribute, text_column)


def training_pairs(run_dir: Path | None, attribute: str, values: list[str]) -> list[tuple[str, str]]:
    """(text, value) pairs from the train split the run was trained on (rebuilt from its config.yaml); the
    texts are the training token ids decoded, i.e. what the model saw."""
    if run_dir is None:
        raise SentaeError("this model has no run folder: pass labelled sentences (a file or (text, value) pairs)")
    data = RunFolder(run_dir).rebuild_data()
    labels = data.labels.get("train", {}).get(attribute)
    if labels is None:
        have = ", ".join(data.labels.get("train", {})) or "none"
        raise SentaeError(f"{run_dir}: the training data has no '{attribute}' labels (attributes: {have}); "
                          f"pass labelled sentences from a file")
    ids = data.ids["train"]
    return [(data.tokenizer.decode(ids[i]), values[int(v)]) for i, v in enumerate(labels.tolist()) if v >= 0]


def training_texts(run_dir: Path | None) -> list[str]:
    """Every sentence of the run's train split, decoded from the ids the model saw."""
    if run_dir is None:
        raise SentaeError("this model has no run folder: pass the sentences to search among")
    data = RunFolder(run_dir).rebuild_data()
    return [data.tokenizer.decode(x) for x in data.ids["train"]]

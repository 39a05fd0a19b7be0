"""Labelled sentences for latent arithmetic: from a file, from pairs in memory, or from a run's training data."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

from ..errors import DataError, SentaeError
from ..run import RunFolder

Labelled = Union[str, Path, Sequence[tuple[str, str]], None]


def read_labelled_file(path: str | Path, attribute: str, text_column: str = "text") -> list[tuple[str, str]]:
    """(text, value) pairs from a JSONL, CSV or TSV file with a text column and an ``attribute`` column, read by
    the corpus readers of ``sentae.data.text``. Rows whose value is empty or null are skipped (unlabelled)."""
    from ..data.text import ReadSpec, _csv_rows, _decode, _jsonl_rows

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".json", ".csv", ".tsv"):
        raise DataError(f"{path}: labelled sentences must be .jsonl, .csv or .tsv (with '{text_column}' and "
                        f"'{attribute}' columns)")
    text = _decode(path, "utf-8")
    if suffix in (".jsonl", ".json"):
        rows = _jsonl_rows(path, text)
    else:
        rows = _csv_rows(path, text, suffix[1:], ReadSpec(text_column=text_column, attributes={attribute: []}))
    pairs: list[tuple[str, str]] = []
    for n, row in rows:
        for col in (text_column, attribute):
            if col not in row:
                raise DataError(f"{path}:{n}: no '{col}' column (has: {', '.join(row)})")
        value, sentence = row[attribute], str(row[text_column] or "").strip()
        if value is None or str(value).strip() == "" or not sentence:
            continue
        pairs.append((sentence, str(value).strip()))
    if not pairs:
        raise DataError(f"{path}: no sentence has a '{attribute}' value")
    return pairs


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

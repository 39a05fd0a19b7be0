"""Sentences given from Python (``sentae.train(recipe, data=...)``) as a corpus file the ``text`` source reads.

Accepted: a list of strings; a list of mappings with a ``text`` column (``text_column``) and attribute columns (every
other column; ``None`` or ``""`` is a missing label); a Hugging Face ``datasets.Dataset`` (its rows are such
mappings, or its one column is the text). They are written as JSON lines into the run folder, and the run's
recipe names that file, so ``eval``, ``neighbours``, ``transfer`` and ``--resume`` rebuild the data as from any
corpus file (and through the token cache).

>>> text, attributes = to_jsonl([{"text": "the soup was cold .", "sentiment": "negative"}])
>>> attributes
{'sentiment': ['negative']}
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from ..errors import DataError

__all__ = ["EXAMPLES_FILE", "to_jsonl"]

EXAMPLES_FILE = "train_data.jsonl"  # in the run folder


def _rows(examples: Any, text_column: str) -> Iterable[Mapping[str, Any]]:
    if isinstance(examples, (str, bytes)) or isinstance(examples, Mapping):
        raise DataError(f"data: expected a list of sentences, a list of rows or a datasets.Dataset, got "
                        f"{type(examples).__name__} (a file path goes in the recipe's data.path)")
    if type(examples).__name__ == "IterableDataset":
        raise DataError("data: a streaming datasets.IterableDataset is not read from Python; pass a Dataset (or "
                        "name the dataset in the recipe's data.options.hf_dataset)")
    columns = getattr(examples, "column_names", None)
    if columns is not None and len(columns) == 1 and text_column not in columns:
        text_column_in = columns[0]  # a dataset of one column: that is the text
        return ({text_column: row[text_column_in]} for row in examples)
    return (row if isinstance(row, Mapping) else {text_column: row} for row in examples)


def to_jsonl(examples: Any, text_column: str = "text", attributes: Mapping[str, list] | None = None
             ) -> tuple[str, dict[str, list[str]]]:
    """``examples`` as JSON lines (``text_column`` and the attribute columns) and the attributes found: column ->
    its values in first-seen order, unless ``attributes`` declares them. Each problem is one ``DataError``
    naming the row."""
    lines, found, columns = [], {}, None
    for n, row in enumerate(_rows(examples, text_column), 1):
        text = row.get(text_column)
        if not isinstance(text, str):
            what = "missing" if text is None else f"a {type(text).__name__}"
            raise DataError(f"data, row {n}: the '{text_column}' column is {what}, not a sentence")
        names = [k for k in row if k != text_column]
        if columns is None:
            columns = names
        elif sorted(names) != sorted(columns):
            raise DataError(f"data, row {n}: columns {sorted(names)} differ from the first row's {sorted(columns)}")
        rec: dict[str, Any] = {text_column: text}
        for k in names:
            v = row[k]
            if v is not None and not isinstance(v, (str, int, bool)):
                raise DataError(f"data, row {n}: attribute '{k}' is a {type(v).__name__}; attribute values are "
                                f"strings or integers (None: no label)")
            rec[k] = None if v is None or v == "" else str(v)
            if rec[k] is not None and rec[k] not in found.setdefault(k, []):
                found[k].append(rec[k])
        lines.append(json.dumps(rec, ensure_ascii=False))
    if not lines:
        raise DataError("data: no sentences (an empty list or dataset)")
    declared = {str(k): [str(x) for x in v] for k, v in (attributes or {}).items()}
    attrs = {k: declared.get(k, found.get(k, [])) for k in (columns or [])}
    empty = [k for k, v in attrs.items() if not v]
    if empty:
        raise DataError(f"data: attribute column(s) {', '.join(empty)} have no value in any row")
    return "\n".join(lines) + "\n", attrs

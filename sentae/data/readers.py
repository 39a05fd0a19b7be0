"""Corpus readers: plain text (one sentence a line), CSV/TSV/JSONL files with a text column and attribute columns,
and Hugging Face datasets. Every problem is a ``DataError`` naming the file (or dataset split) and the line.

>>> from pathlib import Path
>>> split = read_file(Path("train.jsonl"), ReadSpec(attributes={"sentiment": ["negative", "positive"]}))  # doctest: +SKIP
>>> split.texts[:2], split.labels["sentiment"][:2]                                                          # doctest: +SKIP
"""
from __future__ import annotations

import csv
import difflib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import DataError
from .options import HFOptions

__all__ = ["SPLIT_ALIASES", "SPLITS", "ReadSpec", "TextSplit", "collect", "csv_rows", "decode", "file_format",
           "jsonl_rows", "read_file", "read_hf", "read_labelled_pairs", "row_example"]

SPLIT_ALIASES = {"train": "train", "valid": "val", "val": "val", "dev": "val", "validation": "val", "test": "test"}
SPLITS = ("train", "val", "test")


@dataclass
class TextSplit:
    """The examples of one split: normalised texts (single spaces) and label indices per attribute (-1: none)."""

    texts: list[str] = field(default_factory=list)
    labels: dict[str, list[int]] = field(default_factory=dict)

    def subset(self, idx: list[int]) -> TextSplit:
        return TextSplit([self.texts[i] for i in idx], {k: [v[i] for i in idx] for k, v in self.labels.items()})

    def extend(self, other: TextSplit) -> None:
        self.texts += other.texts
        for k, v in other.labels.items():
            self.labels.setdefault(k, []).extend(v)


@dataclass
class ReadSpec:
    """How to read one corpus file."""

    fmt: str | None = None  # text | jsonl | csv | tsv; None: from the file suffix
    encoding: str = "utf-8"  # any Python codec name
    text_column: str = "text"  # column (or JSON key) of the sentence
    attributes: dict[str, list[str]] = field(default_factory=dict)  # attribute -> allowed values
    columns: dict[str, str] = field(default_factory=dict)  # attribute -> column, where the names differ
    aliases: dict[str, str] = field(default_factory=dict)  # value as written in the file -> declared value
    fixed: dict[str, int] = field(default_factory=dict)  # attribute -> label index for every line (one file a class)
    max_line_tokens: int = 1000  # a longer line is an error, at least 1
    limit: int | None = None  # stop after this many sentences (None: read everything)


def decode(path: Path, encoding: str) -> str:
    """The text of ``path``: a missing or empty file, or bytes that are not ``encoding``, is a ``DataError`` naming
    the line and byte. A UTF-8 byte-order mark is dropped."""
    if not path.is_file():
        raise DataError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    raw = path.read_bytes()
    if not raw:
        raise DataError(f"{path}: the file is empty")
    start = 3 if encoding.replace("-", "").lower() == "utf8" and raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        return raw[start:].decode(encoding)
    except UnicodeDecodeError as exc:
        off = start + exc.start
        line = raw.count(b"\n", 0, off) + 1
        col = off - (raw.rfind(b"\n", 0, off) + 1)
        raise DataError(
            f"{path}, line {line}: byte 0x{raw[off]:02x} at byte offset {col} of the line (offset {off} in the file) "
            f"is not valid {encoding} ({exc.reason}); set data.options.encoding (e.g. cp1252) if the file uses another"
        ) from None
    except LookupError:
        raise DataError(f"{path}: unknown encoding '{encoding}' (data.options.encoding)") from None


def file_format(path: Path, spec: ReadSpec) -> str:
    """The format of ``path``: ``spec.fmt``, or from its suffix."""
    if spec.fmt:
        return spec.fmt
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}.get(path.suffix.lower(), "text")


def read_file(path: Path, spec: ReadSpec) -> TextSplit:
    """Read one corpus file; every problem is a ``DataError`` naming the file and the line."""
    text = decode(path, spec.encoding)
    fmt = file_format(path, spec)
    if fmt == "text":
        if set(spec.attributes) - set(spec.fixed):
            raise DataError(f"{path}: attributes need a JSONL, CSV or TSV file with label columns, not plain text")
        # Split on "\n" only: str.splitlines() would also break lines at U+0085, U+2028 and friends.
        rows: Iterable[tuple[int, Any]] = _lines(text)
    elif fmt == "jsonl":
        rows = jsonl_rows(path, _lines(text))
    else:
        rows = csv_rows(path, text, fmt, spec)
    return collect(rows, str(path), spec, plain=fmt == "text")


def read_labelled_pairs(path: str | Path, attribute: str, text_column: str = "text") -> list[tuple[str, str]]:
    """(text, value) pairs from a JSONL, CSV or TSV file with a text column and an ``attribute`` column. Rows whose
    value is empty or null are skipped (unlabelled); a file with none labelled is a ``DataError``.

    >>> read_labelled_pairs("labelled.csv", "sentiment")  # doctest: +SKIP
    [('the soup was cold .', 'negative'), ...]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".json", ".csv", ".tsv"):
        raise DataError(f"{path}: labelled sentences must be .jsonl, .csv or .tsv (with '{text_column}' and "
                        f"'{attribute}' columns)")
    text = decode(path, "utf-8")
    if suffix in (".jsonl", ".json"):
        rows = jsonl_rows(path, _lines(text))
    else:
        rows = csv_rows(path, text, suffix[1:], ReadSpec(text_column=text_column, attributes={attribute: []}))
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


def collect(rows: Iterable[tuple[int, Any]], where: str, spec: ReadSpec, plain: bool = False) -> TextSplit:
    """Sentences and labels from numbered rows (a line of plain text, or a record of named columns)."""
    out = TextSplit([], {name: [] for name in spec.attributes})
    for n, row in rows:
        example = row_example(n, row, where, spec, plain)
        if example is None:
            continue
        out.texts.append(example[0])
        for name, label in zip(spec.attributes, example[1]):
            out.labels[name].append(label)
        if spec.limit is not None and len(out.texts) >= spec.limit:
            break
    if not out.texts:
        raise DataError(f"{where}: no sentences (only blank lines or blank texts)")
    return out


def row_example(n: int, row: Any, where: str, spec: ReadSpec, plain: bool = False) -> tuple[str, list[int]] | None:
    """One numbered row as (normalised sentence, label index per attribute of ``spec``), or None for a blank one.
    Shared by ``collect`` and the streaming reader, so both give the same sentences and the same messages."""
    sentence = row if plain else _column(row, spec.text_column, where, n, "text column")
    if not isinstance(sentence, str):
        raise DataError(f"{where}, line {n}: column '{spec.text_column}' is {type(sentence).__name__}, not text")
    words = sentence.split()
    if not words:
        return None
    if len(words) > spec.max_line_tokens:
        raise DataError(
            f"{where}, line {n}: {len(words):,} tokens, more than data.options.max_line_tokens="
            f"{spec.max_line_tokens:,} (one sentence a line is expected)"
        )
    labels = [spec.fixed[name] if name in spec.fixed else _label(row, name, values, spec, where, n)
              for name, values in spec.attributes.items()]
    return " ".join(words), labels


def _lines(text: str) -> Iterable[tuple[int, str]]:
    """(line number, line) of ``text`` split on "\\n", one at a time: a list of every line of a large corpus would
    be held beside the sentences made from it."""
    start, n = 0, 1
    while True:
        end = text.find("\n", start)
        if end < 0:
            yield n, text[start:]
            return
        yield n, text[start:end]
        start, n = end + 1, n + 1


def jsonl_rows(path: Path, lines: Iterable[tuple[int, str]]) -> Iterable[tuple[int, dict]]:
    """(line number, record) of numbered JSONL lines; blank lines skipped."""
    for n, line in lines:
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(rec, dict):
            raise DataError(f"{path}, line {n}: expected a JSON object, got {type(rec).__name__}")
        yield n, rec


def csv_rows(path: Path, text: str | Iterable[str], fmt: str, spec: ReadSpec) -> Iterable[tuple[int, dict]]:
    """(line number, record) of a CSV/TSV file's text, or of its lines (newlines kept) as they are read."""
    # TSV has no quoting (quotes are common inside tokenised sentences); CSV uses standard quoting.
    kw = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if fmt == "tsv" else {}
    reader = csv.reader(io.StringIO(text, newline="") if isinstance(text, str) else text, **kw)
    try:
        header = next(reader)
        needed = [spec.text_column] + [spec.columns.get(a, a) for a in spec.attributes if a not in spec.fixed]
        for col in needed:
            if col not in header:
                close = difflib.get_close_matches(col, header, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise DataError(f"{path}, line 1 (header): no column '{col}' (columns: {', '.join(header)}){hint}")
        for row in reader:
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) > len(header):
                raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields, the header has {len(header)}")
            yield reader.line_num, dict(zip(header, row))
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: malformed {fmt.upper()} ({exc})") from None


def _column(row: dict, col: str, path: Any, n: int, what: str) -> Any:
    if col not in row:
        raise DataError(f"{path}, line {n}: no column '{col}' ({what}; the line has: {', '.join(map(str, row)) or 'nothing'})")
    return row[col]


def _label(row: dict, name: str, values: list[str], spec: ReadSpec, path: Any, n: int) -> int:
    col = spec.columns.get(name, name)
    if col not in row:
        raise DataError(f"{path}, line {n}: no column '{col}' (attribute '{name}'; write null for a missing label)")
    value = row[col]
    if value is None or value == "":
        return -1  # a missing label, not an error: partially labelled corpora are fine
    s = str(value)
    s = spec.aliases.get(s, s)
    if s not in values:
        raise DataError(
            f"{path}, line {n}: value {value!r} in column '{col}' is not an allowed value of attribute '{name}' "
            f"(allowed: {', '.join(values)})"
        )
    return values.index(s)


def read_hf(o: HFOptions, spec: ReadSpec) -> dict[str, TextSplit]:
    """The splits of the Hugging Face dataset ``o.hf_dataset``, through ``datasets.load_dataset``. With
    ``streaming`` only the first ``spec.limit`` examples of each split are read (nothing else is downloaded)."""
    name, streaming = o.hf_dataset, o.streaming
    if streaming and spec.limit is None:
        raise DataError(f"hf dataset '{name}': streaming needs data.limit (examples read into memory per split)")
    try:
        import datasets
    except ImportError:
        raise DataError("Hugging Face datasets need the 'datasets' package: pip install datasets") from None
    kwargs = {k: v for k, v in (("data_files", o.hf_data_files), ("cache_dir", o.cache_dir)) if v is not None}
    try:
        ds = datasets.load_dataset(name, o.hf_config, streaming=streaming, **kwargs)
    except Exception as exc:  # the hub, the network and the builders raise many kinds
        raise DataError(f"hf dataset '{name}': cannot load ({type(exc).__name__}: {exc})") from None
    splits: dict[str, TextSplit] = {}
    for hf_split in ds:
        ours = SPLIT_ALIASES.get(hf_split)
        if ours is None or ours in splits:
            continue
        where = f"hf dataset '{name}' split '{hf_split}'"
        splits[ours] = collect(enumerate(ds[hf_split], 1), where, spec)  # stops after data.limit sentences
    if "train" not in splits:
        raise DataError(f"hf dataset '{name}': no sentences in a 'train' split (splits: {', '.join(ds)})")
    return splits

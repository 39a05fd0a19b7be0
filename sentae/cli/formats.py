"""Machine-readable output: ``--format text|json|jsonl|tsv`` for the commands that print results.

Every command that supports it turns its results into records (plain dicts with the same keys): ``text`` is what
the command printed before (sentences a line, or a table), ``jsonl`` one JSON object a line, ``json`` one JSON
document (a list of the records, or one object for a report), ``tsv`` a header line of the keys and a line per
record, tabs and line breaks inside values turned into spaces. Output goes to ``-o FILE`` (atomically) or to
standard output (``-``), in batches as the command makes them, so large outputs stay in bounded memory.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import click

FORMATS = ("text", "json", "jsonl", "tsv")


def format_option(fn: Callable) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                        help="text for people; json, jsonl (a JSON object a line) or tsv for programs.")(fn)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def render(chunks: Iterable[list[dict[str, Any]]], fmt: str, text: Callable[[list[dict[str, Any]]], list[str]],
           keys: list[str] | None = None) -> Iterator[list[str]]:
    """Lines of output, chunk by chunk, for records made in chunks. ``text`` renders a chunk the way people read
    it; ``keys`` fixes the TSV columns (default: the first record's keys)."""
    first = True
    for chunk in chunks:
        if not chunk:
            continue
        if fmt == "text":
            yield text(chunk)
        elif fmt == "jsonl":
            yield [json.dumps(r, ensure_ascii=False) for r in chunk]
        elif fmt == "json":
            body = [json.dumps(r, ensure_ascii=False) for r in chunk]
            lines = [("[" if first else ",") + body[0], *("," + b for b in body[1:])]
            yield lines
        else:  # tsv
            cols = keys or list(chunk[0])
            lines = ["\t".join(cols)] if first else []
            yield lines + ["\t".join(_cell(r.get(k, "")) for k in cols) for r in chunk]
        first = False
    if fmt == "json":
        yield ["[]"] if first else ["]"]


def render_document(doc: Any, fmt: str, text: Callable[[Any], str]) -> list[str]:
    """One result that is a single object (a report, a model's description): json as one document, jsonl as one
    line, tsv as key/value rows of its flat fields, text as ``text(doc)``."""
    if fmt == "text":
        return [text(doc)]
    if fmt == "json":
        return [json.dumps(doc, ensure_ascii=False, indent=1)]
    if fmt == "jsonl":
        return [json.dumps(doc, ensure_ascii=False)]
    rows = ["key\tvalue"]
    for key, value in _flat(doc):
        rows.append(f"{key}\t{_cell(value)}")
    return rows


def _flat(doc: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _flat(v, f"{prefix}{k}." if isinstance(v, dict) else f"{prefix}{k}")
            if isinstance(v, dict) and not v:
                yield f"{prefix}{k}", {}
    else:
        yield prefix.rstrip("."), doc

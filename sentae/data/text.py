"""Text corpora: readers for plain text, CSV/TSV/JSONL and Hugging Face datasets; the PTB, Yelp and rt-polarity
sources; and ``TextData``, which tokenizes the splits and serves length-bucketed batches.

>>> from sentae.config import DataConfig
>>> from sentae.data import build_data
>>> data = build_data(DataConfig(source="yelp", options={"max_length": 20}))  # doctest: +SKIP
>>> batch = data.get_batch("train", data.batches("train", 32)[0])             # doctest: +SKIP
>>> batch["tokens"].shape, batch["attr_sentiment"][:4]                         # doctest: +SKIP

Options (``data.options``) shared by every text source: ``tokenizer`` (word | bpe | unigram, default word),
``vocab_size`` (largest vocabulary, the 4 specials included; default: every train word for ``word``, 8000 for the
others), ``min_freq`` (default 1), ``max_length`` (tokens without bos/eos, default 50), ``length_policy``
(truncate | drop, default truncate), ``max_line_tokens`` (a longer line is an error, default 1000). The vocabulary is
built from the train split only. ``data.limit`` keeps the first N examples of each file read. Blank lines (and
blank texts) are skipped. ``tense_labels: true`` adds the attribute ``tense`` (past / present / future) to every
split, labelled by the rule-based ``sentae.data.tense.label_tense`` (-1, a missing label, where a sentence has no
finite verb); a corpus that already has a ``tense`` attribute is a configuration error.

Selecting and re-weighting examples (after tense labelling): ``require_labels: [tense]`` keeps only the sentences
that have a label for every attribute named (in every split; the counts dropped are reported), for models whose
every training sentence should carry the attribute they control. ``balance: tense`` repeats the train sentences of
the rarer values of that attribute (each value ``v`` with ``n_v`` sentences ``min(balance_max_repeat,
round(n_max / n_v))`` times, default at most 4 times), so a rare value such as future tense is seen often enough
to be learnt; validation and test are never re-weighted.
"""
from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch

from ..config import DataConfig
from ..errors import ConfigError, DataError
from ..model import Batch, DataInfo
from . import DataModule, register_source, resolve_path, split_indices
from .tokenizers import TOKENIZER_FILE, Tokenizer, load_tokenizer, train_tokenizer

__all__ = ["TextData", "TextSplit", "ReadSpec", "read_file", "load_tokenizer"]

COMMON_OPTIONS = {"tokenizer", "vocab_size", "min_freq", "max_length", "length_policy", "max_line_tokens",
                  "tense_labels", "require_labels", "balance", "balance_max_repeat"}
READ_OPTIONS = {"text_column", "attributes", "attribute_columns", "format", "encoding"}
HF_OPTIONS = {"hf_dataset", "hf_config", "hf_data_files", "streaming", "cache_dir"}
SPLIT_ALIASES = {"train": "train", "valid": "val", "val": "val", "dev": "val", "validation": "val", "test": "test"}
SPLITS = ("train", "val", "test")
SENTIMENT = ["negative", "positive"]


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
    encoding: str = "utf-8"
    text_column: str = "text"
    attributes: dict[str, list[str]] = field(default_factory=dict)  # attribute -> allowed values
    columns: dict[str, str] = field(default_factory=dict)  # attribute -> column, where the names differ
    aliases: dict[str, str] = field(default_factory=dict)  # value as written in the file -> declared value
    fixed: dict[str, int] = field(default_factory=dict)  # attribute -> label index for every line (one file a class)
    max_line_tokens: int = 1000
    limit: int | None = None


# --------------------------------------------------------------------------------------------------------------
# reading


def _decode(path: Path, encoding: str) -> str:
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


def _fmt(path: Path, spec: ReadSpec) -> str:
    if spec.fmt:
        return spec.fmt
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}.get(path.suffix.lower(), "text")


def read_file(path: Path, spec: ReadSpec) -> TextSplit:
    """Read one corpus file; every problem is a ``DataError`` naming the file and the line."""
    text = _decode(path, spec.encoding)
    fmt = _fmt(path, spec)
    if fmt == "text":
        if set(spec.attributes) - set(spec.fixed):
            raise DataError(f"{path}: attributes need a JSONL, CSV or TSV file with label columns, not plain text")
        # Split on "\n" only: str.splitlines() would also break lines at U+0085, U+2028 and friends.
        rows: Iterable[tuple[int, Any]] = ((n, line) for n, line in enumerate(text.split("\n"), 1))
    elif fmt == "jsonl":
        rows = _jsonl_rows(path, text)
    else:
        rows = _csv_rows(path, text, fmt, spec)
    return _collect(rows, str(path), spec, plain=fmt == "text")


def _collect(rows: Iterable[tuple[int, Any]], where: str, spec: ReadSpec, plain: bool = False) -> TextSplit:
    """Sentences and labels from numbered rows (a line of plain text, or a record of named columns)."""
    out = TextSplit([], {name: [] for name in spec.attributes})
    for n, row in rows:
        sentence = row if plain else _column(row, spec.text_column, where, n, "text column")
        if not isinstance(sentence, str):
            raise DataError(f"{where}, line {n}: column '{spec.text_column}' is {type(sentence).__name__}, not text")
        words = sentence.split()
        if not words:
            continue
        if len(words) > spec.max_line_tokens:
            raise DataError(
                f"{where}, line {n}: {len(words):,} tokens, more than data.options.max_line_tokens="
                f"{spec.max_line_tokens:,} (one sentence a line is expected)"
            )
        out.texts.append(" ".join(words))
        for name, values in spec.attributes.items():
            out.labels[name].append(spec.fixed[name] if name in spec.fixed else _label(row, name, values, spec, where, n))
        if spec.limit is not None and len(out.texts) >= spec.limit:
            break
    if not out.texts:
        raise DataError(f"{where}: no sentences (only blank lines or blank texts)")
    return out


def _jsonl_rows(path: Path, text: str) -> Iterable[tuple[int, dict]]:
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(rec, dict):
            raise DataError(f"{path}, line {n}: expected a JSON object, got {type(rec).__name__}")
        yield n, rec


def _csv_rows(path: Path, text: str, fmt: str, spec: ReadSpec) -> Iterable[tuple[int, dict]]:
    # TSV has no quoting (quotes are common inside tokenised sentences); CSV uses standard quoting.
    kw = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if fmt == "tsv" else {}
    reader = csv.reader(io.StringIO(text, newline=""), **kw)
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


# --------------------------------------------------------------------------------------------------------------
# the DataModule


def frame(seqs: list[list[int]], info: DataInfo, device: torch.device | str = "cpu") -> Batch:
    """Token id lists -> a model batch: ``tokens`` = bos + ids + eos padded with pad, ``lengths`` with bos/eos."""
    width = max((len(s) for s in seqs), default=0) + 2
    rows = [[info.bos_id, *s, info.eos_id] + [info.pad_id] * (width - 2 - len(s)) for s in seqs]
    return {"tokens": torch.tensor(rows, dtype=torch.long, device=device).view(len(rows), width),
            "lengths": torch.tensor([len(s) + 2 for s in seqs], dtype=torch.long, device=device)}


class TextData(DataModule):
    """Tokenized splits of a text corpus. Batches: ``tokens`` [B, T] (bos + ids + eos, padded), ``lengths`` [B]
    (bos/eos included) and ``attr_<name>`` [B] per attribute (-1 where the label is missing)."""

    load_tokenizer = staticmethod(load_tokenizer)

    def __init__(self, splits: dict[str, TextSplit], tokenizer: Tokenizer, attributes: dict[str, list[str]],
                 max_length: int = 50, length_policy: str = "truncate", name: str = "text",
                 notes: list[str] | None = None) -> None:
        self.tokenizer, self.name, self.length_policy = tokenizer, name, length_policy
        self.notes = list(notes or [])  # what selection/balancing did to the splits, shown by describe()
        self.ids: dict[str, list[list[int]]] = {}
        self.labels: dict[str, dict[str, torch.Tensor]] = {}
        self.length_report: dict[str, dict[str, int]] = {}
        for split, data in splits.items():
            ids = [tokenizer.encode(t) for t in data.texts]
            long = [i for i, x in enumerate(ids) if len(x) > max_length]
            if length_policy == "drop":
                keep = sorted(set(range(len(ids))) - set(long))
                data, ids = data.subset(keep), [ids[i] for i in keep]
            else:
                for i in long:
                    ids[i] = ids[i][:max_length]
            self.ids[split] = ids
            self.labels[split] = {a: torch.tensor(data.labels[a], dtype=torch.long) for a in attributes}
            verb = "dropped" if length_policy == "drop" else "truncated"
            self.length_report[split] = {"sentences": len(ids), verb: len(long)}
        if not self.ids.get("train"):
            raise DataError(f"text data '{name}': the train split is empty (length_policy drop removed everything?)")
        self.lengths = {s: [len(x) + 2 for x in ids] for s, ids in self.ids.items()}
        self.info = DataInfo(
            modality="text", vocab_size=tokenizer.vocab_size, pad_id=tokenizer.pad_id, bos_id=tokenizer.bos_id,
            eos_id=tokenizer.eos_id, unk_id=tokenizer.unk_id, max_length=max_length + 2,
            attributes={a: list(v) for a, v in attributes.items()},
        )

    def split_names(self) -> list[str]:
        return [s for s in SPLITS if self.ids.get(s)]

    def split_size(self, split: str) -> int:
        return len(self.ids.get(split, ()))

    def get_batch(self, split: str, indices: list[int]) -> Batch:
        if split not in self.ids:
            raise DataError(f"text data '{self.name}' has no split '{split}' (has: {', '.join(self.split_names())})")
        batch = frame([self.ids[split][i] for i in indices], self.info)
        idx = torch.as_tensor(indices, dtype=torch.long)
        for name, labels in self.labels[split].items():
            batch[f"attr_{name}"] = labels[idx]
        return batch

    def batches(self, split: str, batch_size: int, *, epoch: int = 0, seed: int = 0, shuffle: bool = True) -> list[list[int]]:
        """Length-bucketed batches: shuffle, sort each chunk of 50 batches by length, cut, shuffle the batch order.
        Deterministic in (seed, epoch) and independent of the global RNG; ``shuffle=False`` keeps file order."""
        n = self.split_size(split)
        if not shuffle:
            return [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g).tolist()
        lengths, chunk, out = self.lengths[split], 50 * batch_size, []
        for start in range(0, n, chunk):
            part = sorted(order[start : start + chunk], key=lengths.__getitem__)  # stable: ties keep shuffled order
            out += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
        return [out[i] for i in torch.randperm(len(out), generator=g).tolist()]

    def save(self, run_dir: Path) -> None:
        self.tokenizer.save(Path(run_dir) / TOKENIZER_FILE)

    def describe(self) -> str:
        sizes = ", ".join(f"{s} {self.split_size(s):,}" for s in self.split_names())
        verb = "dropped" if self.length_policy == "drop" else "truncated"
        cut = ", ".join(f"{s} {self.length_report[s][verb]:,}" for s in self.split_names())
        attrs = "; ".join(f"attribute {a}: {'/'.join(v)}" for a, v in self.info.attributes.items())
        return (f"text data '{self.name}': {sizes} sentences; {self.tokenizer.kind} tokenizer, vocabulary "
                f"{self.info.vocab_size:,} (4 specials); max_length {self.info.max_length - 2} tokens + bos/eos "
                f"(sentences {verb} as longer: {cut})" + (f"; {attrs}" if attrs else "")
                + "".join(f"; {note}" for note in self.notes))


# --------------------------------------------------------------------------------------------------------------
# options and assembly


def _options(cfg: DataConfig, allowed: set[str]) -> dict[str, Any]:
    for key in cfg.options:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid: {', '.join(sorted(allowed))}"
            raise DataError(f"data source '{cfg.source}': unknown option 'data.options.{key}'{hint}")
    o = dict(cfg.options)
    o.setdefault("attributes", {})
    o.setdefault("attribute_columns", {})
    pos = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1  # noqa: E731
    checks = {
        "tokenizer": (lambda v: v in ("word", "bpe", "unigram"), "word, bpe or unigram"),
        "length_policy": (lambda v: v in ("truncate", "drop"), "truncate or drop"),
        "format": (lambda v: v in ("text", "jsonl", "csv", "tsv"), "text, jsonl, csv or tsv"),
        **{k: (pos, "a positive integer") for k in ("min_freq", "max_length", "max_line_tokens", "balance_max_repeat")},
        "require_labels": (lambda v: isinstance(v, list) and v and all(isinstance(x, str) for x in v),
                           "a list of attribute names"),
        "balance": (lambda v: isinstance(v, str), "an attribute name"),
        "vocab_size": (lambda v: pos(v) and v > 4, "an integer above 4 (the 4 specials count)"),
        **{k: (lambda v: isinstance(v, str), "a string")
           for k in ("text_column", "encoding", "hf_dataset", "hf_config", "cache_dir", "train", "valid", "test")},
        **{k: (lambda v: isinstance(v, bool), "true or false") for k in ("streaming", "tense_labels")},
        "attributes": (lambda v: isinstance(v, dict) and all(isinstance(x, list) and x for x in v.values()),
                       "a mapping of attribute name -> list of allowed values"),
        "attribute_columns": (lambda v: isinstance(v, dict) and set(v) <= set(o["attributes"]),
                              "a mapping of declared attribute name -> column name"),
    }
    for key, (ok, what) in checks.items():
        if key in o and not ok(o[key]):
            raise DataError(f"data source '{cfg.source}': 'data.options.{key}' must be {what}, got {o[key]!r}")
    o["attributes"] = {str(k): [str(x) for x in v] for k, v in o["attributes"].items()}  # 0/1 in YAML -> "0"/"1"
    o["attribute_columns"] = {str(k): str(v) for k, v in o["attribute_columns"].items()}
    return o


def _spec(cfg: DataConfig, o: dict[str, Any], **kw: Any) -> ReadSpec:
    base = dict(fmt=o.get("format"), encoding=o.get("encoding", "utf-8"), text_column=o.get("text_column", "text"),
                attributes=o["attributes"], columns=o["attribute_columns"],
                max_line_tokens=o.get("max_line_tokens", 1000), limit=cfg.limit)
    return ReadSpec(**{**base, **kw})


def _carve(splits: dict[str, TextSplit], cfg: DataConfig) -> dict[str, TextSplit]:
    """Hold out val/test from train (``val_fraction``/``test_fraction``, ``split_seed``) where no file gives them."""
    val = cfg.val_fraction if "val" not in splits else 0.0
    test = cfg.test_fraction if "test" not in splits else 0.0
    if val or test:
        idx = split_indices(len(splits["train"].texts), val, test, cfg.split_seed)
        pool = splits["train"]
        splits = {**splits, **{k: pool.subset(v) for k, v in idx.items() if k == "train" or v}}
    return splits


def _assemble(cfg: DataConfig, o: dict[str, Any], splits: dict[str, TextSplit], attributes: dict[str, list[str]]) -> TextData:
    splits = _carve(splits, cfg)
    if o.get("tense_labels"):
        attributes = _add_tense(splits, attributes, cfg.source)
    notes = []
    if "require_labels" in o:
        notes.append(_require_labels(splits, o["require_labels"], attributes, cfg.source))
    kind = o.get("tokenizer", "word")
    # the vocabulary comes from the distinct train sentences, before any are repeated by balancing
    tok = train_tokenizer(kind, splits["train"].texts, o.get("vocab_size"), o.get("min_freq", 1))
    if "balance" in o:
        notes.append(_balance(splits, o["balance"], o.get("balance_max_repeat", 4), attributes, cfg.source))
    return TextData(splits, tok, attributes, o.get("max_length", 50), o.get("length_policy", "truncate"), cfg.source,
                    notes)


def _check_attribute(name: str, option: str, attributes: dict[str, list[str]], source: str) -> None:
    if name not in attributes:
        have = ", ".join(attributes) or "none"
        raise ConfigError(f"data source '{source}': data.options.{option} names attribute '{name}', which the data "
                          f"does not have (attributes: {have})")


def _require_labels(splits: dict[str, TextSplit], names: list[str], attributes: dict[str, list[str]],
                    source: str) -> str:
    """Keep only the sentences labelled for every attribute in ``names``; returns what was dropped."""
    for name in names:
        _check_attribute(name, "require_labels", attributes, source)
    dropped = {}
    for split_name, split in list(splits.items()):
        keep = [i for i in range(len(split.texts)) if all(split.labels[a][i] >= 0 for a in names)]
        dropped[split_name] = len(split.texts) - len(keep)
        splits[split_name] = split.subset(keep)
    if not splits["train"].texts:
        raise DataError(f"data source '{source}': no train sentence has a label for {', '.join(names)} "
                        "(data.options.require_labels removed everything)")
    counts = ", ".join(f"{s} {n:,}" for s, n in dropped.items())
    return f"sentences without a {'/'.join(names)} label dropped: {counts}"


def _balance(splits: dict[str, TextSplit], name: str, max_repeat: int, attributes: dict[str, list[str]],
             source: str) -> str:
    """Repeat train sentences of the rarer values of ``name``; returns the repeat per value."""
    _check_attribute(name, "balance", attributes, source)
    train = splits["train"]
    labels = train.labels[name]
    tally = Counter(labels)
    counts = [tally[k] for k in range(len(attributes[name]))]
    most = max(counts)
    if most == 0:
        raise DataError(f"data source '{source}': data.options.balance: no train sentence has a '{name}' label")
    repeat = [min(max_repeat, max(1, round(most / n))) if n else 1 for n in counts]
    extra = [i for i, v in enumerate(labels) if v >= 0 for _ in range(repeat[v] - 1)]
    splits["train"] = train.subset(list(range(len(labels))) + extra)
    parts = ", ".join(f"{value} {n:,} x{r}" for value, n, r in zip(attributes[name], counts, repeat))
    return f"train balanced by {name}: {parts} ({len(splits['train'].texts):,} sentences)"


def _add_tense(splits: dict[str, TextSplit], attributes: dict[str, list[str]], source: str) -> dict[str, list[str]]:
    """Label every sentence's tense with the rule-based labeller (-1 where it finds no finite verb)."""
    from .tense import TENSES, label_tenses

    if "tense" in attributes:
        raise ConfigError(f"data source '{source}': data.options.tense_labels adds the attribute 'tense', but the "
                          "corpus already has one; drop the option or rename the corpus attribute")
    index = {t: i for i, t in enumerate(TENSES)}
    for split in splits.values():
        split.labels["tense"] = [index.get(t, -1) for t in label_tenses(split.texts)]
    return {**attributes, "tense": list(TENSES)}


# --------------------------------------------------------------------------------------------------------------
# sources


@register_source("text")
def text_source(cfg: DataConfig) -> TextData:
    """Your corpus: ``data.path`` is one file (split by fractions), or a folder whose file names hold the word
    ``train``, ``valid``/``dev`` or ``test`` between dots, dashes or underscores (``ptb.train.txt``,
    ``yelp-dev.jsonl``), or files named by options ``train``/``valid``/``test``. Plain text is
    one sentence a line; CSV/TSV/JSONL files take ``text_column`` and ``attributes`` (name -> allowed values)."""
    o = _options(cfg, COMMON_OPTIONS | READ_OPTIONS | HF_OPTIONS | {"train", "valid", "test"})
    if "hf_dataset" in o:
        return _assemble(cfg, o, _read_hf(cfg, o), o["attributes"])
    spec = _spec(cfg, o)
    named = {k: o[k] for k in ("train", "valid", "test") if k in o}
    if named:
        base = resolve_path(cfg.path, "data source 'text'") if cfg.path else None
        files = {SPLIT_ALIASES[k]: (base / v if base else resolve_path(v, f"data.options.{k}")) for k, v in named.items()}
        if "train" not in files:
            raise DataError("data source 'text': data.options names valid/test files but no 'train' file")
    else:
        path = resolve_path(cfg.path, "data source 'text'")
        files = _find_split_files(path) if path.is_dir() else {"train": path}
    return _assemble(cfg, o, {s: read_file(p, spec) for s, p in files.items()}, o["attributes"])


def _find_split_files(folder: Path) -> dict[str, Path]:
    found: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in (".md", ".py", ".json", ".yaml"):
            for word in re.split(r"[^a-z0-9]+", p.name.lower()):
                if word in SPLIT_ALIASES:
                    found.setdefault(SPLIT_ALIASES[word], []).append(p)
    for split, paths in found.items():
        if len(paths) > 1:
            raise DataError(f"{folder}: several {split} files ({', '.join(p.name for p in paths)}); name one with data.options")
    if "train" not in found:
        raise DataError(f"{folder}: no file whose name holds the word 'train' between separators, like 'ptb.train.txt' or 'train.jsonl' (or name the files with data.options train/valid/test)")
    return {s: found[s][0] for s in SPLITS if s in found}


@register_source("ptb")
def ptb(cfg: DataConfig) -> TextData:
    """Penn Treebank (Mikolov): ``ptb.{train,valid,test}.txt`` under ``data.path`` (default
    ``penn_treebank_mikolov`` in $SENTAE_DATA_DIR); its own ``<unk>`` is the unknown token."""
    o = _options(cfg, COMMON_OPTIONS)
    base = resolve_path(cfg.path or "penn_treebank_mikolov", "data source 'ptb'")
    return _assemble(cfg, o, _standard_splits(base, "ptb.{}.txt", _spec(cfg, o, fmt="text")), {})


@register_source("yelp")
def yelp(cfg: DataConfig) -> TextData:
    """Yelp sentences with sentiment (negative/positive; 0/1 accepted): ``{train,valid,test}.jsonl`` under
    ``data.path`` (default ``yelp`` in $SENTAE_DATA_DIR)."""
    o = _options(cfg, COMMON_OPTIONS)
    base = resolve_path(cfg.path or "yelp", "data source 'yelp'")
    attrs = {"sentiment": SENTIMENT}
    spec = _spec(cfg, o, fmt="jsonl", attributes=attrs, aliases={"0": "negative", "1": "positive"})
    return _assemble(cfg, o, _standard_splits(base, "{}.jsonl", spec), attrs)


def _standard_splits(base: Path, pattern: str, spec: ReadSpec) -> dict[str, TextSplit]:
    """The train/valid/test files of a corpus with fixed splits (``pattern`` has ``{}`` for the split's name)."""
    return {ours: read_file(base / pattern.format(theirs), spec) for ours, theirs in
            (("train", "train"), ("val", "valid"), ("test", "test"))}


@register_source("rt_polarity")
def rt_polarity(cfg: DataConfig) -> TextData:
    """Movie-review snippets (Pang & Lee 2005): ``rt-polarity.{neg,pos}`` (cp1252) under ``data.path`` (default
    ``rt_polarity``); sentiment from the file; split by ``val_fraction``/``test_fraction`` with ``split_seed``."""
    o = _options(cfg, COMMON_OPTIONS)
    base = resolve_path(cfg.path or "rt_polarity", "data source 'rt_polarity'")
    attrs = {"sentiment": SENTIMENT}
    pool = TextSplit([], {"sentiment": []})
    for label, value in enumerate(SENTIMENT):
        spec = _spec(cfg, o, fmt="text", encoding="cp1252", attributes=attrs, fixed={"sentiment": label})
        pool.extend(read_file(base / f"rt-polarity.{value[:3]}", spec))
    return _assemble(cfg, o, {"train": pool}, attrs)


@register_source("hf")
def hf(cfg: DataConfig) -> TextData:
    """A Hugging Face dataset (``data.options.hf_dataset``; ``hf_config``, ``hf_data_files``, ``streaming``)."""
    o = _options(cfg, COMMON_OPTIONS | READ_OPTIONS | HF_OPTIONS)
    if "hf_dataset" not in o:
        raise DataError("data source 'hf': 'data.options.hf_dataset' is required (a dataset name, or json/csv/text)")
    return _assemble(cfg, o, _read_hf(cfg, o), o["attributes"])


def _read_hf(cfg: DataConfig, o: dict[str, Any]) -> dict[str, TextSplit]:
    """Load through ``datasets.load_dataset``. With ``streaming: true`` only the first ``data.limit`` examples of
    each split are read (nothing else is downloaded): batches are length-bucketed over that in-memory buffer."""
    name, streaming = o["hf_dataset"], o.get("streaming", False)
    if streaming and cfg.limit is None:
        raise DataError(f"hf dataset '{name}': streaming needs data.limit (examples read into memory per split)")
    try:
        import datasets
    except ImportError:
        raise DataError("Hugging Face datasets need the 'datasets' package: pip install datasets") from None
    kwargs = {k: o[v] for k, v in (("data_files", "hf_data_files"), ("cache_dir", "cache_dir")) if v in o}
    try:
        ds = datasets.load_dataset(name, o.get("hf_config"), streaming=streaming, **kwargs)
    except Exception as exc:  # the hub, the network and the builders raise many kinds
        raise DataError(f"hf dataset '{name}': cannot load ({type(exc).__name__}: {exc})") from None
    spec = _spec(cfg, o, fmt="jsonl")
    splits: dict[str, TextSplit] = {}
    for hf_split in ds:
        ours = SPLIT_ALIASES.get(hf_split)
        if ours is None or ours in splits:
            continue
        where = f"hf dataset '{name}' split '{hf_split}'"
        splits[ours] = _collect(enumerate(ds[hf_split], 1), where, spec)  # stops after data.limit sentences
    if "train" not in splits:
        raise DataError(f"hf dataset '{name}': no sentences in a 'train' split (splits: {', '.join(ds)})")
    return splits

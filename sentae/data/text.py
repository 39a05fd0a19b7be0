"""``TextData``, which tokenizes the splits of a corpus and serves length-bucketed batches; how a text source turns
read splits into one (held-out splits, tense labels, selection, balancing, tokenizer); and the ``text`` source,
your own corpus. The readers are in ``sentae.data.readers``, the named corpora in ``sentae.data.corpora``, the
options every text source takes in ``sentae.data.options``.

>>> from sentae.data import DataConfig, build_data
>>> data = build_data(DataConfig(source="yelp", options={"max_length": 20}))  # doctest: +SKIP
>>> batch = data.get_batch("train", data.batches("train", 32)[0])             # doctest: +SKIP
>>> batch["tokens"].shape, batch["attr_sentiment"][:4]                         # doctest: +SKIP

The vocabulary is built from the train split only. ``data.limit`` keeps the first N examples of each file read.
Blank lines (and blank texts) are skipped. ``tense_labels: true`` adds the attribute ``tense`` (past / present /
future) to every split, labelled by the rule-based ``sentae.data.tense.label_tense`` (-1, a missing label, where a
sentence has no finite verb); a corpus that already has a ``tense`` attribute is a configuration error.

Selecting and re-weighting examples (after tense labelling): ``require_labels: [tense]`` keeps only the sentences
that have a label for every attribute named (in every split; the counts dropped are reported), for models whose
every training sentence should carry the attribute they control. ``balance: tense`` repeats the train sentences of
the rarer values of that attribute (each value ``v`` with ``n_v`` sentences ``min(balance_max_repeat,
round(n_max / n_v))`` times, default at most 4 times), so a rare value such as future tense is seen often enough
to be learnt; validation and test are never re-weighted.
"""
from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Sequence, Union

import numpy as np
import torch

from ..errors import ConfigError, DataError
from ..model import Batch, DataInfo
from ..schema import Range
from .attributes import TENSES
from .base import DataModule, resolve_path, split_indices
from .config import DataConfig
from .options import HFOptions, ReadOptions, TextOptions
from .readers import SPLIT_ALIASES, SPLITS, ReadSpec, TextSplit, read_file, read_hf
from . import token_cache
from .sources import register_source, source_options
from .stream_build import build_stream_entry
from .streaming import LazyLengths, StreamPlan
from .token_store import bucketed_batches
from .tokenizers import TOKENIZER_FILE, Tokenizer, train_tokenizer

__all__ = ["TextData", "TextSplit", "TextSourceOptions", "ReadSpec", "assemble", "frame", "read_file", "read_spec",
           "text_source"]


def frame(seqs: list[list[int]], info: DataInfo, device: torch.device | str = "cpu") -> Batch:
    """Token id lists -> a model batch: ``tokens`` = bos + ids + eos padded with pad, ``lengths`` with bos/eos."""
    width = max((len(s) for s in seqs), default=0) + 2
    rows = [[info.bos_id, *s, info.eos_id] + [info.pad_id] * (width - 2 - len(s)) for s in seqs]
    return {"tokens": torch.tensor(rows, dtype=torch.long, device=device).view(len(rows), width),
            "lengths": torch.tensor([len(s) + 2 for s in seqs], dtype=torch.long, device=device)}


class TextData(DataModule):
    """Tokenized splits of a text corpus. Batches: ``tokens`` [B, T] (bos + ids + eos, padded), ``lengths`` [B]
    (bos/eos included) and ``attr_<name>`` [B] per attribute (-1 where the label is missing)."""

    def __init__(self, splits: dict[str, TextSplit], tokenizer: Tokenizer, attributes: dict[str, list[str]],
                 max_length: int = 50, length_policy: str = "truncate", name: str = "text",
                 notes: list[str] | None = None) -> None:
        self.tokenizer, self.name, self.length_policy = tokenizer, name, length_policy
        self.shuffle_buffer: int | None = None  # set for streamed data: batches come from StreamPlan windows
        self.store = ""
        self.notes = list(notes or [])  # what selection/balancing did to the splits, shown by describe()
        self.ids: dict[str, list[list[int]]] = {}
        self.labels: dict[str, dict[str, torch.Tensor]] = {}
        self.length_report: dict[str, dict[str, int]] = {}
        for split, data in splits.items():
            ids = tokenizer.encode_batch(data.texts)
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

    @classmethod
    def from_cache(cls, entry: token_cache.Entry, tokenizer: Tokenizer | None = None,
                   shuffle_buffer: int | None = None) -> TextData:
        """The data of a token-cache entry: ids memory-mapped, not lists; the same batches as the data it was
        written from. ``tokenizer``: the one to carry (a run's own, equal to the entry's). ``shuffle_buffer``:
        streamed data, whose shuffled batches are planned a window of that many sentences at a time
        (``sentae.data.streaming``) and whose lengths are read from the offsets when asked."""
        man = entry.manifest
        self = cls.__new__(cls)
        self.tokenizer, self.name, self.length_policy = tokenizer or entry.tokenizer, man["name"], man["length_policy"]
        self.shuffle_buffer, self.store = shuffle_buffer, entry.path.name
        self.notes = list(man["notes"])
        self.ids = dict(entry.ids)  # split -> RaggedIds
        self.labels = {s: {a: torch.from_numpy(np.array(v, dtype=np.int16)) for a, v in labels.items()}
                       for s, labels in entry.labels.items()}
        self.length_report = man["length_report"]
        if shuffle_buffer is None:
            self.lengths = {s: ids.lengths() + 2 for s, ids in self.ids.items()}
        else:  # no array a sentence long
            self.lengths = {s: LazyLengths(ids.offsets) for s, ids in self.ids.items()}  # type: ignore[misc]
        if not self.ids.get("train"):
            raise DataError(f"text data '{self.name}': the train split is empty (length_policy drop removed everything?)")
        tok = self.tokenizer
        self.info = DataInfo(
            modality="text", vocab_size=tok.vocab_size, pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id,
            unk_id=tok.unk_id, max_length=man["max_length"] + 2,
            attributes={a: list(v) for a, v in man["attributes"].items()},
        )
        return self

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
            batch[f"attr_{name}"] = labels[idx].long()  # cached labels are int16
        return batch

    def batches(self, split: str, batch_size: int, *, epoch: int = 0, seed: int = 0, shuffle: bool = True) -> list[list[int]]:
        """Length-bucketed batches: shuffle, sort each chunk of 50 batches by length, cut, shuffle the batch order.
        Deterministic in (seed, epoch) and independent of the global RNG; ``shuffle=False`` keeps file order."""
        n = self.split_size(split)
        if not shuffle:
            return [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
        if self.shuffle_buffer is not None:  # streamed: one window of the split at a time
            return StreamPlan(self.ids[split].offsets, batch_size, self.shuffle_buffer, seed=seed,  # type: ignore[return-value]
                              epoch=epoch, store=self.store)
        if isinstance(self.lengths[split], np.ndarray):  # cached data: the same batches, by array sorts, lazily
            return bucketed_batches(self.lengths[split], batch_size, seed=seed, epoch=epoch)  # type: ignore[return-value]
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
                + "".join(f"; {note}" for note in self.notes)
                + (f"; shuffle buffer {self.shuffle_buffer:,} sentences" if self.shuffle_buffer else ""))


# --------------------------------------------------------------------------------------------------------------
# from read splits to TextData


def read_spec(cfg: DataConfig, o: TextOptions, **kw: Any) -> ReadSpec:
    """How to read a source's files: from its options (the read options where it has them), ``data.limit`` and
    what the source fixes itself (``kw``: a corpus's format, encoding, attributes)."""
    base: dict[str, Any] = dict(max_line_tokens=o.max_line_tokens, limit=cfg.limit)
    if isinstance(o, ReadOptions):
        base.update(fmt=o.format, encoding=o.encoding, text_column=o.text_column, attributes=o.attributes,
                    columns=o.attribute_columns)
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


Splits = Union[dict[str, TextSplit], Callable[[], dict[str, TextSplit]]]


def assemble(cfg: DataConfig, o: TextOptions, splits: Splits, attributes: dict[str, list[str]],
             files: Sequence[Path] | None = None) -> TextData:
    """``TextData`` from the splits a text source read: held-out splits carved from train where no file gave them,
    then tense labels, selection, the tokenizer (trained on train) and balancing, as the options ask.

    ``files``: every file the splits are read from (``[]``: none, the data is made from the options alone, as a
    generated corpus is). Given, the result goes through the token cache (``sentae.data.token_cache``): when an
    entry for these files and settings exists, ``splits`` (then best a function that reads them) is not called,
    nothing is read, no tokenizer trained; otherwise the ids are written to a new entry and read from it."""
    key = None
    # a missing file is no cache key: reading it below gives the message that names it
    if files is not None and token_cache.enabled() and all(Path(f).is_file() for f in files):
        settings = {"val_fraction": cfg.val_fraction, "test_fraction": cfg.test_fraction,
                    "split_seed": cfg.split_seed, "limit": cfg.limit}
        key = token_cache.corpus_key(cfg.source, files, settings, o)
        expected = token_cache.expected_tokenizer()
        entry = token_cache.open_entry(key, expected)
        if entry is not None:
            return TextData.from_cache(entry, expected)
    splits = _carve(splits() if callable(splits) else splits, cfg)
    if o.tense_labels:
        attributes = _add_tense(splits, attributes, cfg.source)
    notes = []
    if o.require_labels is not None:
        notes.append(_require_labels(splits, o.require_labels, attributes, cfg.source))
    # the vocabulary comes from the distinct train sentences, before any are repeated by balancing
    tok = train_tokenizer(o.tokenizer, splits["train"].texts, o.vocab_size, o.min_freq, o.pretrained_tokenizer)
    if o.balance is not None:
        notes.append(_balance(splits, o.balance, o.balance_max_repeat, attributes, cfg.source))
    if key is not None:
        try:
            entry = token_cache.write_entry(key, splits, tok, attributes, o.max_length, o.length_policy,
                                            {"name": cfg.source, "notes": notes})
            return TextData.from_cache(entry, tok)
        except OSError as exc:  # a read-only or full cache folder: the data still works, from memory
            warnings.warn(f"token cache not written ({exc}); set ${token_cache.CACHE_ENV} to a writable folder",
                          stacklevel=2)
    return TextData(splits, tok, attributes, o.max_length, o.length_policy, cfg.source, notes)


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
    from .tense import label_tenses  # imported only by corpora that ask for tense labels

    if "tense" in attributes:
        raise ConfigError(f"data source '{source}': data.options.tense_labels adds the attribute 'tense', but the "
                          "corpus already has one; drop the option or rename the corpus attribute")
    index = {t: i for i, t in enumerate(TENSES)}
    for split in splits.values():
        split.labels["tense"] = [index.get(t, -1) for t in label_tenses(split.texts)]
    return {**attributes, "tense": list(TENSES)}


# --------------------------------------------------------------------------------------------------------------
# the text source: your own corpus


@dataclass
class TextSourceOptions(HFOptions):
    """Options of the ``text`` source: those of your files (or of a Hugging Face dataset) and the split files."""

    train: str | None = None  # the train file, under data.path when given (null: found by name, or data.path itself)
    valid: str | None = None  # the validation file (null: found by name, or held out by val_fraction)
    test: str | None = None  # the test file (null: found by name, or held out by test_fraction)
    stream: bool = False  # read the files from disk in chunks, never whole; train from windows (docs: text/data.md#streaming)
    shuffle_buffer: Annotated[int, Range(1)] = 100_000  # stream: sentences shuffled and length-bucketed together
    vocab_sample: Annotated[int | None, Range(1)] = None  # stream: train sentences the vocabulary is trained on (null: all; 1,000,000 for unigram)


@register_source("text", options=TextSourceOptions)
def text_source(cfg: DataConfig) -> TextData:
    """Your corpus: ``data.path`` is one file (split by fractions), or a folder whose file names hold the word
    ``train``, ``valid``/``dev`` or ``test`` between dots, dashes or underscores (``ptb.train.txt``,
    ``yelp-dev.jsonl``), or files named by options ``train``/``valid``/``test``. Plain text is
    one sentence a line; CSV/TSV/JSONL files take ``text_column`` and ``attributes`` (name -> allowed values)."""
    o = source_options(cfg, TextSourceOptions)
    if o.hf_dataset is not None and o.stream:
        raise DataError("data source 'text': data.options.stream reads files of your own; a Hugging Face dataset "
                        "streams with data.options.streaming")
    if o.hf_dataset is not None:
        return assemble(cfg, o, read_hf(o, read_spec(cfg, o, fmt="jsonl")), o.attributes)
    spec = read_spec(cfg, o)
    named = {k: v for k, v in (("train", o.train), ("valid", o.valid), ("test", o.test)) if v is not None}
    if named:
        base = resolve_path(cfg.path, "data source 'text'") if cfg.path else None
        files = {SPLIT_ALIASES[k]: (base / v if base else resolve_path(v, f"data.options.{k}")) for k, v in named.items()}
        if "train" not in files:
            raise DataError("data source 'text': data.options names valid/test files but no 'train' file")
    else:
        path = resolve_path(cfg.path, "data source 'text'")
        files = _find_split_files(path) if path.is_dir() else {"train": path}
    if o.stream:
        return _streamed(cfg, o, files, spec)
    return assemble(cfg, o, lambda: {s: read_file(p, spec) for s, p in files.items()}, o.attributes,
                    files=list(files.values()))


def _streamed(cfg: DataConfig, o: TextSourceOptions, files: dict[str, Path], spec: ReadSpec) -> TextData:
    """``data.options.stream``: the token-cache entry of these files, built in two streamed passes when there is
    none (``sentae.data.stream_build``), served a window at a time. The cache is where the ids live, so it must
    be on and writable."""
    if not token_cache.enabled():
        raise DataError(f"data source 'text': data.options.stream keeps the token ids in the token cache, and "
                        f"${token_cache.SWITCH_ENV} turns it off; unset it (or set ${token_cache.CACHE_ENV})")
    for p in files.values():
        if not p.is_file():
            raise DataError(f"{p}: file not found" if not p.exists() else f"{p}: not a file")
    settings = {"val_fraction": cfg.val_fraction, "test_fraction": cfg.test_fraction, "split_seed": cfg.split_seed,
                "limit": cfg.limit}
    # the shuffle buffer changes how the ids are served, not the ids: another buffer reuses the entry
    opts = {k: v for k, v in asdict(o).items() if k != "shuffle_buffer"}
    key = token_cache.corpus_key(cfg.source, list(files.values()), settings, opts)
    expected = token_cache.expected_tokenizer()
    entry = token_cache.open_entry(key, expected)
    if entry is not None:
        return TextData.from_cache(entry, expected, shuffle_buffer=o.shuffle_buffer)
    # built afresh, the data carries the tokenizer it trained: a run compares it with its saved one
    entry = build_stream_entry(cfg, o, files, spec, key)
    return TextData.from_cache(entry, entry.tokenizer, shuffle_buffer=o.shuffle_buffer)


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

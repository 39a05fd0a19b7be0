"""Held-out sentences of a run and their rewrites with other attribute values: what ``sentae sample --grid`` shows
beside its table, so that a controllable model is seen changing sentences it never trained on."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import SentaeError
from ..run import RunFolder

HELD_OUT_SPLITS = ("test", "val")  # the first of these the run's data has is the one sentences are drawn from


@dataclass
class Rewrite:
    """One held-out sentence rewritten with one attribute set to another value."""

    source: str  # the held-out sentence, decoded from the ids the model reads
    attribute: str  # the attribute changed
    source_value: str  # its value in the source: the data's label, else the model's own reading
    target_value: str  # the value asked for
    text: str  # the rewrite
    split: str = "test"  # the split the source comes from


def held_out_texts(run_dir: Path | str | None, n: int, seed: int = 0) -> tuple[str, list[tuple[str, dict[str, str]]]]:
    """``n`` sentences of the run's test split (its validation split when it has no test split), a random choice
    fixed by ``seed``, as (text, labels) pairs; ``labels`` holds the attributes the data labels for that sentence.
    Returns the split's name with them."""
    if run_dir is None:
        raise SentaeError("held-out sentences: this model has no run folder to read its data from")
    data = RunFolder(run_dir).rebuild_data()
    split = next((s for s in HELD_OUT_SPLITS if data.ids.get(s)), None)
    if split is None:
        raise SentaeError(f"{run_dir}: the run's data has no held-out split ({' or '.join(HELD_OUT_SPLITS)})")
    ids = data.ids[split]
    chosen = sorted(random.Random(seed).sample(range(len(ids)), min(n, len(ids))))
    names = data.info.attributes
    out = []
    for i in chosen:
        labels = {a: names[a][int(v[i])] for a, v in data.labels.get(split, {}).items() if a in names and v[i] >= 0}
        out.append((data.tokenizer.decode(ids[i]), labels))
    return split, out


def another_value(values: list[str], current: str) -> str:
    """The value after ``current`` in ``values``, cyclically: the opposite of a binary attribute ("negative" ->
    "positive"), the next tense for three ("past" -> "present" -> "future" -> "past")."""
    return values[(values.index(current) + 1) % len(values)]


@torch.no_grad()
def rewrite_held_out(sampler, n: int = 3, seed: int = 0, **decoding) -> list[Rewrite]:
    """``n`` held-out sentences of the sampler's run (:func:`held_out_texts`), each rewritten once per controlled
    attribute with that attribute moved to :func:`another_value` of its own, by ``sampler.transfer`` (greedy unless
    ``decoding`` says otherwise). A sentence without a label for an attribute gets the model's own reading of it.

    >>> for r in rewrite_held_out(sentae.load("runs/quickstart"), 3): print(r.source, "->", r.text)  # doctest: +SKIP
    """
    ctrl = sampler.controlled
    if not ctrl:
        raise SentaeError(f"rewrites need a model with attribute codes; '{sampler.model.name}' has none")
    split, pairs = held_out_texts(sampler.run_dir, n, seed)
    texts = [t for t, _ in pairs]
    batch = sampler.batch(texts)
    read = sampler.model.predict_attributes(batch["tokens"], batch["lengths"])
    out = []
    for k, (text, labels) in enumerate(pairs):
        for attr, values in ctrl.items():
            current = labels.get(attr)
            if current not in values:  # unlabelled: the model's own reading (an index or a distribution)
                v = read[attr][k]
                current = values[int(v.argmax() if v.dim() else v)]
            target = another_value(values, current)
            new = sampler.transfer([text], {attr: target}, seed=seed, **decoding)[0]
            out.append(Rewrite(text, attr, current, target, new, split))
    return out

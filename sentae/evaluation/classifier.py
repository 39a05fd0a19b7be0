"""Attribute classifiers as independent judges of generated text.

``train_classifier`` trains a run of the installed model that serves as ``attribute_classifier`` (``text_classifier``
of the sentae-text plugin) on a labelled corpus and records its held-out accuracy in ``classifier_eval.json``; ``AttributeClassifier`` loads such a run and scores any
sentences. A classifier always tokenizes with the tokenizer saved in its own run folder, never with the one of
the model whose sentences it judges, and every score it gives should be read beside its own held-out accuracy
(``describe()``).

>>> from sentae.evaluation.classifier import AttributeClassifier, train_classifier
>>> train_classifier("yelp", "sentiment", "runs/yelp_sentiment_cnn", max_steps=2000)  # doctest: +SKIP
>>> clf = AttributeClassifier("runs/yelp_sentiment_cnn")                               # doctest: +SKIP
>>> clf.predict(["the food was great .", "worst service ever ."])                     # doctest: +SKIP
['positive', 'negative']
>>> clf.describe()                                                                     # doctest: +SKIP
'sentiment classifier (cnn, test accuracy 0.874 on 1,000 sentences)'
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Sequence

import torch

from ..errors import CheckpointError, ConfigError, SentaeError
from ..io import atomic_write_text
from ..model import AttributeClassifierModel
from ..registry import REGISTRY
from ..run import RunFolder

EVAL_FILE = "classifier_eval.json"
ROLE = "attribute_classifier"  # the model role train_classifier trains (SentaeModel.roles)


class AttributeClassifier:
    """A trained attribute-classifier run folder, ready to classify sentences."""

    def __init__(self, run_dir: str | Path, device: str | torch.device = "cpu", batch_size: int = 256) -> None:
        run = RunFolder(run_dir)
        self.path = run.path
        self.model = run.load_model(device)
        if not isinstance(self.model, AttributeClassifierModel):
            raise CheckpointError(f"{self.path}: not a classifier run (its model is '{self.model.name}', "
                                  f"train one with `sentae classifier train`)")
        self.tokenizer = run.load_tokenizer()  # the classifier's own vocabulary, not the generator's
        self.device = next(self.model.parameters()).device  # where load_model put it ("auto" resolved)
        self.batch_size = batch_size
        self.eval_report = self._read_eval()

    # -- what it is ---------------------------------------------------------------------------------------------
    @property
    def attribute(self) -> str:
        return self.model.attribute

    @property
    def values(self) -> list[str]:
        return list(self.model.values)

    @property
    def arch(self) -> str:
        return self.model.config.arch

    @property
    def heldout_accuracy(self) -> float | None:
        """Accuracy on the held-out split recorded when the classifier was trained (None if never measured)."""
        return None if self.eval_report is None else float(self.eval_report["accuracy"])

    def _read_eval(self) -> dict[str, Any] | None:
        path = self.path / EVAL_FILE
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{path}: corrupt JSON ({exc})") from None
        if not isinstance(doc, dict) or not {"accuracy", "split", "n"} <= set(doc):
            raise CheckpointError(f"{path}: expected keys accuracy, split and n")
        return doc

    def describe(self) -> str:
        """One line to print beside every score this classifier gives, e.g.
        ``sentiment classifier (cnn, test accuracy 0.874 on 1,000 sentences)``."""
        if self.eval_report is None:
            return f"{self.attribute} classifier ({self.arch}, no held-out accuracy recorded in {self.path / EVAL_FILE})"
        return (f"{self.attribute} classifier ({self.arch}, {self.eval_report['split']} accuracy "
                f"{self.eval_report['accuracy']:.3f} on {int(self.eval_report['n']):,} sentences)")

    # -- scoring ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict_proba(self, texts: Sequence[str]) -> torch.Tensor:
        """Class probabilities ``[N, C]`` (columns in the order of ``values``), on the CPU."""
        from ..data.text import frame

        texts = list(texts)
        if not texts:
            return torch.zeros(0, len(self.values))
        info = self.model.data_info
        limit = (info.max_length or 10**9) - 2  # the classifier saw sentences truncated to this many tokens
        ids = [self.tokenizer.encode(t)[:limit] for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths together: less padding
        out = torch.empty(len(ids), len(self.values))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch = frame([ids[i] for i in chunk], info, self.device)
            probs = self.model.logits(batch["tokens"], batch["lengths"]).float().softmax(-1).cpu()
            out[torch.tensor(chunk)] = probs
        return out

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable value name for each sentence."""
        return [self.values[i] for i in self.predict_proba(texts).argmax(1).tolist()]

    def accuracy(self, texts: Sequence[str], values: Sequence[str | int]) -> float:
        """Share of ``texts`` classified as the given ``values`` (value names, or indices into ``values``)."""
        texts, values = list(texts), list(values)
        if len(texts) != len(values):
            raise SentaeError(f"accuracy: {len(texts)} sentences but {len(values)} target values")
        if not texts:
            raise SentaeError("accuracy: no sentences")
        targets = [self._index(v) for v in values]
        predicted = self.predict_proba(texts).argmax(1).tolist()
        return sum(p == t for p, t in zip(predicted, targets)) / len(texts)

    def _index(self, value: str | int) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(self.values):
            return value
        if isinstance(value, str) and value in self.values:
            return self.values.index(value)
        raise SentaeError(f"{value!r} is not a value of attribute '{self.attribute}' (values: {', '.join(self.values)})")


# --------------------------------------------------------------------------------------------------------------
# training


def classifier_recipe(data: str | dict[str, Any] | Any, attribute: str, arch: str = "cnn", max_steps: int = 2000,
                      name: str | None = None) -> dict[str, Any]:
    """The recipe ``train_classifier`` trains: ``data`` is a source name (``"yelp"``), an existing file or folder
    (read by the ``text`` source), a ``data`` section as a dict, or a ``DataConfig``."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        section = dataclasses.asdict(data)
    elif isinstance(data, dict):
        section = dict(data)
    elif isinstance(data, (str, Path)):
        section = {"source": "text", "path": str(data)} if Path(data).exists() else {"source": str(data)}
    else:
        raise ConfigError(f"classifier data must be a source name, a path or a data section, got {type(data).__name__}")
    return {
        "name": name or f"{attribute}_classifier_{arch}",
        "model": {"type": REGISTRY.for_role(ROLE), "attribute": attribute, "arch": arch},
        "data": section,
        "train": {"max_steps": max_steps, "batch_size": 64, "lr": 1e-3, "eval_every": 250, "ckpt_every": 1000,
                  "log_every": 50,
                  # the weights kept are those of the best validation accuracy
                  "early_stop_metric": "val/accuracy", "early_stop_mode": "max"},
    }


def train_classifier(data_source_or_config: str | dict[str, Any] | Any, attribute: str, out: str | Path,
                     arch: str = "cnn", max_steps: int = 2000, overrides: Sequence[str] = (),
                     device: str = "cpu") -> AttributeClassifier:
    """Train an attribute classifier (the model serving as ``attribute_classifier``) for ``attribute``, measure its accuracy on the test split (the val split when
    the data has no test split) and write it to ``classifier_eval.json`` in the run folder ``out``.

    ``overrides`` are ``--set`` strings (``train.max_time_s=240``, ``model.num_filters=50``, ``data.limit=5000``).
    """
    from ..training.recipe import train_recipe

    recipe = classifier_recipe(data_source_or_config, attribute, arch, max_steps)
    run = train_recipe(recipe, overrides, out=out)
    data = run.folder.rebuild_data()  # the splits exactly as training saw them, with the run's tokenizer
    split = "test" if data.split_size("test") > 0 else "val"
    if data.split_size(split) == 0:
        raise SentaeError(f"{run.path}: the data has neither a test nor a val split to measure the classifier on")
    from ..weights import resolve_device

    device = str(resolve_device(device))
    model = run.folder.load_model(device)
    batch_size = run.recipe.train.batch_size

    def batches():
        for idx in data.batches(split, batch_size, shuffle=False):
            yield {k: v.to(device) for k, v in data.get_batch(split, idx).items()}

    metrics = model.evaluate(batches())
    if not metrics["labelled"]:
        raise SentaeError(f"{run.path}: the {split} split has no sentence labelled with '{attribute}'")
    report = {"attribute": attribute, "split": split, "accuracy": metrics["accuracy"], "n": int(metrics["labelled"]),
              "loss_nats_per_sentence": metrics["loss"], "arch": model.config.arch, "steps": run.result.steps}
    atomic_write_text(run.path / EVAL_FILE, json.dumps(report, indent=2))
    return AttributeClassifier(run.path, device)

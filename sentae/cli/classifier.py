"""`sentae classifier`: train an attribute classifier run and classify sentences with it."""
from __future__ import annotations

from pathlib import Path

import click

from .common import check_folder, friendly, read_lines


@click.group()
def classifier() -> None:
    """Attribute classifiers: independent judges of generated sentences."""


@classifier.command("train")
@click.option("--data", "data", required=True,
              help="A data source name (yelp, rt_polarity, ...) or a file/folder read by the `text` source.")
@click.option("--attribute", required=True, help="The data attribute to predict, e.g. sentiment.")
@click.option("--arch", type=click.Choice(["cnn", "bigru"]), default="cnn", show_default=True,
              help="cnn: convolutions + max-pool (Kim 2014); bigru: bidirectional GRU.")
@click.option("--out", type=click.Path(file_okay=False), help="Run folder (default: runs/<data>_<attribute>_<arch>).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe field, e.g. train.max_time_s=240 or model.num_filters=50.")
@click.option("--max-steps", type=click.IntRange(min=1), default=2000, show_default=True, help="Optimizer steps at most.")
@click.option("--device", default="auto", show_default=True, help="Device of the held-out evaluation: auto (cuda when there is one, else cpu), cpu, cuda, ...")
@friendly
def train_cmd(data: str, attribute: str, arch: str, out: str | None, overrides: tuple[str, ...], max_steps: int,
              device: str) -> None:
    """Train a classifier of ATTRIBUTE on --data; its held-out accuracy is written to classifier_eval.json."""
    from ..evaluation.classifier import train_classifier

    if out is None:
        stem = Path(data).stem if Path(data).exists() else data
        out = str(Path("runs") / f"{stem}_{attribute}_{arch}")
    check_folder(out, "--out")
    clf = train_classifier(data, attribute, out, arch=arch, max_steps=max_steps, overrides=overrides, device=device)
    click.echo(f"run folder: {clf.path}")
    click.echo(clf.describe())


@classifier.command("predict")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("input", default="-", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--device", default="auto", show_default=True, help="auto (cuda when there is one, else cpu), cpu, cuda, cuda:1, ...")
@friendly
def predict_cmd(run: str, input: str, device: str) -> None:
    """Classify each sentence of INPUT (a file, or - for standard input): value, probability and the sentence,
    tab-separated, one line each. The classifier's own held-out accuracy goes to stderr."""
    from ..evaluation.classifier import AttributeClassifier

    clf = AttributeClassifier(run, device)
    lines = read_lines(input)
    probs = clf.predict_proba(lines)
    click.echo(clf.describe(), err=True)
    for text, row in zip(lines, probs):
        best = int(row.argmax())
        click.echo(f"{clf.values[best]}\t{float(row[best]):.4f}\t{text}")

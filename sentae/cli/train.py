"""`sentae train` and `sentae eval`."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .common import check_folder, check_output, friendly, table
from .formats import format_option, render_document


@click.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a field, e.g. train.max_steps=10.")
@click.option("--out", type=click.Path(file_okay=False), help="Run folder (default: runs/<recipe name>).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint.")
@friendly
def train(recipe: str, overrides: tuple[str, ...], out: str | None, resume: bool) -> None:
    """Train the model described by RECIPE and write a run folder.

    Launch with `torchrun --nproc_per_node N -m sentae train RECIPE` to train with DDP.
    """
    from ..api import train as train_api
    from ..training.distributed import from_env

    check_folder(out if out is not None else "runs", "--out")
    run = train_api(recipe, overrides, out=out, resume=resume)
    if not from_env().is_main:  # under torchrun, one summary is enough
        return
    res = run.result
    click.echo(f"run folder: {run.path}  (steps {res.steps}, skipped {res.skipped_steps})")
    if res.val_metrics:
        shown = [[k, f"{v:.4f}"] for k, v in res.val_metrics.items() if k.count("/") == 1]  # per-dimension: metrics.jsonl
        click.echo(table(shown, ["METRIC (val split, last validation)", "VALUE"]))
    if res.best_metric is not None:
        click.echo(f"best {run.recipe.train.early_stop_metric}: {res.best_metric:.4f} (the weights in model.safetensors)")


@click.command("eval")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="test", show_default=True, help="Held-out split to evaluate.")
@click.option("--iw-samples", type=click.IntRange(min=1), default=500, show_default=True,
              help="Importance samples K for the IW-NLL.")
@click.option("-n", "--max-sentences", "max_sentences", type=click.IntRange(min=1), default=None,
              help="Evaluate a fixed random subset of this many sentences (images).")
@click.option("--subset-seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of that subset.")
@click.option("--prior-samples", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Prior samples for distinct-n and uniqueness.")
@click.option("--batch-size", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (cuda when there is one, else cpu), cpu, cuda, cuda:1, ...")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="Text runs: bf16 decodes the importance samples under bf16 autocast, faster where the CPU or "
                   "GPU has bf16; the IW-NLL moves by about 1e-4 of its value, everything else is fp32's.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Also write the report as JSON here (- : standard output, instead of the table).")
@click.option("--report/--no-report", "figures", default=True, show_default=True,
              help="Write RUN/report/: figures, tables and (text runs) index.md + index.html.")
@format_option
@friendly
def eval_cmd(run: str, json_out: str | None, fmt: str, **kw) -> None:
    """Evaluate a model. Text: IW-NLL, perplexity, ELBO terms, KL, MI, active units, BLEU, distinct-n, and a
    report in RUN/report/ (latent map, KL per dimension, interpolation, reconstructions, attribute grid). Image:
    reconstruction error per image, the PCA baseline, a linear probe of the codes, and figures in RUN/report/."""
    from ..api import evaluate, format_report
    from ..io import atomic_write_text

    if json_out:
        check_output(json_out, "--json")  # before the evaluation, which may take long
    if json_out == "-" and fmt == "text":
        fmt = "json"  # `--json -`: the report on standard output, as --format json prints it
    report = evaluate(run, **kw)
    for line in render_document(report, fmt, format_report):
        click.echo(line)
    if json_out and json_out != "-":
        atomic_write_text(Path(json_out), json.dumps(report, indent=2))

"""The command line: thin wrappers that parse, call the Python API and print."""
from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

import click

from . import __version__
from .errors import SentaeError
from .registry import PLUGIN_API_VERSION


def _friendly(fn):
    """Turn sentae's errors into one line on stderr and a non-zero exit code, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SentaeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
    lines += [fmt.format(*map(str, r)).rstrip() for r in rows]
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sentae", message=f"%(prog)s %(version)s (plugin API {PLUGIN_API_VERSION})")
def main() -> None:
    """sentae: train, inspect and sample text and image autoencoders."""


@main.command("list")
@click.argument("pattern", required=False)
@click.option("--modality", type=click.Choice(["text", "image"]), help="Only models of this modality (imports the plugins).")
@click.option("--check", is_flag=True, help="Import every plugin and show its modality and status (ok / broken).")
@_friendly
def list_cmd(pattern: str | None, modality: str | None, check: bool) -> None:
    """List registered models (PATTERN: a glob or a substring of the name).

    Without --check or --modality, models are read from the entry-point metadata of the installed
    distributions and no plugin is imported.
    """
    from .registry import REGISTRY

    entries = REGISTRY.entries(pattern)
    if check or modality:
        REGISTRY.load_all()
        entries = REGISTRY.entries(pattern)
        if modality:
            entries = [e for e in entries if e.cls is not None and e.cls.modality == modality]
        rows = [[e.name, e.distribution, e.version, e.cls.modality if e.cls else "-", _status(e)] for e in entries]
        click.echo(_table(rows, ["NAME", "DISTRIBUTION", "VERSION", "MODALITY", "STATUS"]))
    else:
        rows = [[e.name, e.distribution, e.version] for e in entries]
        click.echo(_table(rows, ["NAME", "DISTRIBUTION", "VERSION"]))
        clashes = [e for e in entries if e.conflicts]
        for e in clashes:
            click.echo(f"conflict: '{e.name}' is registered by {e.origin} and " + ", ".join(c.origin for c in e.conflicts), err=True)
    if not entries:
        click.echo("(no models match)" if pattern or modality else "(no model plugins installed)")


def _status(entry) -> str:
    if entry.conflicts:
        return "conflict: also " + ", ".join(c.origin for c in entry.conflicts)
    if entry.error:
        return f"broken: {entry.error}"
    return "ok"


@main.command()
@click.argument("name")
@_friendly
def info(name: str) -> None:
    """Show a model's config fields (type, default, help), its paper and its distribution."""
    from .registry import REGISTRY
    from .utils import field_help, type_name

    cls = REGISTRY.get(name)
    entry = REGISTRY.entry(name)
    click.echo(f"{name}  ({entry.origin}; {entry.target})")
    click.echo(f"modality: {cls.modality}")
    doc = (cls.__doc__ or "").strip().splitlines()
    if doc:
        click.echo(doc[0])
    if cls.paper:
        click.echo(f"paper: {cls.paper}")
    helps = field_help(cls.config_class)
    rows = []
    for f in dataclasses.fields(cls.config_class):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "(required)")
        rows.append([f.name, type_name(f.type), repr(default), helps.get(f.name, "")])
    click.echo("\nconfig (set in a recipe under `model:` or with --set model.FIELD=VALUE):")
    click.echo(_table(rows, ["FIELD", "TYPE", "DEFAULT", "HELP"]))


@main.group()
def config() -> None:
    """Inspect recipes."""


@config.command("show")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a field, e.g. train.max_steps=10.")
@_friendly
def config_show(recipe: str, overrides: tuple[str, ...]) -> None:
    """Print the fully resolved config of RECIPE (defaults filled in, overrides applied)."""
    from .config import dump_yaml, load_recipe

    click.echo(dump_yaml(load_recipe(recipe, overrides).to_dict()), nl=False)


@main.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a field, e.g. train.max_steps=10.")
@click.option("--out", type=click.Path(file_okay=False), help="Run folder (default: runs/<recipe name>).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint.")
@_friendly
def train(recipe: str, overrides: tuple[str, ...], out: str | None, resume: bool) -> None:
    """Train the model described by RECIPE and write a run folder.

    Launch with `torchrun --nproc_per_node N -m sentae train RECIPE` to train with DDP.
    """
    from .api import train as train_api

    run = train_api(recipe, overrides, out=out, resume=resume)
    res = run.result
    click.echo(f"run folder: {run.path}  (steps {res.steps}, skipped {res.skipped_steps})")
    if res.val_metrics:
        click.echo(_table([[k, f"{v:.4f}"] for k, v in res.val_metrics.items()], ["METRIC (val split)", "VALUE"]))


if __name__ == "__main__":
    main()

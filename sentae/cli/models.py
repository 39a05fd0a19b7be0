"""`sentae list`, `sentae info` and `sentae config show`: what is installed and what a recipe resolves to."""
from __future__ import annotations

import click

from .common import friendly, table
from .formats import format_option, render, render_document


def complete_model_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of a model name, from the entry-point metadata (no plugin, no torch imported)."""
    from .. import registry

    return [e.name for e in registry.REGISTRY.entries() if e.name.startswith(incomplete)]


@click.command("list")
@click.argument("pattern", required=False, shell_complete=complete_model_names)
@click.option("--modality", type=click.Choice(["text", "image"]), help="Only models of this modality (imports the plugins).")
@click.option("--check", is_flag=True, help="Import every plugin and show its modality and status (ok / broken).")
@format_option
@friendly
def list_cmd(pattern: str | None, modality: str | None, check: bool, fmt: str) -> None:
    """List registered models (PATTERN: a glob or a substring of the name).

    Without --check or --modality, models are read from the entry-point metadata of the installed
    distributions and no plugin is imported.
    """
    # the registry, not sentae.api: listing reads entry-point metadata and needs no torch (the api module imports it)
    from .. import registry

    if check and not modality:
        registry.REGISTRY.load_all()
    entries = registry.REGISTRY.entries(pattern, modality=modality)
    if fmt != "text":
        records = [{"name": e.name, "distribution": e.distribution, "version": e.version, "origin": e.origin,
                    **({"modality": e.cls.modality if e.cls else None, "status": _status(e)}
                       if check or modality else {})} for e in entries]
        for line in render([records], fmt, list):
            click.echo("\n".join(line))
        return
    if check or modality:
        rows = [[e.name, e.distribution, e.version, e.cls.modality if e.cls else "-", _status(e)] for e in entries]
        click.echo(table(rows, ["NAME", "DISTRIBUTION", "VERSION", "MODALITY", "STATUS"]))
    else:
        rows = [[e.name, e.distribution, e.version] for e in entries]
        click.echo(table(rows, ["NAME", "DISTRIBUTION", "VERSION"]))
        for e in entries:
            if e.conflicts:
                click.echo(f"conflict: '{e.name}' is registered by {e.origin} and "
                           + ", ".join(c.origin for c in e.conflicts), err=True)
    if not entries:
        if pattern or modality:
            click.echo("(no models match)")
        elif registry.autoload_disabled():
            click.echo(f"(plugin discovery is off: {registry.AUTOLOAD_ENV} is set)")
        else:
            click.echo("(no model plugins installed)")


def _status(entry) -> str:
    if entry.conflicts:
        return "conflict: also " + ", ".join(c.origin for c in entry.conflicts)
    if entry.error:
        return f"broken: {entry.error}"
    return "ok"


@click.command()
@click.argument("name", shell_complete=complete_model_names)
@format_option
@friendly
def info(name: str, fmt: str) -> None:
    """Show a model's config fields (type, default, help), its paper and its distribution."""
    from .. import registry

    about = registry.REGISTRY.describe(name)  # imports the model's plugin (and so torch): its config class is there
    if fmt in ("json", "jsonl"):
        click.echo(render_document(about, fmt, str)[0])
        return
    if fmt == "tsv":  # a row per config field: what a program most wants from info
        for line in render([about["fields"]], "tsv", list):
            click.echo("\n".join(line))
        return
    click.echo(f"{name}  ({about['origin']}; {about['target']})")
    click.echo(f"modality: {about['modality']}")
    if about["summary"]:
        click.echo(about["summary"])
    if about["paper"]:
        click.echo(f"paper: {about['paper']}")
    rows = [[f["field"], f["type"], repr(f["default"]), f["range"] or "-", f["help"]] for f in about["fields"]]
    click.echo("\nconfig (set in a recipe under `model:` or with --set model.FIELD=VALUE):")
    click.echo(table(rows, ["FIELD", "TYPE", "DEFAULT", "RANGE", "HELP"]))


@click.group()
def config() -> None:
    """Inspect recipes."""


@config.command("show")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a field, e.g. train.max_steps=10.")
@friendly
def config_show(recipe: str, overrides: tuple[str, ...]) -> None:
    """Print the fully resolved config of RECIPE (defaults filled in, overrides applied)."""
    from ..config import dump_yaml, load_recipe

    click.echo(dump_yaml(load_recipe(recipe, overrides).to_dict()), nl=False)

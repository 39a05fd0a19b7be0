"""The command line: thin wrappers that parse, call the Python API and print."""
from __future__ import annotations

import dataclasses
import functools
import sys
import typing
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
        import os

        from .registry import AUTOLOAD_ENV

        if pattern or modality:
            click.echo("(no models match)")
        elif os.environ.get(AUTOLOAD_ENV, "").strip().lower() in {"1", "true", "yes"}:
            click.echo(f"(plugin discovery is off: {AUTOLOAD_ENV} is set)")
        else:
            click.echo("(no model plugins installed)")


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
    rows: list[list[str]] = []

    def add_rows(config_class: type, prefix: str) -> None:
        helps = field_help(config_class)
        hints = typing.get_type_hints(config_class)
        for f in dataclasses.fields(config_class):
            hint = hints.get(f.name, f.type)
            if dataclasses.is_dataclass(hint):  # nested settings (e.g. the KL schedule) get one row per field
                add_rows(hint, f"{prefix}{f.name}.")
                continue
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else "(required)")
            rows.append([prefix + f.name, type_name(hint), repr(default), helps.get(f.name, "")])

    add_rows(cls.config_class, "")
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

    from .training.distributed import from_env

    run = train_api(recipe, overrides, out=out, resume=resume)
    if not from_env().is_main:  # under torchrun, one summary is enough
        return
    res = run.result
    click.echo(f"run folder: {run.path}  (steps {res.steps}, skipped {res.skipped_steps})")
    if res.val_metrics:
        shown = [[k, f"{v:.4f}"] for k, v in res.val_metrics.items() if k.count("/") == 1]  # per-dimension: metrics.jsonl
        click.echo(_table(shown, ["METRIC (val split, last validation)", "VALUE"]))
    if res.best_metric is not None:
        click.echo(f"best {run.recipe.train.early_stop_metric}: {res.best_metric:.4f} (the weights in model.safetensors)")


def _decoding_options(fn):
    """--strategy/--beam/--top-k/--top-p/--temperature/--max-length/--seed, shared by the generating commands."""
    options = [
        click.option("--strategy", type=click.Choice(["greedy", "beam", "sample"]), default=None,
                     help="Decoding: greedy, beam search or sampling (default: sample for `sample`, greedy otherwise)."),
        click.option("--beam", type=int, default=None, help="Beam width (strategy beam; default 5)."),
        click.option("--length-penalty", type=float, default=None, help="Beam: score / length**p (default 1)."),
        click.option("--top-k", type=int, default=None, help="Sampling: keep the k most probable tokens (0 = all)."),
        click.option("--top-p", type=float, default=None, help="Sampling: nucleus probability mass (1 = all)."),
        click.option("--temperature", type=float, default=None, help="Sampling: logits are divided by this."),
        click.option("--max-length", type=int, default=None, help="Tokens generated at most (default: the model's)."),
        click.option("--seed", type=int, default=None, help="Seed for sampling, for repeatable output."),
        click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ..."),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def _decoding(kw: dict) -> dict:
    keys = {"strategy": "strategy", "beam": "beam", "length_penalty": "length_penalty", "top_k": "top_k",
            "top_p": "top_p", "temperature": "temperature", "max_length": "max_length"}
    return {v: kw[k] for k, v in keys.items() if kw.get(k) is not None}


def _text_sampler(run: str, device: str):
    from .api import load
    from .generation.text_sampler import TextSampler

    sampler = load(run, device)
    if not isinstance(sampler, TextSampler):
        raise SentaeError(f"{run}: this command generates sentences; model '{sampler.model.name}' is an image model")
    return sampler


def _read_lines(source: str) -> list[str]:
    stream = click.open_file(source, "r", encoding="utf-8")
    try:
        lines = [line.strip() for line in stream.read().split("\n")]
    except UnicodeDecodeError as exc:
        raise SentaeError(f"{source}: not UTF-8 text ({exc})") from None
    lines = [line for line in lines if line]
    if not lines:
        raise SentaeError(f"{'standard input' if source == '-' else source}: no sentences to read")
    return lines


def _write_lines(lines: list[str], output: str) -> None:
    with click.open_file(output, "w", encoding="utf-8", atomic=output != "-") as fh:
        fh.write("\n".join(lines) + "\n")


def _parse_attrs(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SentaeError(f"--attr expects NAME=VALUE (e.g. sentiment=positive), got '{pair}'")
        out[name.strip()] = value.strip()
    return out


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("-n", "--num", default=10, show_default=True, help="Number of sentences (per cell with --grid).")
@click.option("--attr", "attrs", multiple=True, metavar="NAME=VALUE",
              help="Controllable models: fix an attribute of the samples, e.g. --attr tense=future (repeatable).")
@click.option("--grid", is_flag=True, help="Controllable models: a table of samples for every combination of values.")
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@_decoding_options
@_friendly
def sample(run: str, num: int, attrs: tuple[str, ...], grid: bool, output: str, device: str, seed: int | None,
           **kw) -> None:
    """Sample sentences from the prior of a trained text model in RUN."""
    sampler = _text_sampler(run, device)
    fixed = _parse_attrs(attrs)
    if not grid:
        _write_lines(sampler.sample(num, seed=seed, attributes=fixed, **_decoding(kw)), output)
        return
    import itertools

    ctrl = sampler.controlled
    if not ctrl:
        raise SentaeError(f"--grid needs a model with attribute codes; '{sampler.model.name}' has none")
    sampler.attribute_indices(fixed, 1)  # validates the names and values
    names = list(ctrl)
    choices = [[fixed[a]] if a in fixed else ctrl[a] for a in names]
    rows = []
    for i, combo in enumerate(itertools.product(*choices)):
        cell = dict(zip(names, combo))
        cell_seed = None if seed is None else seed + i
        rows += [[*combo, s] for s in sampler.sample(num, seed=cell_seed, attributes=cell, **_decoding(kw))]
    text = _table(rows, [a.upper() for a in names] + ["SENTENCE"])
    _write_lines(text.split("\n"), output)


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("input", default="-", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@_decoding_options
@_friendly
def reconstruct(run: str, input: str, output: str, device: str, seed: int | None, **kw) -> None:
    """Encode each sentence of INPUT (a file, or - for standard input) and decode it from its posterior mean."""
    sampler = _text_sampler(run, device)
    _write_lines(sampler.reconstruct(_read_lines(input), seed=seed, **_decoding(kw)), output)


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("first")
@click.argument("second")
@click.option("--steps", default=5, show_default=True, help="Sentences on the path, both ends included.")
@click.option("--method", type=click.Choice(["linear", "slerp"]), default="linear", show_default=True)
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@_decoding_options
@_friendly
def interpolate(run: str, first: str, second: str, steps: int, method: str, output: str, device: str,
                seed: int | None, **kw) -> None:
    """Decode sentences along the latent path from FIRST to SECOND."""
    sampler = _text_sampler(run, device)
    _write_lines(sampler.interpolate(first, second, steps, method, seed=seed, **_decoding(kw)), output)


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("input", default="-", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--attribute", required=True, help="Attribute to change, e.g. sentiment.")
@click.option("--to", "to", required=True, help="Value to move toward, e.g. positive.")
@click.option("--from", "source", default=None, help="Value to move away from (default: every other value).")
@click.option("--scale", default=1.0, show_default=True, help="k in z + k * offset.")
@click.option("--labelled", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSONL/CSV/TSV with a text column and the attribute's column (default: the run's training data).")
@click.option("--count", default=2000, show_default=True, help="Labelled sentences per side for the mean codes.")
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@_decoding_options
@_friendly
def transfer(run: str, input: str, attribute: str, to: str, source: str | None, scale: float, labelled: str | None,
             count: int, output: str, device: str, seed: int | None, **kw) -> None:
    """Change an attribute of each sentence of INPUT.

    A controllable model (ctrl_vae) keeps each sentence's z and sets the attribute's code to TO (--scale does not
    apply). Any other model uses latent vector arithmetic: offset = mean code of sentences with value TO - mean
    code of the others (or of --from); each sentence is decoded from its code + SCALE * offset.
    """
    sampler = _text_sampler(run, device)
    lines = _read_lines(input)
    out = sampler.transfer(lines, attribute, to, scale, source=source, labelled=labelled, count=count, seed=seed,
                           **_decoding(kw))
    _write_lines(out, output)


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("text")
@click.option("-n", "--num", default=5, show_default=True, help="Neighbours to show.")
@click.option("--pool", type=click.Path(exists=True, dir_okay=False), default=None,
              help="File of sentences to search (default: the run's training data).")
@click.option("--count", default=20000, show_default=True, help="Search the first COUNT training sentences.")
@click.option("--metric", type=click.Choice(["euclidean", "cosine"]), default="euclidean", show_default=True)
@click.option("--device", default="cpu", show_default=True)
@_friendly
def neighbours(run: str, text: str, num: int, pool: str | None, count: int, metric: str, device: str) -> None:
    """The training sentences nearest to TEXT in latent space, with their distances."""
    sampler = _text_sampler(run, device)
    found = sampler.neighbours(text, num, pool=_read_lines(pool) if pool else None, count=count, metric=metric)
    click.echo(_table([[f"{d:.3f}", t] for t, d in found], [f"DISTANCE ({metric})", "SENTENCE"]))


@main.command("eval")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="test", show_default=True, help="Held-out split to evaluate.")
@click.option("--iw-samples", default=500, show_default=True, help="Importance samples K for the IW-NLL.")
@click.option("--max-sentences", type=int, default=None, help="Evaluate a fixed random subset of this size.")
@click.option("--subset-seed", default=0, show_default=True, help="Seed of that subset.")
@click.option("--prior-samples", default=1000, show_default=True, help="Prior samples for distinct-n and uniqueness.")
@click.option("--batch-size", default=50, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the report as JSON here.")
@_friendly
def eval_cmd(run: str, json_out: str | None, **kw) -> None:
    """Evaluate a model. Text: IW-NLL, perplexity, ELBO terms, KL, MI, active units, BLEU, distinct-n. Image:
    reconstruction error per image, the PCA baseline, a linear probe of the codes, and figures in RUN/report/."""
    import json

    from .evaluation.images import is_image_run

    if is_image_run(run):
        from .evaluation.images import evaluate_image_run, format_image_report

        report = evaluate_image_run(run, split=kw["split"], max_images=kw["max_sentences"],
                                    subset_seed=kw["subset_seed"], batch_size=kw["batch_size"], device=kw["device"])
        click.echo(format_image_report(report))
        click.echo(f"figures and summary: {Path(run) / 'report'}")
    else:
        from .evaluation.run_eval import evaluate_text_run, format_report

        report = evaluate_text_run(run, **kw)
        click.echo(format_report(report))
    if json_out:
        from .training.checkpoint import atomic_write_text

        atomic_write_text(Path(json_out), json.dumps(report, indent=2))


from .cli_classifier import classifier as _classifier_group  # noqa: E402  (added once `main` exists)
main.add_command(_classifier_group)


if __name__ == "__main__":
    main()

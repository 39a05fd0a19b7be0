"""The sentence commands: sample, reconstruct, interpolate, transfer, neighbours."""
from __future__ import annotations

import click

from ..errors import SentaeError
from .common import (
    check_output,
    decoding,
    decoding_options,
    friendly,
    parse_attrs,
    read_lines,
    table,
    write_chunks,
    write_lines,
)
from .formats import format_option, render

GRID_MAX = 100_000  # sentences in one --grid table, which is held in memory to align its columns
REWRITES = 3  # held-out sentences rewritten after a --grid table


def _text_sampler(run: str, device: str):
    from ..generation.loading import load_text_sampler

    return load_text_sampler(run, device)


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("-n", "--num", type=click.IntRange(min=1), default=10, show_default=True,
              help="Number of sentences (per cell with --grid), generated and written in batches.")
@click.option("--attr", "attrs", multiple=True, metavar="NAME=VALUE",
              help="Controllable models: fix an attribute of the samples, e.g. --attr tense=future (repeatable).")
@click.option("--grid", is_flag=True, help="Controllable models: a table of samples for every combination of values.")
@click.option("--rewrites/--no-rewrites", default=True, show_default=True,
              help="With --grid: also rewrite 3 held-out (test split) sentences, each attribute to another value "
                   "(rebuilds the run's data to find them: seconds for a large corpus).")
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@format_option
@decoding_options
@friendly
def sample(run: str, num: int, attrs: tuple[str, ...], grid: bool, rewrites: bool, output: str, fmt: str,
           device: str, seed: int | None, **kw) -> None:
    """Sample sentences from the prior of a trained text model in RUN."""
    check_output(output)
    fixed = parse_attrs(attrs)
    sampler = _text_sampler(run, device)
    if not grid:
        # in batches, each written as it comes: memory stays bounded for any -n
        chunks = ([{"text": t, **fixed} for t in chunk]
                  for chunk in sampler.iter_samples(num, seed=seed, attributes=fixed, **decoding(kw)))
        write_chunks(render(chunks, fmt, lambda rs: [r["text"] for r in rs]), output, total=num)
        return
    n_cells = len(sampler.grid_cells(fixed))
    if n_cells * num > GRID_MAX:
        raise SentaeError(f"sample --grid: {n_cells} cells x {num} sentences is more than the {GRID_MAX:,} one table "
                          f"holds; sample one cell with --attr instead (written as it is made)")
    cells = sampler.sample_grid(num, fixed, seed=seed, **decoding(kw))  # cell i uses seed + i
    names = list(sampler.controlled)
    if fmt != "text":  # the records of the grid; the held-out rewrites are for people (`transfer` gives them)
        write_chunks(render([[{**cell, "text": t} for cell, sentences in cells for t in sentences]], fmt, list),
                     output)
        return
    rows = [[*(cell[a] for a in names), s] for cell, sentences in cells for s in sentences]
    lines = table(rows, [a.upper() for a in names] + ["SENTENCE"]).split("\n")
    if rewrites:
        lines += ["", *_rewrite_lines(sampler, seed)]
    write_lines(lines, output)


def _rewrite_lines(sampler, seed: int | None) -> list[str]:
    """The held-out rewrites as a table; a run whose data cannot be rebuilt gets a note instead."""
    from ..generation.held_out import rewrite_held_out

    try:
        found = rewrite_held_out(sampler, REWRITES, seed=seed or 0)
    except SentaeError as exc:
        return [f"(no rewrites of held-out sentences: {exc})"]
    rows = [[r.source, f"{r.attribute}: {r.source_value} -> {r.target_value}", r.text] for r in found]
    return [f"{REWRITES} held-out sentences ({found[0].split} split) rewritten with another value, greedy:",
            *table(rows, ["SENTENCE", "CHANGE", "REWRITE"]).split("\n")]


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("input", default="-", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@format_option
@decoding_options
@friendly
def reconstruct(run: str, input: str, output: str, fmt: str, device: str, seed: int | None, **kw) -> None:
    """Encode each sentence of INPUT (a file, or - for standard input) and decode it from its posterior mean."""
    check_output(output)
    sampler = _text_sampler(run, device)
    lines = read_lines(input)
    out = sampler.reconstruct(lines, seed=seed, **decoding(kw))
    records = [{"input": a, "output": b} for a, b in zip(lines, out)]
    write_chunks(render([records], fmt, lambda rs: [r["output"] for r in rs]), output)


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("first")
@click.argument("second")
@click.option("-n", "--steps", "steps", type=click.IntRange(min=2), default=5, show_default=True,
              help="Sentences on the path, both ends included.")
@click.option("--method", type=click.Choice(["linear", "slerp"]), default="linear", show_default=True)
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@format_option
@decoding_options
@friendly
def interpolate(run: str, first: str, second: str, steps: int, method: str, output: str, fmt: str, device: str,
                seed: int | None, **kw) -> None:
    """Decode sentences along the latent path from FIRST to SECOND."""
    check_output(output)
    sampler = _text_sampler(run, device)
    path = sampler.interpolate(first, second, steps, method, seed=seed, **decoding(kw))
    records = [{"t": round(i / (steps - 1), 6), "text": t} for i, t in enumerate(path)]
    write_chunks(render([records], fmt, lambda rs: [r["text"] for r in rs]), output)


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("input", default="-", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--attr", "attrs", multiple=True, metavar="NAME=VALUE",
              help="Value to give an attribute, e.g. --attr sentiment=positive (repeatable: several at once).")
@click.option("--attribute", default=None, help="Attribute to change, e.g. sentiment (with --to; or use --attr).")
@click.option("--to", "to", default=None, help="Value to move toward, e.g. positive (with --attribute).")
@click.option("--from", "source", default=None, help="Value to move away from (default: every other value).")
@click.option("--scale", default=1.0, show_default=True,
              help="Latent arithmetic: k in z + k * offset. Attribute codes: how far toward the asked value (1: exactly).")
@click.option("--move-all", is_flag=True,
              help="Latent arithmetic: move every sentence, also those whose code already reads as the asked value.")
@click.option("--labelled", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSONL/CSV/TSV with a text column and the attribute's column (default: the run's training data).")
@click.option("--count", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Labelled sentences per side for the mean codes.")
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@format_option
@decoding_options
@friendly
def transfer(run: str, input: str, attrs: tuple[str, ...], attribute: str | None, to: str | None, source: str | None,
             scale: float, move_all: bool, labelled: str | None, count: int, output: str, fmt: str, device: str,
             seed: int | None, **kw) -> None:
    """Give the sentences of INPUT other attribute values, keeping the rest of what they say as far as the
    model's codes allow: `--attr sentiment=positive`, several at once (`--attr sentiment=negative --attr
    tense=future`).

    A model with attribute codes (ctrl_vae, rewriter) keeps each sentence's code and sets the attribute values
    (--scale below 1 stops short of the asked value, above 1 goes beyond it); a sentence already read at the
    asked value is decoded as `reconstruct` decodes it. Any other model uses latent
    vector arithmetic: offset = mean code of sentences with the value - mean code of the others (or of --from);
    each sentence is decoded from its code + SCALE * offset, summed over the attributes asked, except along an
    attribute whose linear reading of the code already gives the value (unless --move-all).
    """
    check_output(output)
    values = parse_attrs(attrs)
    if (attribute is None) != (to is None):
        raise SentaeError("transfer: --attribute and --to go together (or use --attr NAME=VALUE)")
    if attribute is not None:
        values[attribute] = to
    if not values:
        raise SentaeError("transfer: say what to change, e.g. --attr sentiment=positive")
    sampler = _text_sampler(run, device)
    lines = read_lines(input)
    out = sampler.transfer(lines, values, scale=scale, source=source, labelled=labelled, count=count, seed=seed,
                           keep_matching=not move_all, **decoding(kw))
    records = [{"input": a, "output": b, **values} for a, b in zip(lines, out)]
    write_chunks(render([records], fmt, lambda rs: [r["output"] for r in rs]), output)


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("text")
@click.option("-n", "--num", type=click.IntRange(min=1), default=5, show_default=True, help="Neighbours to show.")
@click.option("--pool", type=click.Path(exists=True, dir_okay=False), default=None,
              help="File of sentences to search (default: the run's training data).")
@click.option("--count", type=click.IntRange(min=1), default=20000, show_default=True,
              help="Search the first COUNT training sentences.")
@click.option("--metric", type=click.Choice(["euclidean", "cosine"]), default="euclidean", show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (cuda when there is one, else cpu), cpu, cuda, cuda:1, ...")
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@format_option
@friendly
def neighbours(run: str, text: str, num: int, pool: str | None, count: int, metric: str, device: str, output: str,
               fmt: str) -> None:
    """The training sentences nearest to TEXT in latent space, with their distances."""
    check_output(output)
    sampler = _text_sampler(run, device)
    import sys

    found = sampler.neighbours(text, num, pool=read_lines(pool) if pool else None, count=count, metric=metric,
                               show_progress=sys.stderr.isatty())  # encoding the pool takes a while
    records = [{"text": t, "distance": round(d, 6), "metric": metric} for t, d in found]
    write_chunks(render([records], fmt, lambda rs: table([[f"{r['distance']:.3f}", r["text"]] for r in rs],
                                                          [f"DISTANCE ({metric})", "SENTENCE"]).split("\n")),
                 output)

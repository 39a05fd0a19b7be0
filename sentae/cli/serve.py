"""``sentae serve``: the local explorer page of a text model."""
from __future__ import annotations

import click

from .common import friendly


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback lets other machines use the page (no login).")
@click.option("--port", type=click.IntRange(0, 65535), default=7860, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--map-sentences", type=click.IntRange(0, 5000), default=300, show_default=True,
              help="Held-out sentences on the latent map (0: no map; the run's data is rebuilt to find them).")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when there is one, else cpu), cpu, cuda, cuda:1, ...")
@click.option("--quiet", is_flag=True, help="Do not log each request.")
@friendly
def serve(run: str, host: str, port: int, map_sentences: int, device: str, quiet: bool) -> None:
    """A local web page to explore the text model in RUN: sample with attribute values, rewrite a typed sentence,
    interpolate between two sentences, and see the latent map with the typed sentence on it.

    The page listens on 127.0.0.1 (this machine only) unless --host says otherwise, refuses requests over 64 KB
    and sentences over 2,000 characters, and reads no run or file but RUN.
    """
    from ..serve import serve as serve_run  # only this command pays for the server's imports

    serve_run(run, host, port, device=device, map_sentences=map_sentences, quiet=quiet,
              echo=lambda line: click.echo(line, err=True))

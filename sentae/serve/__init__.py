"""``sentae serve``: a local web page to explore a trained text model (sample with attribute values, rewrite a
typed sentence, interpolate between two, see the latent map). Standard library only: nothing to install.

>>> from sentae.serve import serve
>>> serve("runs/quickstart")                      # doctest: +SKIP  (blocks; Ctrl-C ends it)
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from .app import MAX_BODY, ExplorerServer, is_loopback, make_server
from .explorer import MAX_SAMPLES, MAX_STEPS, MAX_TEXT, ApiError, Explorer
from .map import MAP_SENTENCES

__all__ = ["ApiError", "Explorer", "ExplorerServer", "MAP_SENTENCES", "MAX_BODY", "MAX_SAMPLES", "MAX_STEPS",
           "MAX_TEXT", "is_loopback", "make_server", "open_explorer", "serve"]


def open_explorer(run: str | Path, host: str = "127.0.0.1", port: int = 7860, *, device: str = "cpu",
                  map_sentences: int = MAP_SENTENCES, quiet: bool = False) -> ExplorerServer:
    """Load the run once, build its latent map and bind the server (not yet serving). The run given here is the
    only one the server ever reads; no request can name another path."""
    from ..generation.loading import load_text_sampler

    from ..errors import SentaeError

    sampler = load_text_sampler(run, device)
    explorer = Explorer(sampler, map_sentences, run_label=Path(run).name)
    try:
        return make_server(explorer, host, port, quiet)
    except OSError as exc:  # port taken, address not on this machine, privileged port
        raise SentaeError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another --port or "
                          f"--host)") from None


def serve(run: str | Path, host: str = "127.0.0.1", port: int = 7860, *, device: str = "cpu",
          map_sentences: int = MAP_SENTENCES, quiet: bool = False,
          echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> None:
    """Serve the explorer page of the text model in ``run`` on http://HOST:PORT/ until interrupted. ``host`` is
    127.0.0.1 unless given: any other address lets other machines use the page, which has no login."""
    if not is_loopback(host):
        echo(f"warning: listening on {host}: other machines that can reach it may use the page and the model "
             f"(it has no authentication); use --host 127.0.0.1 to keep it on this machine")
    server = open_explorer(run, host, port, device=device, map_sentences=map_sentences, quiet=quiet)
    ex = server.explorer
    echo(f"model '{ex.sampler.model.name}' from {run}; latent map: "
         + (f"{len(ex.map.points)} {ex.map.split} sentences" if ex.map.available else ex.map.reason))
    echo(f"sentae explorer on {server.url} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        server.server_close()

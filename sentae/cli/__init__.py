"""The command line: thin commands that parse, call the Python API (``sentae.api``) and print."""
from __future__ import annotations

import click

from ..registry import PLUGIN_API_VERSION
from ..version import __version__
from .apply import denoise, encode, sample_images, score
from .classifier import classifier
from .hub import push
from .models import config, info, list_cmd
from .process import retain_freed_memory
from .text import interpolate, neighbours, reconstruct, sample, transfer
from .train import eval_cmd, train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sentae", message=f"%(prog)s %(version)s (plugin API {PLUGIN_API_VERSION})")
def main() -> None:
    """sentae: train, inspect and sample text and image autoencoders."""
    retain_freed_memory()  # runs before any subcommand (not for --help/--version, which answer first)


for _command in (list_cmd, info, config, train, sample, reconstruct, interpolate, transfer, neighbours, eval_cmd,
                 classifier, push):
    main.add_command(_command)
for _command in (score, denoise, encode, sample_images):  # the applications: scores, denoising, features, images
    main.add_command(_command)
from .serve import serve  # noqa: E402  the explorer page; its server loads only when the command runs
main.add_command(serve)


if __name__ == "__main__":
    main()

"""`sentae push`: a run folder to the Hugging Face Hub."""
from __future__ import annotations

import click

from .common import friendly


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("repo_id")
@click.option("--revision", default=None, help="Branch to commit to (created if needed; default: main).")
@click.option("--private", is_flag=True, default=None, help="Create the repository as private (when it is new).")
@click.option("--include-checkpoints", is_flag=True,
              help="Also upload checkpoints/, trainer_state.pt and best.safetensors (by default: only what a load needs, "
                   "the card, the recipe and the logs).")
@click.option("--eval-json", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A report written by `sentae eval --json`, shown in the model card (default: RUN/report/eval.json "
                   "when there is one).")
@click.option("--license", "license_", default=None, help="The model card's license field (default: unknown).")
@click.option("-m", "--message", default=None, help="Commit message.")
@click.option("--dry-run", is_flag=True, help="List what would be uploaded; write and send nothing.")
@friendly
def push(run: str, repo_id: str, revision: str | None, private: bool | None, include_checkpoints: bool,
         eval_json: str | None, license_: str | None, message: str | None, dry_run: bool) -> None:
    """Upload the run folder RUN to the Hub model repository REPO_ID (user/repo).

    Refreshes RUN's config.json and model card (README.md, unless yours is there), then uploads in one commit the
    files sentae wrote that a load needs: model.json, config.json, model.safetensors, the tokenizer files,
    config.yaml, data_info.json, README.md, metrics.jsonl, TensorBoard events and report/. Hidden files and files
    sentae did not write are never uploaded. Log in first with `hf auth login` (or set HF_TOKEN). Load it back
    with `sentae.load("REPO_ID")`.
    """
    from ..api import push_to_hub

    result = push_to_hub(run, repo_id, revision=revision, private=private, include_checkpoints=include_checkpoints,
                         dry_run=dry_run, eval_report=eval_json, license=license_, message=message)
    at = f"@{result.revision}" if result.revision else ""
    head = "would upload" if result.dry_run else "uploaded"
    click.echo(f"{head} {len(result.files)} file(s) from {run} to {result.repo_id}{at}:")
    for name in result.files:
        click.echo(f"  {name}")
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.commit:
        click.echo(f"commit: {result.commit}")

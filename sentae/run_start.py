"""Starting a run in a folder: a fresh run only where nothing of anyone else's would be touched, a resumed one
only from a checkpoint with the model and data it was trained with. Training from a recipe calls
these before it writes anything."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .errors import CheckpointError, SentaeError
from .run import (CONFIG, EVENTS, HUB_CONFIG, LOCK, MARKER, PROJECTOR_CONFIG, PROJECTOR_DIR, SETUP_FILES,
                  TENSORBOARD_FILE, RunFolder)


def prepare_fresh(run: RunFolder) -> None:
    """Make sure a new run may be written here: the folder is absent, empty, or a sentae run that failed before
    its first checkpoint, whose setup files (only those) are removed. Anything else is refused and nothing is
    touched: sentae never deletes a file it did not write."""
    if not run.path.exists():
        return
    if not run.path.is_dir():
        raise SentaeError(f"run folder {run.path} exists and is not a folder (nothing was written)")
    names = {p.name for p in run.path.iterdir()} - {LOCK}
    if not names or names == {MARKER}:
        return
    if not run.is_sentae_run():
        raise SentaeError(
            f"{run.path} already exists, is not empty and is not a sentae run folder (no {MARKER}): choose "
            f"another --out, or an empty folder (nothing was written)"
        )
    ours = setup_files_written(run)
    if names - {MARKER} - {p.name for p in ours if p.parent == run.path} or run.checkpoints():
        raise SentaeError(
            f"run folder {run.path} already exists and is not empty: pass --resume to continue it, "
            f"or choose another --out (nothing was written)"
        )
    for p in ours:
        shutil.rmtree(p) if p.is_dir() else p.unlink()

def setup_files_written(run: RunFolder) -> list[Path]:
    """The setup files of a run that never checkpointed, as sentae writes them; events/ counts only when it
    holds nothing but TensorBoard's files and the projector's (a user's file inside keeps it, and the refusal
    above names it)."""
    found = []
    for name in sorted(SETUP_FILES):
        p = run.file(name)
        if name == EVENTS:
            if p.is_dir() and all((TENSORBOARD_FILE.fullmatch(q.name) and q.is_file())
                                  or q.name in (PROJECTOR_CONFIG, PROJECTOR_DIR) for q in p.iterdir()):
                found.append(p)
        elif p.is_file() and (name != HUB_CONFIG or run.wrote(name)):  # a config.json of yours stays
            found.append(p)
    return found

def check_resume(run: RunFolder, recipe: dict[str, Any]) -> None:
    """A run may resume only from a checkpoint, and only with the model and data it was trained with."""
    if not run.checkpoints():
        raise CheckpointError(f"--resume: {run.path} has no checkpoint to resume from")
    if not run.file(CONFIG).is_file():
        return
    old = run.read_config()
    for section in ("model", "data"):
        if old.get(section) != recipe[section]:
            raise SentaeError(
                f"--resume: the recipe's '{section}' section differs from the one {run.path} was trained with "
                f"({run.file(CONFIG)}); resume with the same recipe (only train.* may change)"
            )


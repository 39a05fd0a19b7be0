"""Sharing a run on the Hugging Face Hub: what is uploaded, and the push itself (``sentae push``, ``sentae.push_to_hub``).

Uploaded: the files sentae writes that a load, the Hub page and a reader of the training need (``config.yaml``,
``data_info.json``, ``model.json``, ``config.json``, ``model.safetensors``, the tokenizer files, the model card
``README.md``, ``metrics.jsonl``, TensorBoard files under ``events/``, ``report/`` figures and summaries); with
``checkpoints`` also ``best.safetensors``, ``trainer_state.pt`` and ``checkpoints/step-NNNNNNNN/``. Nothing else: no
hidden file (marker, lock, temporary files), no file of another name, no config.json or README.md sentae did not
write. The transport is ``sentae.data.hub``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.hub import PREFIX, REPO_ID
from ..data.tokenizer_files import TOKENIZER_FILES
from ..errors import SentaeError
from ..run import (BEST_WEIGHTS, CARD, CHECKPOINTS, CONFIG, DATA_INFO, EVENTS, HUB_CONFIG, METRICS, MODEL_SPEC,
                   REPORT, TENSORBOARD_FILE, TRAINER_STATE, WEIGHTS, RunFolder)

REPORT_SUFFIXES = (".md", ".html", ".png", ".svg", ".json")  # what sentae's reports are made of


@dataclass
class PushResult:
    """What a push did (or, with ``dry_run``, would do): the files, by path in the repository, and notes."""

    repo_id: str
    revision: str | None
    files: list[str]
    dry_run: bool
    commit: str | None = None
    notes: list[str] = field(default_factory=list)


def shareable_files(run_dir: str | Path, checkpoints: bool = False) -> list[str]:
    """The files of ``run_dir`` that a push uploads, as paths relative to it (see the module's docstring)."""
    run = RunFolder(run_dir)
    names = [CONFIG, DATA_INFO, MODEL_SPEC, HUB_CONFIG, WEIGHTS, *TOKENIZER_FILES, CARD, METRICS]
    if checkpoints:
        names += [BEST_WEIGHTS, TRAINER_STATE]
    found = [n for n in names if run.file(n).is_file() and (n not in (HUB_CONFIG, CARD) or run.wrote(n))]
    events = run.file(EVENTS)
    if events.is_dir():
        found += [f"{EVENTS}/{p.name}" for p in sorted(events.iterdir())
                  if p.is_file() and TENSORBOARD_FILE.fullmatch(p.name)]
    report = run.file(REPORT)
    if report.is_dir():
        found += [f"{REPORT}/{p.name}" for p in sorted(report.iterdir())
                  if p.is_file() and not p.name.startswith(".") and p.suffix in REPORT_SUFFIXES]
    for ckpt in run.checkpoints() if checkpoints else []:
        found += [f"{CHECKPOINTS}/{ckpt.name}/{n}" for n in (WEIGHTS, TRAINER_STATE) if (ckpt / n).is_file()]
    return found


def check_repo_id(repo_id: str) -> str:
    """``user/repo`` (an ``hf://`` prefix is allowed); a revision goes in ``revision``, not after an ``@``."""
    bare = repo_id[len(PREFIX):] if repo_id.startswith(PREFIX) else repo_id
    if "@" in bare:
        raise SentaeError(f"{repo_id}: give the branch to push to with --revision, not after '@'")
    if not REPO_ID.fullmatch(bare) or ".." in bare:
        raise SentaeError(f"{repo_id}: not a Hub repository id; expected user/repo (letters, digits, '-', '_', '.')")
    return bare


def push_run(run_dir: str | Path, repo_id: str, *, revision: str | None = None, private: bool | None = None,
             checkpoints: bool = False, dry_run: bool = False, eval_report: dict[str, Any] | str | Path | None = None,
             license: str | None = None, message: str | None = None, token: str | None = None) -> PushResult:
    """Refresh the run's config.json and model card, then upload ``shareable_files`` to ``repo_id`` in one commit
    (on the branch ``revision``, default main). With ``dry_run`` nothing is written or sent: the result lists what
    would be uploaded. The run's writer lock is held throughout, so a run being trained is refused."""
    from .model_card import model_card, write_model_card

    repo = check_repo_id(repo_id)
    run = RunFolder(run_dir)
    spec = run.read_spec()  # a folder that sentae cannot load is not pushed
    if not run.file(WEIGHTS).is_file():
        raise SentaeError(f"{run.path}: nothing to push, {WEIGHTS} is missing (has the training finished?)")
    if spec["data_info"].get("modality") == "text":
        run.load_tokenizer()  # the pushed repository must load: its tokenizer must be the model's
    notes = [f"{n} was not written by sentae: left as it is and not uploaded"
             for n in (HUB_CONFIG, CARD) if run.file(n).exists() and not run.wrote(n)]
    if dry_run:
        model_card(run.path, eval_report, repo, license)  # the card must be writable: its errors show now
        files = shareable_files(run.path, checkpoints)
        files += [n for n in (HUB_CONFIG, CARD) if n not in files and not run.file(n).exists()]
        return PushResult(repo, revision, _ordered(files), True, notes=notes)
    from ..data.hub import upload

    lock = run.lock()
    try:
        run.write_hub_config(spec)
        write_model_card(run.path, eval_report, repo, license)
        files = _ordered(shareable_files(run.path, checkpoints))
        commit = upload(run.path, files, repo, revision=revision, private=private, token=token,
                        message=message or f"Upload {spec['type']} with sentae")
    finally:
        lock.release()
    return PushResult(repo, revision, files, False, commit, notes)


def _ordered(files: list[str]) -> list[str]:
    top = sorted(f for f in files if "/" not in f)
    return top + sorted(f for f in files if "/" in f)

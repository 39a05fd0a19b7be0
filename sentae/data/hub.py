"""The Hugging Face Hub as a place runs come from and go to: references, downloads into the Hub cache, uploads.

This module only moves files: which files a run folder holds, and what a load or a push needs, is
``sentae.run``'s and ``sentae.evaluation.publish``'s business. It sits with the data sources because it is, like
``datasets``, transport from the Hub; ``huggingface_hub`` is imported only when a Hub reference is used.

A reference is ``hf://user/repo``, ``hf://user/repo@revision`` (a branch, tag or commit), or the bare ``user/repo``
(``user/repo@revision``) when no local folder of that name exists; any other string or ``Path`` is a local folder.

>>> parse_ref("hf://sentae/quickstart@v1")
('sentae/quickstart', 'v1')
>>> parse_ref("runs/quickstart/") is None
True
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from ..errors import SentaeError

PREFIX = "hf://"
OFFLINE_ENV = "HF_HUB_OFFLINE"
CACHE_ENV = "HF_HUB_CACHE"
# A Hub model id: "namespace/name", letters, digits, "-", "_", "." (not leading); at most 96 characters a part.
REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")


def parse_ref(ref: str | os.PathLike) -> tuple[str, str | None] | None:
    """``(repo_id, revision)`` for a Hub reference, None for a local path. A ``Path`` object is always local; a
    string is a Hub reference when it starts with ``hf://``, or has the form ``user/repo[@revision]`` and no file
    or folder of that name exists here."""
    if not isinstance(ref, str):
        return None
    explicit = ref.startswith(PREFIX)
    if not explicit and (Path(ref).exists() or ref.endswith("/") or ref.startswith(".")):
        return None
    body = ref[len(PREFIX):] if explicit else ref
    repo_id, at, revision = body.partition("@")
    if REPO_ID.fullmatch(repo_id) and ".." not in repo_id and (not at or revision):
        return repo_id, revision or None
    if explicit:
        raise SentaeError(f"{ref}: not a Hub reference; expected hf://user/repo or hf://user/repo@revision")
    return None


def offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` asks for no network (read when called, not when huggingface_hub was imported)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def download(repo_id: str, revision: str | None = None, *, local_files_only: bool | None = None,
             cache_dir: str | Path | None = None, allow_patterns: Sequence[str] | None = None,
             token: str | bool | None = None, what: str | None = None) -> Path:
    """The local snapshot folder of ``repo_id`` at ``revision`` (default: main), through ``snapshot_download`` and
    the Hub cache (``cache_dir``, else ``$HF_HUB_CACHE``, else huggingface_hub's default). ``local_files_only``
    (default: ``$HF_HUB_OFFLINE``) reads the cache only. Only files matching ``allow_patterns`` are fetched.
    Every failure is one ``SentaeError`` naming the repository (and ``what`` the user asked for, when given)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise SentaeError(f"{what or repo_id}: loading from the Hugging Face Hub needs huggingface_hub: "
                          f"pip install huggingface_hub") from None
    local_only = offline() if local_files_only is None else bool(local_files_only)
    cache = cache_dir if cache_dir is not None else os.environ.get(CACHE_ENV) or None
    try:
        folder = snapshot_download(repo_id, revision=revision, cache_dir=cache, local_files_only=local_only,
                                   allow_patterns=list(allow_patterns) if allow_patterns else None, token=token,
                                   library_name="sentae", library_version=_version())
    except Exception as exc:  # noqa: BLE001 (network, HTTP and cache errors have no common base class)
        at = f"@{revision}" if revision else ""
        where = " in the local Hub cache (offline)" if local_only else " on the Hugging Face Hub"
        prefix = f"{what}: no such local folder, and " if what and what != f"{PREFIX}{repo_id}{at}" else ""
        raise SentaeError(f"{prefix}{repo_id}{at} could not be read{where} ({type(exc).__name__}: "
                          f"{_first_line(exc)})") from None
    return Path(folder)


def hf_api(token: str | None = None):
    """The ``huggingface_hub.HfApi`` that uploads go through (tests replace this function)."""
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise SentaeError("pushing to the Hugging Face Hub needs huggingface_hub: pip install huggingface_hub") from None
    return HfApi(token=token)


def upload(folder: Path, files: Sequence[str], repo_id: str, *, revision: str | None = None,
           private: bool | None = None, message: str = "Upload with sentae", token: str | None = None) -> str:
    """Upload exactly ``files`` (paths relative to ``folder``, kept as paths in the repository) to the model
    repository ``repo_id`` in one commit, creating the repository (``private`` when new) and the branch
    ``revision`` if needed; returns the commit's URL (or id)."""
    from huggingface_hub import CommitOperationAdd

    api = hf_api(token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        ops = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(folder / name)) for name in files]
        info = api.create_commit(repo_id, operations=ops, commit_message=message, revision=revision)
    except Exception as exc:  # noqa: BLE001 (as in download)
        raise SentaeError(f"push to {repo_id} failed ({type(exc).__name__}: {_first_line(exc)}); nothing was "
                          f"changed in {folder}") from None
    return str(getattr(info, "commit_url", None) or getattr(info, "oid", None) or info)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else "no message"


def _version() -> str:
    from ..version import __version__

    return __version__

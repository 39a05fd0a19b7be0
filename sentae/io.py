"""Atomic file writes: the one way sentae writes a file that someone may read while it is being written.

A file is written under a temporary name in the same folder, flushed and fsynced, then renamed over the real name
with ``os.replace`` (atomic on POSIX and Windows), and the folder entry is synced too. A crash at any moment leaves
either the old file or the new one, never a mixture. Temporary names start with ``.`` and contain ``.tmp-`` so that
a later start can recognise (and remove) the leftovers of an interrupted write.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

TMP_MARK = ".tmp-"


def temp_path(path: Path) -> Path:
    """The temporary name a write of ``path`` goes through (hidden, unique per process)."""
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename itself is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_with(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file, fsync it and move it to ``path``. On any error the
    temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_copy(source: str | Path, target: str | Path) -> Path:
    """Copy ``source`` to ``target`` atomically (the target is never seen half-copied)."""
    import shutil

    return atomic_write_with(target, lambda tmp: shutil.copyfile(source, tmp))

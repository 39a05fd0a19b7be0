"""Atomic file writes: the one way sentae writes a file that someone may read while it is being written.

A file is written under a temporary name in the same folder, flushed and fsynced, then renamed over the real name
with ``os.replace`` (atomic on POSIX and Windows), and the folder entry is synced too. A crash at any moment leaves
either the old file or the new one, never a mixture. Temporary names start with ``.`` and contain ``.tmp-`` so that
a later start can recognise (and remove) the leftovers of an interrupted write.
"""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Callable, Iterator, TextIO

from .errors import WriteError

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


def write_failure(path: Path, exc: OSError) -> WriteError:
    """One line naming the file sentae could not write and why (the OS's reason, or the folder that is missing)."""
    if isinstance(exc, WriteError):
        return exc
    parent = path.parent
    if exc.errno in (errno.ENOENT, errno.ENOTDIR) and not parent.is_dir():
        reason = f"the folder {parent} does not exist"
    elif exc.errno == errno.EISDIR or path.is_dir():
        reason = "it is a folder"
    else:
        reason = exc.strerror or str(exc).splitlines()[0]
    return WriteError(f"cannot write {path}: {reason}")


def disk_full(exc: BaseException, path: Path) -> bool:
    """Whether a failed write under ``path`` ran out of space: torch and safetensors report a full disk in their
    own errors ("unexpected pos", "os error 28"), so the text is read and, failing that, the free space checked."""
    text = str(exc)
    if "os error 28" in text or "No space left" in text:
        return True
    try:
        import shutil

        return shutil.disk_usage(path.parent).free < 1 << 20
    except OSError:
        return False


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:  # the write already failed; that error is the one to report
        pass


@contextlib.contextmanager
def _renamed_into_place(path: Path) -> Iterator[Path]:
    """The temporary path a write of ``path`` fills; renamed over ``path`` when the block ends without an error
    (the block fsyncs what it wrote), removed otherwise. An ``OSError`` (disk full, no permission, a missing
    folder) becomes a ``WriteError`` naming ``path``."""
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise write_failure(path, exc) from None
    except Exception as exc:
        _discard(tmp)
        if disk_full(exc, path):
            raise WriteError(f"cannot write {path}: No space left on device") from None
        raise
    except BaseException:
        _discard(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_with(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file, fsync it and move it to ``path``. On any error the
    temporary file is removed and ``path`` is untouched; an ``OSError`` (disk full, no permission, a missing
    folder) becomes a ``WriteError`` naming ``path``."""
    path = Path(path)
    with _renamed_into_place(path) as tmp:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    return path


@contextlib.contextmanager
def atomic_open_text(path: str | Path) -> Iterator[TextIO]:
    """A UTF-8 text file to write to piece by piece (output streamed as it is made), moved to ``path`` only when
    the block ends without an error; errors as in ``atomic_write_with``."""
    with _renamed_into_place(Path(path)) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_copy(source: str | Path, target: str | Path) -> Path:
    """Copy ``source`` to ``target`` atomically (the target is never seen half-copied)."""
    import shutil

    def copy(tmp: Path) -> None:
        try:
            shutil.copyfile(source, tmp)
        except OSError as exc:
            if exc.filename is not None and Path(exc.filename) == Path(source):  # reading failed, not writing
                raise WriteError(f"cannot copy {source} to {target}: {exc.strerror or exc}") from None
            raise

    return atomic_write_with(target, copy)

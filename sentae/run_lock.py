"""One writer per run folder: an exclusive ``flock`` on a lock file that holds the writer's PID. The OS releases
it when the process ends, however it ends."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import SentaeError


class RunLock:
    """An exclusive ``flock`` on ``.sentae-lock`` in a run folder, holding the writer's PID."""

    def __init__(self, folder: Path, handle) -> None:
        self.folder = folder
        self._handle = handle

    @classmethod
    def acquire(cls, folder: Path, path: Path) -> RunLock:
        """Lock ``path`` (a file in ``folder``, created with the folder if needed) or raise naming its holder."""
        import fcntl

        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+", encoding="utf-8")
        except OSError as exc:
            raise SentaeError(f"cannot write the run folder {folder}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise SentaeError(f"run folder {folder} is being written by process {holder} (it holds {path}); "
                              f"wait for it to finish or choose another --out (nothing was written)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return cls(folder, handle)

    def release(self) -> None:
        if self._handle is not None:
            import fcntl

            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

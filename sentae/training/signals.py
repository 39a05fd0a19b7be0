"""Stopping training cleanly on SIGTERM and SIGINT."""
from __future__ import annotations

import signal
import threading
from typing import Any


class StopSignals:
    """SIGTERM and SIGINT ask training to stop after the current optimizer step, with a checkpoint (what a batch
    scheduler sends before it kills a job). A second SIGINT stops at once (KeyboardInterrupt). Only the main thread
    can install handlers; elsewhere signals keep their default behaviour."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        self.received = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

"""Errors sentae raises for bad input: each carries one message that names what and where."""
from __future__ import annotations


class SentaeError(Exception):
    """Base class: the CLI prints the message and exits non-zero, without a traceback."""


class ConfigError(SentaeError):
    """A recipe or an override is invalid (unknown key, wrong type, missing field)."""


class UnknownModelError(SentaeError, KeyError):
    """No registered model has the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PluginError(SentaeError):
    """A plugin failed to import, declares an incompatible API or clashes with another plugin."""


class DataError(SentaeError):
    """A data file is missing, empty, undecodable or malformed."""


class CheckpointError(SentaeError):
    """A checkpoint or run folder is missing, truncated or corrupt."""


class TrainingError(SentaeError):
    """Training cannot go on (for example, the loss stayed non-finite)."""


class TrainingInterrupted(TrainingError):
    """SIGTERM or SIGINT stopped training after a checkpoint was written; ``exit_code`` is the shell's
    convention for that signal (128 + its number)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class WriteError(SentaeError, OSError):
    """A file sentae writes could not be written (no space left, no permission, a missing folder); the message
    names the file and the operating system's reason. Also an ``OSError``, so code that catches those still does."""

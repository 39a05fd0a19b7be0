"""Where metrics go while training: metrics.jsonl, TensorBoard events and a progress bar or log lines."""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ..io import atomic_write_text
from ..run import EVENTS, METRICS
from .tensorboard_log import ValidationSummaries, flat_hparams, forget_projector_after, tag


class MetricsLogger:
    """Appends one JSON object per record to ``metrics.jsonl`` and mirrors scalars to TensorBoard under
    ``<split>/<metric>`` tags; with ``attach``, each validation also writes the projector embedding, text examples
    and (once) the hyperparameters (``sentae.training.tensorboard_log``)."""

    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.enabled = enabled
        self.path = run_dir / METRICS
        self.events = run_dir / EVENTS
        self._tb = None
        self._summaries: ValidationSummaries | None = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(log_dir=str(self.events))
            except ImportError:  # tensorboard is a dependency, but a trimmed install may lack it
                self._tb = None

    def forget_after(self, step: int) -> None:
        """Drop the records of steps after ``step`` (a resumed run trains them again, so each step keeps one
        line). Lines that are not JSON records, e.g. a line cut by a crash, are dropped too."""
        if not self.enabled or not self.path.is_file():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= step:
                kept.append(line)
        atomic_write_text(self.path, "".join(f"{line}\n" for line in kept))
        forget_projector_after(self.events, step)

    def attach(self, model, data, train_config: dict[str, Any], seed: int = 0) -> None:
        """Write validation summaries of ``model`` on ``data`` (no-op without TensorBoard)."""
        if self._tb is not None:
            self._summaries = ValidationSummaries(self._tb, self.events, model, data,
                                                  flat_hparams(model, train_config), seed)

    def log(self, step: int, split: str, metrics: dict[str, float], **extra: Any) -> None:
        if not self.enabled:
            return
        record = {"step": step, "split": split, **extra}
        record.update({k: (v if math.isfinite(v) else str(v)) for k, v in metrics.items()})
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for k, v in metrics.items():
                self._tb.add_scalar(tag(split, k), v, step)
            if split == "val" and self._summaries is not None:
                self._summaries(step, metrics)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.flush()
            self._tb.close()


class Progress:
    """A tqdm bar on a terminal, plain lines otherwise (CI logs, files), or nothing."""

    def __init__(self, mode: str, total: int, initial: int, log_every: int, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "log"
        self.mode = mode if enabled else "none"
        self.total, self.log_every = total, log_every
        self.start_step, self.start_time = initial, time.perf_counter()
        self._bar = None
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, file=self.stream, dynamic_ncols=True, unit="step")

    def update(self, step: int, metrics: dict[str, float]) -> None:
        if self.mode == "bar" and self._bar is not None:
            self._bar.update(step - self._bar.n)
            if step % self.log_every == 0 or step == self.total:
                self._bar.set_postfix({k: f"{v:.4g}" for k, v in list(metrics.items())[:4]})
        elif self.mode == "log" and (step % self.log_every == 0 or step == self.total):
            rate = (step - self.start_step) / max(time.perf_counter() - self.start_time, 1e-9)
            shown = " ".join(f"{k}={v:.4g}" for k, v in metrics.items())
            print(f"step {step}/{self.total} {shown} ({rate:.2f} steps/s)", file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if self.mode == "none":
            return
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

"""The Trainer: one explicit loop that owns device, precision, accumulation, clipping, every optimizer step,
DDP, validation, early stopping, checkpoints and logging. It knows no model by name."""
from __future__ import annotations

import contextlib
import math
import signal
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence, TextIO

import torch
from torch import nn

from ..data.base import DataModule
from ..data.streaming import check_position
from ..errors import TrainingError, TrainingInterrupted
from ..io import atomic_copy
from ..model import Batch, SentaeModel, StepContext
from ..run import BEST_WEIGHTS, TRAINER_STATE, WEIGHTS, RunFolder
from ..weights import save_weights
from . import checkpoint as ckpt
from . import distributed as dist_util
from .config import TrainConfig
from .devices import lr_multiplier, resolve_device, seed_everything, to_device
from .logging import MetricsLogger, Progress
from .loop_state import LoopState, Optimization
from .resume import restore_latest, trainer_state
from .signals import StopSignals


@dataclass
class TrainResult:
    run_dir: Path
    steps: int  # optimizer steps taken in total (a resumed run counts the earlier ones too)
    skipped_steps: int  # steps skipped for a non-finite loss
    stopped_early: bool
    best_metric: float | None
    val_metrics: dict[str, float] = field(default_factory=dict)  # last validation
    out_of_time: bool = False  # stopped by train.max_time_s


class _StepModule(nn.Module):
    """Routes ``forward`` to ``training_step`` so DDP's gradient hooks see every parameter used."""

    def __init__(self, model: SentaeModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Batch, ctx: StepContext):
        return self.model.training_step(batch, ctx)


class Trainer:
    """Train any registered model on any DataModule and write the run folder.

    >>> import sentae
    >>> from sentae.config import TrainConfig, DataConfig
    >>> from sentae.data import build_data
    >>> data = build_data(DataConfig(source="digits"))                      # doctest: +SKIP
    >>> model = sentae.create_model("mlp_vae", data_info=data.info)     # doctest: +SKIP
    >>> Trainer(TrainConfig(max_steps=50), "runs/demo").fit(model, data)    # doctest: +SKIP
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path, resume: bool = False, stream: TextIO | None = None,
                 callbacks: Sequence[Callable[[int, dict[str, float]], None]] = (), *,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.cfg = config
        self.callbacks = list(callbacks)  # called after every optimizer step with (step, that step's metrics)
        # Seconds from an arbitrary origin; measures train.max_time_s and the logged elapsed_s. Injectable so that a
        # test can advance time by a fixed amount per step and know exactly where the budget stops training.
        self.clock = clock
        self.run_dir = Path(run_dir)
        self.run = RunFolder(self.run_dir)
        self.resume = resume
        self.resume_changes: dict[str, tuple] = {}  # train.* changes a resume honours, printed at the start
        self.stream = stream
        self.dist = dist_util.from_env()

    # ------------------------------------------------------------------------------------------------------------
    def fit(self, model: SentaeModel, data: DataModule) -> TrainResult:
        """Train ``model`` on ``data``'s train split, validating on its val split, and write the run folder."""
        cfg, info = self.cfg, self.dist
        if cfg.threads is not None:
            # Small models gain little from intra-op threads, and on a busy machine threads that wait for each other
            # at every tiny op can slow a step down many times over; one thread is then faster.
            torch.set_num_threads(cfg.threads)
        device = resolve_device(cfg.device, info.local_rank)
        dist_util.init(info, device)
        if info.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        model.to(device)
        model.train()
        opt_map = model.optimizers(cfg.lr, cfg.weight_decay)
        wrapped: nn.Module = _StepModule(model)
        if info.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            # Adversarial and wake-sleep models use a different subset of parameters per optimizer.
            wrapped = DDP(wrapped, device_ids=[device.index] if device.type == "cuda" else None,
                          find_unused_parameters=len(opt_map) > 1)
        opt = Optimization(
            wrapped=wrapped, model=model, optimizers=opt_map,
            schedulers={n: torch.optim.lr_scheduler.LambdaLR(o, self._lr_lambda) for n, o in opt_map.items()},
            scaler=torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16"),
            amp_dtype={"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision),
            device=device,
        )

        state = LoopState()
        if self.resume:
            state, self.resume_changes = restore_latest(self.run, opt, cfg)
        else:
            seed_everything(cfg.seed + info.rank)

        logger = MetricsLogger(self.run_dir, enabled=info.is_main)
        if self.resume:
            logger.forget_after(state.step)  # the steps after the checkpoint are trained (and logged) again
        logger.attach(model, data, asdict(cfg), cfg.seed)  # projector, text and hparams at each validation
        progress = Progress(cfg.progress, cfg.max_steps, state.step, cfg.log_every, info.is_main, self.stream)
        n_params = sum(p.numel() for p in model.parameters())
        progress.message(
            f"training '{model.name}' ({n_params:,} parameters) on {device} in {cfg.precision}"
            + (f" x{info.world_size} processes" if info.enabled else "")
            + f"; {data.describe()}"
            + (f"; resuming at step {state.step}" if self.resume else "")
        )
        if info.is_main:
            self.run.write_spec(model)
        for key, (old, new) in self.resume_changes.items():
            progress.message(f"resuming with train.{key} {old!r} -> {new!r}")

        window: dict[str, list[float]] = {}
        last_val: dict[str, float] = {}
        stopped_early = out_of_time = False
        t_start = self.clock()
        resumed_stream = state.stream if self.resume else None
        signals = StopSignals()
        try:
            signals.__enter__()
            while state.step < cfg.max_steps and not stopped_early:
                batches = self._epoch_batches(data, state.epoch)
                position = getattr(batches, "position", None)  # streamed data says where its stream stands
                if resumed_stream is not None and position is not None:
                    check_position(resumed_stream, position(state.pos))  # the stream the checkpoint was reading
                resumed_stream = None
                while state.pos + cfg.grad_accum <= len(batches) and state.step < cfg.max_steps:
                    micro = batches[state.pos : state.pos + cfg.grad_accum]
                    state.pos += cfg.grad_accum
                    state.stream = position(state.pos) if position is not None else None
                    metrics, finite = self._optimizer_step(opt, data, micro, state)
                    state.step += 1
                    step = state.step
                    if finite:
                        state.streak = 0
                        for k, v in metrics.items():
                            window.setdefault(k, []).append(v)
                    else:
                        state.skipped += 1
                        state.streak += 1
                        logger.log(step, "train", {}, event="skipped non-finite loss")
                        progress.message(f"step {step}: non-finite loss, step skipped ({state.streak} in a row)")
                        if state.streak >= cfg.max_nonfinite:
                            raise TrainingError(self._nonfinite_message(step, state.streak))
                    for callback in self.callbacks:
                        callback(step, metrics)
                    shown = {k: sum(v) / len(v) for k, v in window.items()}
                    progress.update(step, shown)
                    if (step % cfg.log_every == 0 or step == cfg.max_steps) and window:
                        shown["lr"] = opt.schedulers[opt.names[0]].get_last_lr()[0]
                        logger.log(step, "train", shown, epoch=state.epoch, elapsed_s=round(self.clock() - t_start, 3))
                        window = {}
                    if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.max_steps:
                        last_val = self._validate(model, data, device, opt.amp_dtype)
                        stopped_early = self._after_validation(model, last_val, state, logger, progress, device)
                    # No checkpoint inside a run of non-finite losses: the last one written stays the last good one.
                    due = cfg.ckpt_every and step % cfg.ckpt_every == 0 and step < cfg.max_steps
                    if due and not stopped_early and state.streak == 0:
                        self._checkpoint(opt, state)
                    if dist_util.broadcast_flag(signals.received is not None, self.dist, device):
                        self._stop_on_signal(opt, state, signals.received, progress)
                    if cfg.max_time_s is not None and not stopped_early:
                        # every rank asks every step and rank 0's clock decides, so all stop at the same step
                        over = self.clock() - t_start >= cfg.max_time_s
                        if dist_util.broadcast_flag(over, self.dist, device):
                            stopped_early, out_of_time = True, True
                            progress.message(f"step {step}: wall-clock budget of {cfg.max_time_s:g}s reached")
                    if stopped_early:
                        break
                if state.step < cfg.max_steps and not stopped_early:
                    state.epoch += 1
                    state.pos = 0
            if (out_of_time or not stopped_early) and data.split_size("val") > 0:
                last_val = self._validate(model, data, device, opt.amp_dtype)
                self._after_validation(model, last_val, state, logger, progress, device)
            if state.streak:
                self._end_in_nonfinite_streak(state)
            self._checkpoint(opt, state)
            self._finish(model)
        finally:
            signals.__exit__()
            progress.close()
            logger.close()
            dist_util.barrier(self.dist)
        progress.message(
            f"done: {state.step} steps in {self.clock() - t_start:.1f}s"
            + (f"; {', '.join(f'{k} {v:.4g}' for k, v in last_val.items() if k.count('/') == 1)}" if last_val else "")
            + f"; run folder {self.run_dir}"
        )
        return TrainResult(self.run_dir, state.step, state.skipped, stopped_early and not out_of_time,
                           state.best, last_val, out_of_time)

    # ------------------------------------------------------------------------------------------------------------
    def _lr_lambda(self, step: int) -> float:
        """Multiplier of the base lr after ``step`` optimizer steps: linear warm-up, then the chosen decay."""
        return lr_multiplier(step, self.cfg.warmup_steps, self.cfg.max_steps, self.cfg.lr_decay, self.cfg.lr_final)

    def _epoch_batches(self, data: DataModule, epoch: int) -> list[list[int]]:
        batches = data.batches("train", self.cfg.batch_size, epoch=epoch, seed=self.cfg.seed)
        if self.dist.enabled and hasattr(batches, "shard"):
            # streamed data: each rank reads its own windows of the split, equal in batches
            batches = batches.shard(self.dist.rank, self.dist.world_size)
        elif self.dist.enabled:
            # Every rank takes an equal share so that all of them step the same number of times.
            per_rank = len(batches) // self.dist.world_size
            batches = batches[self.dist.rank :: self.dist.world_size][:per_rank]
        if len(batches) < self.cfg.grad_accum:
            raise TrainingError(
                f"the training split gives {len(batches)} batch(es) per epoch"
                + (" per process" if self.dist.enabled else "")
                + f", fewer than train.grad_accum={self.cfg.grad_accum}: lower train.batch_size or train.grad_accum"
            )
        return batches

    def _optimizer_step(self, opt: Optimization, data: DataModule, micro: list[list[int]], state: LoopState
                        ) -> tuple[dict[str, float], bool]:
        """One step of every optimizer, in the model's order, over the micro-batches ``micro``. Returns the step's
        metrics and whether its loss was finite (a non-finite step changes no weight)."""
        cfg, device, scaler, names = self.cfg, opt.device, opt.scaler, opt.names
        metrics: dict[str, float] = {}
        for name in names:
            optimizer = opt.optimizers[name]
            opt.model.zero_grad(set_to_none=True)
            loss_sum = torch.zeros((), device=device)
            extra: dict[str, float] = {}
            for i, indices in enumerate(micro):
                batch = to_device(data.get_batch("train", indices), device)
                ctx = StepContext(state.step, cfg.max_steps, state.epoch, name, True)
                # Under DDP, gradients are averaged across ranks only on the last micro-batch.
                sync = opt.wrapped.no_sync() if self.dist.enabled and i < len(micro) - 1 else contextlib.nullcontext()
                with sync, torch.autocast(device.type, dtype=opt.amp_dtype or torch.float32,
                                          enabled=opt.amp_dtype is not None):
                    out = opt.wrapped(batch, ctx)
                loss = out.loss.float() / len(micro)
                scaler.scale(loss).backward()
                loss_sum += loss.detach()
                for k, v in out.metrics.items():
                    extra[k] = extra.get(k, 0.0) + float(v) / len(micro)
            loss_val = dist_util.all_reduce_mean(loss_sum, self.dist)
            if not torch.isfinite(loss_val):
                opt.model.zero_grad(set_to_none=True)
                scaler.update()
                return {}, False
            # Gradients are unscaled before clipping so that clip_norm is in the units of the true gradient.
            scaler.unscale_(optimizer)
            params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
            if cfg.clip_norm is not None and params:
                norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm)
                if torch.isfinite(norm):  # fp16: GradScaler skips this step itself; an inf norm is not a metric
                    metrics["grad_norm" if len(names) == 1 else f"grad_norm/{name}"] = float(norm)
            scaler.step(optimizer)
            with warnings.catch_warnings():
                # With fp16, GradScaler skips steps whose gradients overflowed; the schedule still advances, which
                # is what we want, but torch warns that the optimizer did not step first.
                warnings.simplefilter("ignore", UserWarning)
                opt.schedulers[name].step()
            metrics["loss" if len(names) == 1 else f"loss/{name}"] = float(loss_val)
            metrics.update(extra)
        scaler.update()
        return metrics, True

    @torch.no_grad()
    def _validate(self, model: SentaeModel, data: DataModule, device: torch.device, amp_dtype: torch.dtype | None) -> dict[str, float]:
        """The model's ``evaluate`` over the val split, prefixed ``val/``.

        Runs inside ``fork_rng`` with a fixed seed: stochastic models give repeatable numbers, and the training
        RNG stream is untouched, so a resumed run does not depend on when validation happened."""
        if data.split_size("val") == 0:
            return {}

        def batches():
            for indices in data.batches("val", self.cfg.batch_size, shuffle=False):
                yield to_device(data.get_batch("val", indices), device)

        model.eval()
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.cfg.seed + 7919)
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                metrics = model.evaluate(batches())
        model.train()
        return {f"val/{k}": float(v) for k, v in metrics.items()}

    def _after_validation(self, model, val, state: LoopState, logger, progress, device) -> bool:
        """Log validation, track the best value, decide early stopping (rank 0 decides for all)."""
        cfg = self.cfg
        logger.log(state.step, "val", val)
        summary = {k: v for k, v in val.items() if k.count("/") == 1}  # per-dimension values go to metrics.jsonl only
        progress.message(f"step {state.step} validation: " + ", ".join(f"{k} {v:.4g}" for k, v in summary.items()))
        stop = False
        if cfg.early_stop_metric:
            if cfg.early_stop_metric not in val:
                raise TrainingError(
                    f"train.early_stop_metric '{cfg.early_stop_metric}' is not a validation metric of this model "
                    f"(available: {', '.join(sorted(val))})"
                )
            value = val[cfg.early_stop_metric]
            best = state.best
            improved = best is None or (value < best if cfg.early_stop_mode == "min" else value > best)
            if improved and math.isfinite(value):
                state.best, state.bad_evals = value, 0
                if self.dist.is_main:
                    save_weights(model, self.run.file(BEST_WEIGHTS))
            else:
                state.bad_evals += 1
            if cfg.early_stop_patience is not None and state.bad_evals >= cfg.early_stop_patience:
                stop = True
                progress.message(
                    f"early stop at step {state.step}: {cfg.early_stop_metric} did not improve for "
                    f"{state.bad_evals} validations (best {state.best:.4g})"
                )
        return dist_util.broadcast_flag(stop, self.dist, device)

    # ------------------------------------------------------------------------------------------------------------
    def _checkpoint(self, opt: Optimization, state: LoopState) -> None:
        if self.dist.is_main:
            ckpt.write_checkpoint(self.run, state.step, opt.model, trainer_state(opt, state, self.cfg), self.cfg.keep_last)
        dist_util.barrier(self.dist)

    def _stop_on_signal(self, opt: Optimization, state: LoopState, signum: int | None, progress) -> None:
        """After a signal: checkpoint the step just finished (not inside a run of non-finite losses, whose last
        good checkpoint stays the newest) and stop with a line that says how to resume."""
        name = signal.Signals(signum).name if signum is not None else "a signal on another process"
        if state.streak == 0:
            self._checkpoint(opt, state)
            where = f"checkpoint {self.run.checkpoint(state.step)} written"
        else:
            done = self.run.checkpoints()
            where = f"the last good checkpoint is {done[-1]}" if done else "no good checkpoint exists yet"
        progress.message(f"step {state.step}: {name} received; {where}")
        raise TrainingInterrupted(
            f"training stopped by {name} at step {state.step}: {where}; continue it with the same command and "
            f"--resume (same --out {self.run_dir})",
            128 + (signum or signal.SIGTERM),
        )

    def _end_in_nonfinite_streak(self, state: LoopState) -> None:
        """The budget ran out during non-finite losses: the weights are not to be trusted. The run's model becomes
        the last good checkpoint's, and training fails."""
        done = self.run.checkpoints()
        if self.dist.is_main and done:
            atomic_copy(done[-1] / WEIGHTS, self.run.file(WEIGHTS))
            atomic_copy(done[-1] / TRAINER_STATE, self.run.file(TRAINER_STATE))
        kept = f"the run's model is the last good checkpoint, {done[-1]}" if done else "no good checkpoint exists"
        raise TrainingError(
            f"training ended at step {state.step} during {state.streak} non-finite losses in a row: {kept}. "
            f"{self._divergence_advice()}"
        )

    def _divergence_advice(self) -> str:
        """What to change after non-finite losses, said the same way wherever training stops on them."""
        return "Lower train.lr or set train.clip_norm" + (
            " or use train.precision=fp32" if self.cfg.precision != "fp32" else "")

    def _finish(self, model: SentaeModel) -> None:
        """Root of the run folder: final (or best) weights and the last trainer state."""
        if not self.dist.is_main:
            return
        best = self.run.file(BEST_WEIGHTS)
        if self.cfg.early_stop_metric and best.exists():
            atomic_copy(best, self.run.file(WEIGHTS))
        else:
            save_weights(model, self.run.file(WEIGHTS))
        atomic_copy(self.run.checkpoints()[-1] / TRAINER_STATE, self.run.file(TRAINER_STATE))

    def _nonfinite_message(self, step: int, streak: int) -> str:
        done = self.run.checkpoints()
        where = f"the last good checkpoint is {done[-1]}" if done else "no checkpoint had been written yet"
        return (
            f"training stopped at step {step}: the loss was non-finite for {streak} steps in a row "
            f"(train.max_nonfinite={self.cfg.max_nonfinite}); {where}. {self._divergence_advice()}"
        )

"""What a checkpoint holds beyond the weights, and how ``--resume`` puts it back: the loop's position, every
optimizer's and scheduler's state, the fp16 loss scaler, the random generators and the train config it ran with.
Apart from the Trainer so that exact resume reads as one pair of functions, save and restore."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..errors import CheckpointError
from ..run import CHECKPOINTS, TRAINER_STATE, WEIGHTS, RunFolder
from ..weights import load_weights
from . import checkpoint as ckpt
from .config import TrainConfig
from .loop_state import LoopState, Optimization, resume_changes


def trainer_state(opt: Optimization, state: LoopState, cfg: TrainConfig) -> dict[str, Any]:
    """Everything but the weights that a resumed run needs to take exactly the steps an uninterrupted one would."""
    return {
        **state.to_dict(),
        "optimizers": {n: o.state_dict() for n, o in opt.optimizers.items()},
        "schedulers": {n: s.state_dict() for n, s in opt.schedulers.items()},
        "scaler": opt.scaler.state_dict(),
        "rng": ckpt.rng_state(),
        "train_config": asdict(cfg),
    }


def restore_latest(run: RunFolder, opt: Optimization, cfg: TrainConfig) -> tuple[LoopState, dict[str, tuple]]:
    """Load the newest checkpoint into ``opt`` (weights, optimizers, schedulers, scaler, random state). Returns the
    loop state to continue from and the train.* changes the resume honours (refusing those it cannot)."""
    checkpoints = run.checkpoints()
    if not checkpoints:
        raise CheckpointError(f"--resume: no checkpoint in {run.file(CHECKPOINTS)} to resume from")
    latest = checkpoints[-1]
    try:
        load_weights(opt.model, latest / WEIGHTS, opt.device)
        saved = ckpt.load_state(latest / TRAINER_STATE)
    except CheckpointError as exc:
        intact = next((c for c in reversed(checkpoints[:-1]) if ckpt.is_readable(c)), None)
        if intact is not None:
            hint = f"; {intact} reads correctly (checked): move {latest} aside to resume from it"
        else:
            hint = "; no earlier checkpoint reads correctly either" if len(checkpoints) > 1 else ""
        raise CheckpointError(f"{exc}{hint}") from None
    for n, o in opt.optimizers.items():
        if n not in saved["optimizers"]:
            raise CheckpointError(f"{latest}: no state for optimizer '{n}' (saved: {', '.join(saved['optimizers'])})")
        o.load_state_dict(saved["optimizers"][n])
    for n, s in opt.schedulers.items():
        s.load_state_dict(saved["schedulers"][n])
    opt.scaler.load_state_dict(saved["scaler"])
    ckpt.set_rng_state(saved["rng"])
    changes = resume_changes(saved.get("train_config") or {}, asdict(cfg), latest)
    return LoopState.from_dict(saved), changes

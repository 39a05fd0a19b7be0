"""Training: the Trainer loop, checkpoints and torch.distributed support."""
from .trainer import Trainer, TrainResult

__all__ = ["Trainer", "TrainResult"]

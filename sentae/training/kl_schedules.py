"""KL weight schedules for VAEs: constant beta, linear, sigmoid (Bowman et al. 2016) and cyclical (Fu et al. 2019).

Each maps the optimizer step to a weight in [0, beta]. They are plain functions of (step, total_steps) so a
resumed run gets exactly the weight an uninterrupted run would have had.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass
class KLSchedule:
    kind: Literal["constant", "linear", "sigmoid", "cyclical"] = "constant"  # shape of the schedule
    beta: float = 1.0  # final (maximum) weight of the KL term
    warmup_steps: int = 10000  # linear: steps from 0 to beta; sigmoid: steps to the midpoint x2
    sigmoid_slope: float = 0.0025  # sigmoid: steepness k in beta / (1 + exp(-k (step - warmup_steps/2)))
    cycles: int = 4  # cyclical: number of cycles M over the run
    ramp_ratio: float = 0.5  # cyclical: share R of each cycle spent increasing the weight

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "linear", "sigmoid", "cyclical"):
            raise ValueError(f"kind must be constant, linear, sigmoid or cyclical, got {self.kind!r}")
        if self.beta < 0 or self.warmup_steps < 0 or self.sigmoid_slope <= 0:
            raise ValueError("beta and warmup_steps must not be negative, sigmoid_slope must be positive")
        if self.cycles < 1 or not 0 < self.ramp_ratio <= 1:
            raise ValueError(f"cycles must be >= 1 and ramp_ratio in (0, 1], got {self.cycles}, {self.ramp_ratio}")

    def weight(self, step: int, total_steps: int) -> float:
        if self.kind == "constant":
            return self.beta
        if self.kind == "linear":
            return self.beta * min(1.0, step / max(self.warmup_steps, 1))
        if self.kind == "sigmoid":
            x = -self.sigmoid_slope * (step - self.warmup_steps / 2)
            return self.beta / (1.0 + math.exp(min(x, 700.0)))
        if self.kind == "cyclical":
            period = max(total_steps / max(self.cycles, 1), 1.0)
            tau = (step % period) / period  # position inside the current cycle, in [0, 1)
            return self.beta * min(1.0, tau / self.ramp_ratio)
        raise ValueError(f"unknown KL schedule kind '{self.kind}'")

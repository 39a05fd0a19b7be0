"""KL weight schedules for VAEs: constant beta, linear, sigmoid (Bowman et al. 2016) and cyclical (Fu et al. 2019).

Each maps the optimizer step to a weight in [0, beta]. They are plain functions of (step, total_steps) so a
resumed run gets exactly the weight an uninterrupted run would have had.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from ..schema import Range, check_declared_ranges


@dataclass
class KLSchedule:
    kind: Literal["constant", "linear", "sigmoid", "cyclical"] = "constant"  # shape of the schedule
    beta: Annotated[float, Range(0)] = 1.0  # final (maximum) weight of the KL term
    warmup_steps: Annotated[int, Range(0)] = 10000  # linear: steps from 0 to beta; sigmoid: steps to the midpoint x2
    sigmoid_slope: Annotated[float, Range(0, low_open=True)] = 0.0025  # sigmoid: steepness k in beta / (1 + exp(-k (step - warmup_steps/2)))
    cycles: Annotated[int, Range(1)] = 4  # cyclical: number of cycles M over the run
    ramp_ratio: Annotated[float, Range(0, 1, low_open=True)] = 0.5  # cyclical: share R of each cycle spent increasing the weight

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "linear", "sigmoid", "cyclical"):
            raise ValueError(f"kind must be constant, linear, sigmoid or cyclical, got {self.kind!r}")
        check_declared_ranges(self)

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

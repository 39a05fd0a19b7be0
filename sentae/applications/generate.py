"""Image generation beyond prior samples: decoding along the straight line between two images' codes."""
from __future__ import annotations

import torch

from ..errors import SentaeError

MAX_STEPS = 10_000


@torch.no_grad()
def interpolate_images(model, a: torch.Tensor, b: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """``steps`` images ``(steps, C, H, W)`` decoded from ``(1 - t) code(a) + t code(b)``, t from 0 to 1 (both ends
    included); codes are posterior means for a VAE. ``a`` and ``b`` are single images ``(C, H, W)``."""
    if not 2 <= steps <= MAX_STEPS:
        raise SentaeError(f"interpolate: steps must be in 2..{MAX_STEPS:,}, got {steps}")
    model.eval()
    device = next(model.parameters()).device
    codes = model.encode(torch.stack([a, b]).to(device))
    t = torch.linspace(0, 1, steps, device=device).unsqueeze(1)
    path = (1 - t) * codes[0] + t * codes[1]
    return torch.sigmoid(model.decode_logits(path)).cpu()

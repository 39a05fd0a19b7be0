"""L2-regularised binary logistic regression, fitted exactly (a convex problem) with torch's L-BFGS in float64.

The objective is scikit-learn's ``LogisticRegression(C=C, class_weight="balanced")`` with the lbfgs solver::

    0.5 * |w|^2 + C * sum_i s_i * log(1 + exp(-t_i (w . x_i + b))),   t_i = +-1, s_i = n / (2 n_class(i))

(the intercept is not penalised), so the codes' directions need no scikit-learn in a text-only install.

>>> import numpy as np
>>> w, b = fit_logistic(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]), C=10.0)
>>> bool(w[0] > 0 and -w[0] * 1.5 - 1e-6 < b < -w[0] * 1.5 + 1e-6)
True
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["fit_logistic"]


def fit_logistic(x: np.ndarray, y: np.ndarray, C: float = 1.0, balanced: bool = True,
                 max_iter: int = 5000) -> tuple[np.ndarray, float]:
    """Weights ``[D]`` and intercept of the logistic regression of ``y`` (0/1) on ``x [N, D]``."""
    xs = torch.as_tensor(np.asarray(x, dtype=np.float64))
    ys = torch.as_tensor(np.asarray(y, dtype=np.float64))
    if xs.ndim != 2 or ys.shape != (xs.shape[0],) or not bool(((ys == 0) | (ys == 1)).all()):
        raise ValueError("fit_logistic: x must be [N, D] and y [N] of 0/1 labels")
    n_pos = float(ys.sum())
    n = xs.shape[0]
    if n_pos in (0.0, float(n)):
        raise ValueError("fit_logistic: both classes need examples")
    if balanced:
        weights = torch.where(ys > 0, n / (2 * n_pos), n / (2 * (n - n_pos)))
    else:
        weights = torch.ones_like(ys)
    signs = 2 * ys - 1
    w = torch.zeros(xs.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=max_iter, tolerance_grad=1e-10, tolerance_change=1e-14,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        margins = signs * (xs @ w + b)
        loss = 0.5 * (w * w).sum() + C * (weights * torch.nn.functional.softplus(-margins)).sum()
        loss.backward()
        return loss

    with torch.enable_grad():  # callers often run under no_grad (sampling, transfer)
        opt.step(closure)
    return w.detach().numpy().copy(), float(b.detach())

"""Figures of a text run's report: the latent map, KL and variance per dimension, and the collapse diagnostics over
training read from ``metrics.jsonl``.

Drawn on matplotlib ``Figure`` objects with the Agg canvas (no pyplot state, no display); matplotlib is imported
inside the functions (``pip install 'sentae[plots]'``), and ``have_matplotlib`` says whether they can run: the
numbers of a report never depend on it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..io import atomic_write_with

UNLABELLED = "?"  # the value shown for a sentence without a label of the attribute
GREY = (0.75, 0.75, 0.75, 0.5)


def have_matplotlib() -> bool:
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def have_umap() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110)


def _save(fig, path: str | Path) -> Path:
    # through a hidden temporary name and a rename: a reader never sees half a figure
    return atomic_write_with(Path(path), lambda tmp: fig.savefig(tmp, format="png"))


def pca_2d(points: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """The first two principal components of ``points`` ``[N, D]`` (centred SVD) and the share of the variance
    each explains. Where there are fewer than two components (a 1-d code, or a single point) the missing one is
    zeros with no share of the variance."""
    x = np.asarray(points, dtype=np.float64)
    x = x - x.mean(0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    total = float((s ** 2).sum()) or 1.0
    xy, shares = x @ vt[:2].T, [float(v) / total for v in s[:2] ** 2]
    missing = 2 - xy.shape[1]
    return np.pad(xy, ((0, 0), (0, missing))), shares + [0.0] * missing


def umap_2d(points: np.ndarray, seed: int = 0) -> np.ndarray:
    import umap

    neighbours = max(2, min(15, len(points) - 1))
    return umap.UMAP(n_components=2, n_neighbors=neighbours, random_state=seed).fit_transform(np.asarray(points))


def latent_map(xy: np.ndarray, labels: Mapping[str, Sequence[str]], path: str | Path, axis: Sequence[str],
               title: str, orders: Mapping[str, Sequence[str]] | None = None) -> Path:
    """One scatter panel per attribute (``labels``: name -> a value per point; no attribute: one grey panel);
    ``orders``: each attribute's values in the order of its legend (default: sorted)."""
    from matplotlib import colormaps

    panels = list(labels.items()) or [("", [])]
    fig = _figure(4.4 * len(panels), 4.3)
    axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)[0])
    size = 10 if len(xy) <= 500 else 4
    for ax, (name, values) in zip(axes, panels):
        if not name:
            ax.scatter(xy[:, 0], xy[:, 1], s=size, alpha=0.6, color="tab:blue", linewidths=0)
        else:
            values = np.asarray(values, dtype=object)
            kinds = [v for v in dict.fromkeys(values.tolist()) if v != UNLABELLED]
            cmap = colormaps["tab10"]
            if UNLABELLED in values:  # unlabelled first, underneath
                sel = values == UNLABELLED
                ax.scatter(xy[sel, 0], xy[sel, 1], s=size, color=GREY, linewidths=0, label="unlabelled")
            order = list((orders or {}).get(name, ()))
            for i, v in enumerate(sorted(kinds, key=lambda v: (order.index(v) if v in order else len(order), v))):
                sel = values == v
                ax.scatter(xy[sel, 0], xy[sel, 1], s=size, alpha=0.7, color=cmap(i % cmap.N), linewidths=0,
                           label=f"{v} ({int(sel.sum())})")
            ax.legend(markerscale=2, fontsize=7, loc="best", frameon=False)
            ax.set_title(f"coloured by {name}", fontsize=9)
        ax.set_xlabel(axis[0], fontsize=8)
        ax.set_ylabel(axis[1], fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def kl_per_dimension(kl: Sequence[float] | None, variance: Sequence[float], delta: float, path: str | Path,
                     title: str) -> Path:
    """Bars of KL(q(z_d|x) || N(0, 1)) per dimension (when the encoder is stochastic) and of Var_x(E[z_d|x]) on a
    log scale with the active-unit threshold ``delta``."""
    var = np.maximum(np.asarray(variance, dtype=np.float64), 1e-8)
    panels = 2 if kl is not None else 1
    fig = _figure(max(4.5, 0.32 * len(var) + 1.5) * panels * 0.75 + 1, 3.4)
    axes = np.atleast_1d(fig.subplots(1, panels, squeeze=False)[0])
    dims = np.arange(len(var))
    if kl is not None:
        axes[0].bar(dims, np.asarray(kl, dtype=np.float64), color="tab:blue")
        axes[0].set_ylabel("KL, nats per sentence", fontsize=8)
        axes[0].set_title("KL per dimension", fontsize=9)
    ax = axes[-1]
    ax.bar(dims, var, color=["tab:green" if v > delta else "tab:red" for v in var])
    ax.axhline(delta, color="black", lw=0.8, ls="--", label=f"active-unit threshold {delta:g}")
    ax.set_yscale("log")
    ax.set_ylabel("Var over sentences of the posterior mean", fontsize=8)
    ax.set_title(f"active units: {int((var > delta).sum())} of {len(var)}", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    for a in axes:
        a.set_xlabel("latent dimension", fontsize=8)
        a.set_xticks(dims if len(dims) <= 32 else dims[:: max(1, len(dims) // 16)])
        a.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def training_curves(series: Mapping[str, tuple[list[int], list[float]]], kl_dims: tuple[list[int], np.ndarray] | None,
                    path: str | Path, title: str) -> Path | None:
    """KL (and MI) in nats, and active units, against the optimizer step; a heat map of the validation KL per
    dimension when the run logged it. ``series``: name -> (steps, values). None when there is nothing to draw."""
    nats = {k: v for k, v in series.items() if k != "val/active_units"}
    au = series.get("val/active_units")
    panels = [p for p in (nats or None, au, kl_dims) if p is not None]
    if not panels:
        return None
    fig = _figure(4.4 * len(panels), 3.5)
    axes = list(np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)[0]))
    if nats:
        ax = axes.pop(0)
        for name, (steps, values) in nats.items():
            ax.plot(steps, values, marker="o" if name.startswith("val/") else None, ms=3, lw=1, label=name)
        ax.set_ylabel("nats per sentence", fontsize=8)
        ax.set_title("KL (and MI) over training", fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    if au is not None:
        ax = axes.pop(0)
        ax.plot(au[0], au[1], marker="o", ms=3, lw=1, color="tab:green")
        ax.set_ylabel("active units (val split)", fontsize=8)
        ax.set_title("active units over training", fontsize=9)
    if kl_dims is not None:
        ax = axes.pop(0)
        steps, grid = kl_dims
        im = ax.imshow(grid.T, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest",
                       extent=(steps[0] - 0.5, steps[-1] + 0.5, -0.5, grid.shape[1] - 0.5))
        ax.set_ylabel("latent dimension", fontsize=8)
        ax.set_title("val KL per dimension, nats", fontsize=9)
        fig.colorbar(im, ax=ax)
    for a in fig.axes[: len(panels)]:
        a.set_xlabel("optimizer step", fontsize=8)
        a.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)

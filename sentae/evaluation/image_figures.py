"""Figures for image models: reconstruction grids, code-space scatter coloured by label, first-layer (RBM) filters.

Drawn on matplotlib ``Figure`` objects with the Agg canvas (no pyplot state, no display needed); matplotlib is
imported inside the functions (``pip install 'sentae[plots]'``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        from ..errors import SentaeError

        raise SentaeError("figures need matplotlib: pip install 'sentae[plots]'") from None
    return Figure(figsize=(width, height), dpi=110)


def _as_hwc(img: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` -> what imshow takes: ``(H, W)`` for one channel, ``(H, W, 3)`` for colour."""
    return img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))


def image_rows(rows: Mapping[str, torch.Tensor | np.ndarray], path: str | Path, n: int = 10, title: str = "") -> Path:
    """A grid with one labelled row per entry of ``rows`` (e.g. original / model / PCA) and ``n`` columns."""
    rows = {k: np.clip(np.asarray(v, dtype=np.float32)[:n], 0, 1) for k, v in rows.items()}
    n = min(n, *(len(v) for v in rows.values()))
    fig = _figure(1.0 * n + 1.2, 1.05 * len(rows) + (0.4 if title else 0))
    axes = np.atleast_2d(fig.subplots(len(rows), n, squeeze=False))
    for r, (label, imgs) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(_as_hwc(imgs[c]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.12, right=0.99, bottom=0.02, top=0.88 if title else 0.98, wspace=0.05, hspace=0.08)
    return _save(fig, path)


def project_2d(codes: np.ndarray) -> tuple[np.ndarray, str]:
    """The codes themselves when 2-d, else their first two principal components (centred SVD)."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] <= 2:
        return np.pad(codes, ((0, 0), (0, 2 - codes.shape[1]))), "code"
    centred = codes - codes.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, "PC"


def code_scatter(codes: torch.Tensor | np.ndarray, labels: Sequence[int] | np.ndarray, path: str | Path, title: str = "",
                 max_points: int = 3000, seed: int = 0) -> Path:
    """Codes in 2-d (principal components of the codes when they have more dimensions), coloured by label."""
    codes, labels = np.asarray(codes), np.asarray(labels)
    if len(codes) > max_points:
        keep = np.random.default_rng(seed).choice(len(codes), max_points, replace=False)
        codes, labels = codes[keep], labels[keep]
    xy, axis = project_2d(codes)
    fig = _figure(5.2, 4.6)
    ax = fig.subplots()
    classes = np.unique(labels)
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    for i, k in enumerate(classes):
        sel = labels == k
        ax.scatter(xy[sel, 0], xy[sel, 1], s=4, alpha=0.6, color=cmap(i % cmap.N), label=str(k) if k >= 0 else "?")
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    if len(classes) > 1:
        ax.legend(markerscale=3, fontsize=7, loc="best", ncol=2, frameon=False)
    ax.set_title(title or f"codes ({codes.shape[1]}-d), {len(codes)} images", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def filter_grid(weights: torch.Tensor | np.ndarray, image_shape: Sequence[int], path: str | Path, n: int = 64,
                title: str = "") -> Path:
    """The first ``n`` rows of a ``(units, pixels)`` weight matrix drawn as images (grey = 0), each on its own scale."""
    w = np.asarray(weights, dtype=np.float32)[:n]
    cols = int(np.ceil(np.sqrt(len(w))))
    rows = int(np.ceil(len(w) / cols))
    fig = _figure(0.75 * cols, 0.75 * rows + (0.4 if title else 0))
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= len(w):
            continue
        img = w[i].reshape(image_shape)
        # symmetric around zero (mid-grey), scaled by a high percentile: weights of pixels that are almost never
        # on (image borders) are unconstrained and would otherwise set the whole scale
        scale = np.percentile(np.abs(img), 99)
        img = np.clip(0.5 + 0.5 * img / scale, 0, 1) if scale > 0 else np.full_like(img, 0.5)
        ax.imshow(_as_hwc(img), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.9 if title else 0.99, wspace=0.06, hspace=0.06)
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    tmp.replace(path)  # atomic: a reader never sees half a figure
    return path


NO_PLOTS = "figures skipped: matplotlib is not installed (pip install 'sentae[plots]' to draw them)"


def have_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def write_image_report(out_dir: str | Path, model, report: dict[str, Any], arrays: dict[str, Any], text: str) -> list[str]:
    """Write a run's ``report/``: reconstructions, code scatter, first-layer filters, and a markdown summary. The
    numbers never need matplotlib: without it the summary and JSON are written and the figures are skipped, with a
    line saying so (in the summary and in ``report["report_note"]``)."""
    from ..io import atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    split = report["split"]
    written: list[Path] = []
    if have_matplotlib():
        rows = {"original": arrays["images"], model.name: arrays["recons"]}
        if "pca_recons" in arrays:
            rows[f"PCA-{report.get('pca_components')}"] = arrays["pca_recons"]
        written.append(image_rows(rows, out / "reconstructions.png", title=f"{split} split: inputs and reconstructions"))
        labels = arrays["labels"].numpy()
        written.append(code_scatter(arrays["codes"].numpy(), labels, out / "codes.png",
                                    title=f"{model.name} codes ({report['code_size']}-d), {split} split"))
        weights = model.filters() if hasattr(model, "filters") else None
        shape = tuple(model.data_info.image_shape)
        if weights is not None and weights.shape[-1] == int(np.prod(shape)):
            written.append(filter_grid(weights.float().cpu().numpy(), shape, out / "filters.png",
                                       title=f"{model.name}: first-layer filters"))
    else:
        report["report_note"] = NO_PLOTS
    lines = [f"# Evaluation of `{model.name}`", "", "```text", text, "```", ""]
    lines += [f"![{p.stem}]({p.name})" for p in written] or [NO_PLOTS]
    md = out / "image_eval.md"
    atomic_write_text(md, "\n".join(lines) + "\n")
    atomic_write_text(out / "image_eval.json",
                      json.dumps({k: v for k, v in report.items() if k != "report_files"}, indent=2))
    return [str(p) for p in [*written, md, out / "image_eval.json"]]

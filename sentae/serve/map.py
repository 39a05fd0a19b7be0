"""The latent map of the explorer page: held-out sentences of the run placed by the first two principal components
of their posterior means, and any typed sentence projected with the same components."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SentaeError

MAP_SENTENCES = 300  # held-out sentences on the map: enough to see clusters, few enough to encode in seconds


@dataclass
class Pca:
    """Two principal axes of a set of codes: ``project(z)`` gives their coordinates ``[N, 2]``."""

    mean: np.ndarray  # [D] the codes' mean
    axes: np.ndarray  # [2, D] unit rows; a second row of zeros when the codes have one dimension
    explained: list[float]  # share of the codes' variance along each axis, in [0, 1]

    @classmethod
    def fit(cls, codes: np.ndarray) -> "Pca":
        codes = np.asarray(codes, dtype=np.float64)
        if codes.ndim != 2 or len(codes) < 2:
            raise SentaeError(f"a map needs at least 2 codes, got {len(codes)}")
        mean = codes.mean(axis=0)
        # SVD of the centred codes: its right singular vectors are the principal axes, without forming the
        # covariance matrix (and without scikit-learn)
        _, s, vt = np.linalg.svd(codes - mean, full_matrices=False)
        axes = np.zeros((2, codes.shape[1]))
        k = min(2, len(vt))
        axes[:k] = vt[:k]
        # An SVD's signs are arbitrary; fixing them (largest loading positive) keeps the picture from flipping
        # between runs of the same codes.
        for i in range(k):
            if axes[i, np.argmax(np.abs(axes[i]))] < 0:
                axes[i] = -axes[i]
        var = s**2
        total = float(var.sum())
        explained = [float(var[i] / total) if total > 0 and i < len(var) else 0.0 for i in range(2)]
        return cls(mean, axes, explained)

    def project(self, codes: np.ndarray) -> np.ndarray:
        return (np.asarray(codes, dtype=np.float64) - self.mean) @ self.axes.T


@dataclass
class LatentMap:
    """What ``GET /api/map`` sends: the points, their labels and the split they come from; or why there is no map."""

    available: bool
    reason: str = ""  # why there is no map (shown on the page instead)
    split: str = ""  # the held-out split the sentences come from
    points: list[dict[str, Any]] = field(default_factory=list)  # {"x", "y", "text", "labels": {attr: value}}
    attributes: dict[str, list[str]] = field(default_factory=dict)  # labelled attributes: name -> values
    explained: list[float] = field(default_factory=list)
    pca: Pca | None = None

    def to_json(self) -> dict[str, Any]:
        return {"available": self.available, "reason": self.reason, "split": self.split, "points": self.points,
                "attributes": self.attributes, "explained_variance": self.explained}

    def place(self, sampler, text: str) -> dict[str, float]:
        """The typed sentence's coordinates on the map (its posterior mean, projected like the points)."""
        if self.pca is None:
            raise SentaeError(f"no latent map: {self.reason}")
        x, y = self.pca.project(sampler.encode([text]).cpu().numpy())[0]
        return {"x": float(x), "y": float(y)}


def build_map(sampler, n: int = MAP_SENTENCES, seed: int = 0) -> LatentMap:
    """The map of up to ``n`` sentences of the run's test split (its validation split without one), rebuilt from
    the run's config as ``sentae sample --grid`` finds its held-out sentences. A model without a latent code, or a
    run whose data cannot be rebuilt here, gets a map that says why; the rest of the page works without it."""
    from ..generation.held_out import held_out_texts

    if not sampler.has_latent:
        return LatentMap(False, f"model '{sampler.model.name}' has no latent code to map")
    try:
        split, pairs = held_out_texts(sampler.run_dir, n, seed)
    except (SentaeError, OSError) as exc:  # data moved or offline: say so, keep the other panels
        return LatentMap(False, f"the run's held-out sentences could not be rebuilt: {exc}")
    if len(pairs) < 2:
        return LatentMap(False, f"the run's {split} split has {len(pairs)} sentence(s); a map needs 2")
    texts = [t for t, _ in pairs]
    codes = sampler.encode_many(texts).cpu().numpy()
    pca = Pca.fit(codes)
    xy = pca.project(codes)
    values = sampler.info.attributes or {}
    seen = {a for _, labels in pairs for a in labels}
    attributes = {a: list(values[a]) for a in values if a in seen}
    points = [{"x": float(x), "y": float(y), "text": t, "labels": labels}
              for (x, y), (t, labels) in zip(xy.tolist(), pairs)]
    return LatentMap(True, split=split, points=points, attributes=attributes, explained=pca.explained, pca=pca)

"""Two-dimensional Gaussian mixtures: the datasets of the mode-collapse benchmark.

Layouts (where the constants come from: docs/sources.md section 1):
- ``ring``:  n modes evenly on a circle of radius 1, std 0.01 (PacGAN's 2D-ring for n = 8).
- ``grid``:  n modes on a near-square lattice of spacing 2 centred on the origin, std 0.05
             (PacGAN's 2D-grid {-4,-2,0,2,4}^2 for n = 25).
- ``blobs``: the tutorial's nine fixed centres (first n of them), sklearn ``make_blobs`` with
             cluster_std 0.5, then each axis divided by its max |x| and multiplied by 0.9.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LAYOUTS = ("ring", "grid", "blobs")
MIN_MODES, MAX_MODES = 2, 64
MAX_BLOBS = 9
DEFAULT_STD = {"ring": 0.01, "grid": 0.05, "blobs": 0.5}

# The tutorial's centres, in make_blobs units (before scaling).
BLOB_CENTERS = np.array(
    [[0, 0], [5, 5], [5, -5], [-5, 5], [-5, -5], [0, 5], [5, 0], [-5, 0], [0, -5]], dtype=np.float64
)


@dataclass(frozen=True)
class Mixture:
    """A drawn training set with what the metrics need to know about it."""

    layout: str
    points: np.ndarray   # (n_train, 2) float32 training points
    labels: np.ndarray   # (n_train,) int64 mode index of each point
    centers: np.ndarray  # (n_modes, 2) float64 true centres, in the units of `points`
    std: float           # per-axis standard deviation of each mode, in the units of `points`

    @property
    def n_modes(self) -> int:
        return len(self.centers)


def check_layout(layout: str, n_modes: int) -> None:
    """Raise ValueError naming what is wrong and what is allowed."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: choose from {', '.join(LAYOUTS)}")
    if not MIN_MODES <= n_modes <= MAX_MODES:
        raise ValueError(f"modes must be between {MIN_MODES} and {MAX_MODES}, got {n_modes}")
    if layout == "blobs" and n_modes > MAX_BLOBS:
        raise ValueError(f"the blobs layout has at most {MAX_BLOBS} modes, got {n_modes}")


def ring_centers(n_modes: int, radius: float = 1.0) -> np.ndarray:
    angles = 2 * math.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_centers(n_modes: int, spacing: float = 2.0) -> np.ndarray:
    """Fill a near-square lattice row by row: ceil(sqrt(n)) columns, centred on the origin."""
    cols = math.ceil(math.sqrt(n_modes))
    rows = math.ceil(n_modes / cols)
    idx = np.arange(n_modes)
    xy = np.stack([idx % cols, idx // cols], axis=1).astype(np.float64)
    xy -= [(cols - 1) / 2, (rows - 1) / 2]
    return spacing * xy


def make_mixture(layout: str, n_modes: int, seed: int, n_train: int = 10_000,
                 std: float | None = None, scale: float | None = None) -> Mixture:
    """Draw ``n_train`` points of a mixture with equal weights; the same seed gives the same points.
    ``scale`` multiplies the ring and grid centres (radius 1, spacing 2); ``std`` is the mode std after
    it (gan_toy.py's 8 Gaussians, say: scale 2 / 1.414, std 0.02 / 1.414)."""
    check_layout(layout, n_modes)
    std = DEFAULT_STD[layout] if std is None else float(std)
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    if layout == "blobs":
        if scale is not None:
            raise ValueError("the blobs layout has fixed centres: scale applies to ring and grid only")
        from sklearn.datasets import make_blobs

        centers = BLOB_CENTERS[:n_modes]
        points, labels = make_blobs(n_samples=n_train, centers=centers, cluster_std=std,
                                    random_state=seed)
        # The tutorial rescales each axis to [-0.9, 0.9]; centres and std follow the same map.
        scale = 0.9 / np.abs(points).max(axis=0)
        points, centers = points * scale, centers * scale
        # Both axes are rescaled separately; the mode std is their mean (they differ by < 1%).
        std = float(std * scale.mean())
    else:
        centers = ring_centers(n_modes) if layout == "ring" else grid_centers(n_modes)
        centers = centers * (1.0 if scale is None else float(scale))
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, n_modes, size=n_train)
        points = centers[labels] + std * rng.standard_normal((n_train, 2))
    return Mixture(layout=layout, points=points.astype(np.float32), labels=labels.astype(np.int64),
                   centers=np.asarray(centers, dtype=np.float64), std=std)

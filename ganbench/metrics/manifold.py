"""Precision / recall (Kynkaanniemi et al. 2019) and density / coverage (Naeem et al. 2020).

The radius r_k(x) of a point is the distance to its k-th nearest neighbour in its own set (itself
excluded). With real X (N points) and fake Y (M points):
  precision = share of fakes inside some real ball,   recall = share of reals inside some fake ball,
  density   = 1/(k M) sum_j sum_i 1[Y_j in B(X_i, r_k(X_i))],
  coverage  = 1/N sum_i 1[min_j d(X_i, Y_j) in B(0, r_k(X_i))].
"Inside" is ``d <= r`` in the improved precision/recall paper and torch-fidelity (``strict=False``)
and ``d < r`` in the ``prdc`` package (``strict=True``); both are offered, so each reference is matched
under its own convention.

Distances are computed in row chunks of bounded size (sklearn's ``pairwise_distances_chunked``), so
memory stays at a few hundred MB however large N and M are (50,000 x 50,000 needs no 20 GB matrix),
with the same answers as the full matrix.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise_distances_chunked

from ganbench.metrics._checks import as_features, check_k, check_same_width

WORKING_MEMORY_MB = 256  # the distance-matrix rows held at once (sklearn's working_memory)


def _row_chunks(a: np.ndarray, b: np.ndarray):
    """(first row, distance rows) chunks of the a x b Euclidean distance matrix: the same
    ``sklearn.metrics.pairwise_distances`` the prdc package uses, a bounded block at a time."""
    start = 0
    for d in pairwise_distances_chunked(a, b, metric="euclidean", working_memory=WORKING_MEMORY_MB):
        yield start, d
        start += len(d)


def kth_neighbour_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of x to its k-th nearest other row (index k of the sorted distances:
    index 0 is the point itself)."""
    return np.concatenate([np.partition(d, k, axis=1)[:, k] for _, d in _row_chunks(x, x)])


def _prdc_core(real, fake, k: int, strict: bool) -> dict:
    r = as_features(real, "real", min_rows=2)
    f = as_features(fake, "fake", min_rows=2)
    check_same_width(r, f)
    check_k(k, len(r), "real")
    check_k(k, len(f), "fake")
    r_real = kth_neighbour_radii(r, k)
    r_fake = kth_neighbour_radii(f, k)
    inside = np.less if strict else np.less_equal

    fake_in_real = np.zeros(len(f), dtype=bool)      # precision, per fake
    fake_ball_count = np.zeros(len(f), dtype=np.int64)  # density, per fake
    real_in_fake = np.zeros(len(r), dtype=bool)      # recall, per real
    real_covered = np.zeros(len(r), dtype=bool)      # coverage, per real
    for start, d in _row_chunks(r, f):              # d: [chunk of reals, M]
        rows = slice(start, start + len(d))
        in_real_ball = inside(d, r_real[rows, None])
        fake_in_real |= in_real_ball.any(0)
        fake_ball_count += in_real_ball.sum(0)
        real_in_fake[rows] = inside(d, r_fake[None, :]).any(1)
        real_covered[rows] = inside(d.min(1), r_real[rows])
    return {
        "precision": float(fake_in_real.mean()),
        "recall": float(real_in_fake.mean()),
        "density": float((1.0 / k) * fake_ball_count.mean()),  # the order prdc computes it in
        "coverage": float(real_covered.mean()),
    }


def precision_recall(real, fake, k: int = 3, strict: bool = False) -> dict:
    """Improved precision and recall (k = 3, ``d <= r`` as in the paper and torch-fidelity)."""
    out = _prdc_core(real, fake, k, strict)
    return {"precision": out["precision"], "recall": out["recall"]}


def density_coverage(real, fake, k: int = 5, strict: bool = True) -> dict:
    """Density and coverage (k = 5, ``d < r`` as in the prdc package)."""
    out = _prdc_core(real, fake, k, strict)
    return {"density": out["density"], "coverage": out["coverage"]}


def prdc(real, fake, k: int = 5, strict: bool = True) -> dict:
    """All four at once with one k, matching ``prdc.compute_prdc(real, fake, nearest_k=k)``."""
    return _prdc_core(real, fake, k, strict)

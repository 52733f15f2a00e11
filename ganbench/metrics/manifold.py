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

import sys
from typing import Sequence

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
    return _radii(x, [k])[k]


def _smallest_in_place(d: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """Per row of ``d``, its values at the sorted positions ``ks``: the same numbers as
    ``np.partition(d, ks, axis=1)[:, ks]`` (a selection, so exact), faster: one partition at the largest
    k, then a sort of the few values below it. This numpy path reorders each row of ``d`` (a distance
    chunk nothing else reads) instead of copying it.

    Where the process has already imported torch (the runner's workers), ``torch.topk`` makes the
    same selection, faster still; importing torch for it alone would cost ``ganbench metrics`` more
    than it saves (docs/perf_notes.md)."""
    top = max(ks)
    torch = sys.modules.get("torch")
    if torch is not None and d.dtype in (np.float32, np.float64) and d.flags.c_contiguous:
        head = torch.topk(torch.from_numpy(d), top + 1, dim=1, largest=False, sorted=True).values.numpy()
        return head[:, ks]
    d.partition(top, axis=1)
    head = d[:, :top + 1]
    head.sort(axis=1)
    return head[:, ks]


def _radii(x: np.ndarray, ks: Sequence[int]) -> dict[int, np.ndarray]:
    """{k: kth_neighbour_radii(x, k)} for every k in ``ks``, from one pass over the distances."""
    ks = sorted(set(ks))
    radii = np.concatenate([_smallest_in_place(d, ks) for _, d in _row_chunks(x, x)])
    return {k: radii[:, i] for i, k in enumerate(ks)}


def _prdc_core(real, fake, pr: tuple[int, bool] | None, dc: tuple[int, bool] | None) -> dict:
    """Precision / recall with ``pr`` = (k, strict) and density / coverage with ``dc`` = (k, strict),
    either None to skip it: one pass over each distance matrix serves both (a suite asks for PR at
    k = 3 and DC at k = 5)."""
    r = as_features(real, "real", min_rows=2)
    f = as_features(fake, "fake", min_rows=2)
    check_same_width(r, f)
    ks = [k for k, _ in filter(None, (pr, dc))]
    for k in ks:
        check_k(k, len(r), "real")
        check_k(k, len(f), "fake")
    r_real = _radii(r, ks)
    out = {}
    if pr is not None:
        k_pr, strict_pr = pr
        r_fake = kth_neighbour_radii(f, k_pr)
        inside_pr = np.less if strict_pr else np.less_equal
        fake_in_real = np.zeros(len(f), dtype=bool)      # precision, per fake
        real_in_fake = np.zeros(len(r), dtype=bool)      # recall, per real
    if dc is not None:
        k_dc, strict_dc = dc
        inside_dc = np.less if strict_dc else np.less_equal
        fake_ball_count = np.zeros(len(f), dtype=np.int64)  # density, per fake
        real_covered = np.zeros(len(r), dtype=bool)      # coverage, per real
    for start, d in _row_chunks(r, f):              # d: [chunk of reals, M]
        rows = slice(start, start + len(d))
        if pr is not None:
            fake_in_real |= inside_pr(d, r_real[k_pr][rows, None]).any(0)
            real_in_fake[rows] = inside_pr(d, r_fake[None, :]).any(1)
        if dc is not None:
            fake_ball_count += inside_dc(d, r_real[k_dc][rows, None]).sum(0)
            real_covered[rows] = inside_dc(d.min(1), r_real[k_dc][rows])
    if pr is not None:
        out.update(precision=float(fake_in_real.mean()), recall=float(real_in_fake.mean()))
    if dc is not None:
        out.update(density=float((1.0 / k_dc) * fake_ball_count.mean()),  # the order prdc computes it in
                   coverage=float(real_covered.mean()))
    return out


def precision_recall(real, fake, k: int = 3, strict: bool = False) -> dict:
    """Improved precision and recall (k = 3, ``d <= r`` as in the paper and torch-fidelity)."""
    return _prdc_core(real, fake, (k, strict), None)


def density_coverage(real, fake, k: int = 5, strict: bool = True) -> dict:
    """Density and coverage (k = 5, ``d < r`` as in the prdc package)."""
    return _prdc_core(real, fake, None, (k, strict))


def prdc(real, fake, k: int = 5, strict: bool = True) -> dict:
    """All four at once with one k, matching ``prdc.compute_prdc(real, fake, nearest_k=k)``."""
    return _prdc_core(real, fake, (k, strict), (k, strict))


def manifold_metrics(real, fake) -> dict:
    """Precision / recall (k = 3, ``d <= r``) and density / coverage (k = 5, ``d < r``), each with its
    reference's defaults, from one pass: what ``ganbench.metrics.compare`` reports."""
    return _prdc_core(real, fake, (3, False), (5, True))


def prdc_values(real, fake, seed: int = 0, kid_subsets: int = 100) -> dict:
    """The suite's "prdc" (ganbench.metric_spec): precision / recall (k = 3) and density / coverage (k = 5)."""
    try:
        return manifold_metrics(real, fake)
    except ValueError as e:
        if not str(e).startswith("k must be"):
            raise
        # the caller chose no k: say what the fixed ones need
        raise ValueError(f"prdc needs at least 6 real and 4 fake samples (precision / recall use each sample's "
                         f"3rd nearest neighbour, density / coverage a real sample's 5th), got {len(real)} real "
                         f"and {len(fake)} fake") from None

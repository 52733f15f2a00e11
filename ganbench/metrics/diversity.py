"""Diversity score: the mean pairwise Euclidean distance between samples, and its ratio to the real
data's. A generator collapsed to a few points scores near 0; one as spread as the data near 1; noise
wider than the data above 1. The mean over all pairs i < j is a U-statistic, so it does not depend
on the sample size in expectation (a run scored on 500 samples and one on 2,500 estimate the same
number; the smaller sample's estimate is noisier).

Reference: ``scipy.spatial.distance.pdist(x).mean()`` (tests/test_diversity.py)."""
from __future__ import annotations

import numpy as np

from ganbench.metrics._checks import as_features, check_same_width

PAIRS_PER_BLOCK = 2 ** 24  # distances held at once (128 MB): memory stays bounded for any n


def mean_pairwise_distance(x) -> float:
    """The mean Euclidean distance over all pairs i < j of the rows of ``x`` (at least 2), in float64.
    Row blocks against the rows after them (scipy's ``cdist``: differences, not the Gram expansion,
    which loses the small distances of a collapsed generator to cancellation)."""
    from scipy.spatial.distance import cdist

    a = as_features(x, "x", min_rows=2)
    n = len(a)
    rows = max(1, PAIRS_PER_BLOCK // n)
    total = 0.0
    for i in range(0, n - 1, rows):
        d = cdist(a[i:i + rows], a[i:])
        total += float(np.triu(d, k=1).sum())  # row r of the block starts at column r: pairs after it only
    return total / (n * (n - 1) / 2)


def diversity_values(real, fake, seed: int = 0, kid_subsets: int = 100) -> dict:
    """The suite's "diversity" (ganbench.metric_spec): ``diversity``, the generated samples' mean
    pairwise distance, and ``diversity_ratio``, that over the real samples' (``real`` and ``fake`` of
    the same width). The ratio is None where the real samples are all one point (nothing to compare with)."""
    real = as_features(real, "real", min_rows=2)
    fake = as_features(fake, "fake", min_rows=2)
    check_same_width(real, fake)
    ref = mean_pairwise_distance(real)
    d = mean_pairwise_distance(fake)
    return {"diversity": d, "diversity_ratio": d / ref if ref > 0.0 else None}

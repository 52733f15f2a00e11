"""Mode metrics for mixtures with known centres: pure functions of arrays."""
from __future__ import annotations

import math

import numpy as np

from ganbench.metrics._checks import as_features, check_int


def mode_stats(samples, centers, std, threshold: float = 3.0) -> dict:
    """Modes captured, high-quality fraction and reverse KL, by the VEEGAN / PacGAN protocol.

    Each sample goes to its nearest mode by the normalised distance sqrt(sum((x - mu)^2 / sigma^2));
    it is high quality (HQ) if that distance is < ``threshold`` (3 standard deviations). A mode is
    captured if it has at least one HQ sample. ``reverse_kl`` = KL(p_HQ || uniform) = ln K - H(p_HQ),
    natural log, where p_HQ is the histogram of HQ samples over the K modes (PacGAN, Lin et al. 2018,
    Table 1; our reading of its code). With no HQ sample p_HQ is undefined and reverse_kl is NaN.

    ``std`` is one number, or one per mode.
    """
    x = as_features(samples, "samples")
    mu = as_features(centers, "centers")
    if x.shape[1] != mu.shape[1]:
        raise ValueError(f"samples have {x.shape[1]} columns but centers have {mu.shape[1]}")
    try:
        sigma = np.broadcast_to(np.asarray(std, dtype=np.float64), (len(mu),))
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"std must be a positive number (or one per mode) and threshold a positive number, "
                         f"got std={std!r}, threshold={threshold!r}") from None
    if not np.all((sigma > 0) & np.isfinite(sigma)):
        raise ValueError("std must be positive and finite")
    if not 0 < threshold < math.inf:
        raise ValueError(f"threshold must be positive and finite, got {threshold}")
    k = len(mu)
    # squared normalised distance of every sample to every mode, [n, K]
    d2 = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1) / sigma[None, :] ** 2
    nearest = d2.argmin(1)
    hq = np.sqrt(d2[np.arange(len(x)), nearest]) < threshold
    counts = np.bincount(nearest[hq], minlength=k)
    n_hq = int(counts.sum())
    if n_hq:
        p = counts[counts > 0] / n_hq
        reverse_kl = math.log(k) + float((p * np.log(p)).sum())
    else:
        reverse_kl = float("nan")
    return {
        "modes": int((counts >= 1).sum()),
        "modes_fair": modes_at_fair_share(counts, len(x)),
        "n_modes": k,
        "hq_fraction": n_hq / len(x),
        "reverse_kl": max(reverse_kl, 0.0) if n_hq else reverse_kl,  # clip -1e-16 rounding
        "mode_counts": counts.tolist(),
        "n_samples": len(x),
    }


FAIR_SHARE = 0.5  # a mode counts for ``modes_at_fair_share`` with >= half its fair share of HQ samples


def modes_at_fair_share(mode_counts, n_samples: int, share: float = FAIR_SHARE) -> int:
    """Modes holding at least ``share`` of their fair mass (n_samples / K) as high-quality samples.

    "Modes captured" counts a mode with one HQ sample, so a structureless generator (uniform on the
    ring with the data's radial spread) captures K of K; it puts ~3.5-29 % of its samples in HQ at
    K = 4..32, spread evenly, i.e. far under half of each mode's fair mass, and scores ~0 here, where a
    generator that learnt the modes scores ~K (tests/test_mode_metrics.py)."""
    counts = np.asarray(mode_counts, dtype=np.float64)
    if counts.ndim != 1 or not len(counts):
        raise ValueError("mode_counts must be a non-empty 1-d array of per-mode HQ counts")
    if not n_samples >= 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    return int((counts >= share * n_samples / len(counts)).sum())


def kmeans_centres(real, n_modes: int, seed: int = 42) -> np.ndarray:
    """The centres ``kmeans_coverage`` judges against: KMeans(n_modes, random_state=seed) on the real data."""
    from sklearn.cluster import KMeans

    r = as_features(real, "real")
    n_modes = check_int(n_modes, "n_modes", 1, len(r), "the number of real points")
    return KMeans(n_clusters=n_modes, random_state=seed, n_init="auto").fit(r).cluster_centers_


def coverage_of(samples, centres, radius: float = 0.1) -> float:
    """The fraction of ``centres`` with at least one sample strictly within ``radius`` of it."""
    x = as_features(samples, "samples")
    c = as_features(centres, "centres")
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"samples have {x.shape[1]} columns but the real data has {c.shape[1]}")
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    return float((d2.min(0) < radius ** 2).mean())  # strictly within, as the tutorial's


def kmeans_coverage(samples, real, n_modes: int, radius: float = 0.1, seed: int = 42) -> float:
    """The tutorial's mode coverage: fit KMeans(n_modes, random_state=seed) to the real data; a mode
    counts as covered if ANY sample lies within Euclidean distance ``radius`` of its centre.
    Returns the covered fraction in [0, 1]. (One stray sample covers a mode, so this is far more
    lenient than ``mode_stats``'s 3-std rule.)"""
    x = as_features(samples, "samples")
    r = as_features(real, "real")
    if x.shape[1] != r.shape[1]:
        raise ValueError(f"samples have {x.shape[1]} columns but real has {r.shape[1]}")
    return coverage_of(x, kmeans_centres(r, n_modes, seed), radius)

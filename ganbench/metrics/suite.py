"""The standard set of distribution metrics in one call, with flat result keys: what the CLI's
``ganbench metrics`` prints and what a run record stores."""
from __future__ import annotations

from ganbench.constants import METRICS as SUITE
from ganbench.metrics.c2st import c2st
from ganbench.metrics.fid import fid
from ganbench.metrics.kid import kid
from ganbench.metrics.manifold import manifold_metrics


def compare(real, fake, metrics=SUITE, seed: int = 0, kid_subsets: int = 100) -> dict:
    """FID, KID (mean, std), precision / recall (k = 3), density / coverage (k = 5) and C2ST (k-NN)
    between ``real`` and ``fake`` feature arrays, each with the defaults of its reference.
    ``real`` may be an ``FIDReference`` when only "fid" is asked for."""
    unknown = set(metrics) - set(SUITE)
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(sorted(unknown))}: choose from {', '.join(SUITE)}")
    out: dict = {}
    if "fid" in metrics:
        out["fid"] = fid(real, fake)
    if "kid" in metrics:
        out["kid_mean"], out["kid_std"] = kid(real, fake, subsets=kid_subsets, seed=seed)
    if "prdc" in metrics:
        try:
            out.update(manifold_metrics(real, fake))  # = precision_recall(k=3) and density_coverage(k=5)
        except ValueError as e:
            if not str(e).startswith("k must be"):
                raise
            # the caller chose no k: say what the fixed ones need
            raise ValueError(f"prdc needs at least 6 real and 4 fake samples (precision / recall use each sample's "
                             f"3rd nearest neighbour, density / coverage a real sample's 5th), got {len(real)} real "
                             f"and {len(fake)} fake") from None
    if "c2st" in metrics:
        c = c2st(real, fake, seed=seed)
        out["c2st_accuracy"], out["c2st_p_value"] = c["accuracy"], c["p_value"]
    return out


def matched_subset(real, n: int, seed: int):
    """A seeded random subset of ``real`` with (at most) ``n`` rows: the real side of a comparison
    made as large as the fake side."""
    import numpy as np

    real = np.asarray(real)
    return real[np.random.default_rng(seed).permutation(len(real))[:n]]


def compare_matched(real, fake, seed: int = 0, kid_subsets: int = 100) -> dict:
    """``compare`` against a seeded subset of ``real`` as large as ``fake``."""
    return compare(matched_subset(real, len(fake), seed), fake, seed=seed, kid_subsets=kid_subsets)

"""The standard set of distribution metrics in one call, with flat result keys: what the CLI's
``ganbench metrics`` prints and what a run record stores."""
from __future__ import annotations

import importlib

from ganbench.metric_spec import FAMILIES, SUITE


def compare(real, fake, metrics=SUITE, seed: int = 0, kid_subsets: int = 100) -> dict:
    """FID, KID (mean, std), precision / recall (k = 3), density / coverage (k = 5) and C2ST (k-NN)
    between ``real`` and ``fake`` feature arrays, each with the defaults of its reference: the
    families of ``ganbench.metric_spec`` that ``metrics`` names, in the table's order.
    ``real`` may be an ``FIDReference`` when only "fid" is asked for."""
    unknown = set(metrics) - set(SUITE)
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(sorted(unknown))}: choose from {', '.join(SUITE)}")
    out: dict = {}
    for family in FAMILIES:
        if family.name in metrics:
            module, function = family.compute.split(":")
            compute = getattr(importlib.import_module(module), function)
            values = compute(real, fake, seed=seed, kid_subsets=kid_subsets)
            if tuple(values) != family.keys:  # the table is what the report and the records rely on
                raise RuntimeError(f"{family.compute} returned {', '.join(values)}; its row in "
                                   f"ganbench.metric_spec says {', '.join(family.keys)}")
            out.update(values)
    return out


def matched_subset(real, n: int, seed: int):
    """A seeded random subset of ``real`` with (at most) ``n`` rows: the real side of a comparison
    made as large as the fake side."""
    import numpy as np

    real = np.asarray(real)
    return real[np.random.default_rng(seed).permutation(len(real))[:n]]


def compare_matched(real, fake, metrics=SUITE, seed: int = 0, kid_subsets: int = 100) -> dict:
    """``compare`` against a seeded subset of ``real`` as large as ``fake``."""
    return compare(matched_subset(real, len(fake), seed), fake, metrics=metrics, seed=seed, kid_subsets=kid_subsets)

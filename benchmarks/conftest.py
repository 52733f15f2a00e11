"""Speed suites, each ganbench kernel side by side with the reference implementation in one run.

Every benchmark records ``extra_info["impl"]`` ("ganbench" or the reference's name); the speed-up
ratios in results/perf.md are reference median / ganbench median within one benchmark group
(``python benchmarks/perf_report.py``). Run:

    python -m pytest benchmarks --benchmark-json=.benchmarks/latest.json
    python benchmarks/perf_report.py .benchmarks/latest.json results/perf.md

CI runs them once with --benchmark-disable, so that they keep working.
"""
import gc

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _same_start():
    """Every benchmark starts alike: PyTorch's default threads here (2), and no garbage left to collect
    (the session's imports and earlier tests leave it behind, and a collection during a timed call of a
    sub-millisecond kernel would be charged to that kernel)."""
    torch.set_num_threads(2)
    gc.collect()


def features(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """Inception-like features: correlated, non-negative-ish, float64."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    return np.abs(rng.standard_normal((n, d)) @ mix + shift)


@pytest.fixture(scope="session")
def stats_cache():
    """(n, d, seed) -> (mu, sigma), computed once per session."""
    from ganbench.metrics import feature_stats

    cache = {}

    def get(n, d, seed, shift=0.0):
        key = (n, d, seed, shift)
        if key not in cache:
            cache[key] = feature_stats(features(n, d, seed, shift))
        return cache[key]

    return get

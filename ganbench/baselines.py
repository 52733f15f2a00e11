"""Reference generators scored with the same metrics as the runs: can a metric tell?

Beside every 2-D table the report scores, with the same sample count and the same metric code:

- **real data**: samples of the mixture itself (the ceiling a generator can reach);
- **structureless**: a generator with the data's support but no modes: on a ring, uniform in angle
  with the data's radial spread (radius ~ N(r, std)); on a grid or the blobs, uniform over the cells
  around the centres (squares of the lattice spacing, the area the modes tile);
- **uniform noise**: uniform in the data's bounding box, widened by a quarter on each side;
- **single point**: every sample on one mode's centre (total collapse that still looks high quality).

A metric that a structureless baseline scores about as well as the real data at some K cannot tell a
learnt mixture from no learning there: ``saturated`` says so, and the report gives no verdict on it.
Torch-free and deterministic (seeded): the report computes these on the fly in well under a second.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ganbench.data import make_mixture
from ganbench.metrics.diversity import diversity_values
from ganbench.metrics.modes import coverage_of, kmeans_centres, mode_stats
from ganbench.metrics.suite import matched_subset

BASELINES = ("real data", "structureless", "uniform noise", "single point")
STRUCTURELESS = ("structureless", "uniform noise")  # generators that know the support but not the modes
BASELINE_SEED = 12345  # one fixed draw; the data it is compared with is seed 0's mixture


def baseline_samples(kind: str, layout: str, modes: int, std: float | None, n: int,
                     scale: float | None = None, seed: int = BASELINE_SEED) -> tuple[np.ndarray, object]:
    """``n`` samples of a baseline generator, and the mixture (seed 0's) they are judged against."""
    if kind not in BASELINES:
        raise ValueError(f"unknown baseline {kind!r}: choose from {', '.join(BASELINES)}")
    mix = make_mixture(layout, modes, seed=0, n_train=max(n, 2_000), std=std, scale=scale)
    rng = np.random.default_rng(seed)
    c = mix.centers
    if kind == "real data":
        x = make_mixture(layout, modes, seed=seed, n_train=n, std=std, scale=scale).points.astype(np.float64)
    elif kind == "single point":
        x = np.repeat(c[:1], n, axis=0)
    elif kind == "uniform noise":
        lo, hi = mix.points.min(0), mix.points.max(0)
        pad = (hi - lo) / 4
        x = rng.uniform(lo - pad, hi + pad, size=(n, 2))
    elif layout == "ring":
        radius = float(np.linalg.norm(c, axis=1).mean())
        angle = rng.uniform(0, 2 * math.pi, n)
        r = radius + mix.std * rng.standard_normal(n)
        x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    else:  # grid and blobs: uniform over the cells (squares as wide as the nearest-centre spacing)
        d = np.sqrt(((c[:, None] - c[None]) ** 2).sum(-1)) + np.eye(len(c)) * 1e9
        spacing = float(d.min()) if len(c) > 1 else 1.0
        cell = rng.integers(0, len(c), n)
        x = c[cell] + rng.uniform(-spacing / 2, spacing / 2, size=(n, 2))
    return x, mix


@lru_cache(maxsize=256)
def score_baselines(layout: str, modes: int, std: float | None, n: int = 2_500,
                    scale: float | None = None) -> dict[str, dict]:
    """Each baseline's mode metrics (as a run record's): modes captured, modes at fair share, HQ
    fraction, reverse KL (ln K where no sample is high quality, as the tables count it) and kmeans
    coverage, and the diversity ratio against as many of the data's points."""
    out = {}
    centres = None
    for kind in BASELINES:
        x, mix = baseline_samples(kind, layout, modes, std, n, scale)
        if centres is None:
            centres = kmeans_centres(mix.points, modes)
        m = mode_stats(x, mix.centers, mix.std)
        if m["reverse_kl"] != m["reverse_kl"]:  # NaN: no HQ sample
            m["reverse_kl"] = math.log(modes)
        m["kmeans_coverage"] = coverage_of(x, centres)
        m["diversity_ratio"] = diversity_values(matched_subset(mix.points, len(x), BASELINE_SEED), x)["diversity_ratio"]
        out[kind] = {k: m[k] for k in ("modes", "modes_fair", "hq_fraction", "reverse_kl", "kmeans_coverage",
                                       "diversity_ratio")}
    return out


# How close to the real data's score a structureless generator must come for a metric to be saturated
# (in the metric's units): a tenth of the modes (at least one), 5 points of a percentage, 0.05 nats,
# 0.05 of the data's diversity.
def saturation_margin(metric: str, modes: int) -> float:
    return {"modes": max(1.0, 0.1 * modes), "modes_fair": max(1.0, 0.1 * modes),
            "hq_fraction": 0.05, "kmeans_coverage": 0.05, "reverse_kl": 0.05, "diversity_ratio": 0.05}.get(metric, 0.0)


LOWER_IS_BETTER = frozenset({"reverse_kl"})
TWO_SIDED = frozenset({"diversity_ratio"})  # best at the data's value: too spread is as wrong as too narrow


def saturates(scores: dict[str, dict], kind: str, metric: str, modes: int) -> bool:
    """Whether baseline ``kind`` scores ``metric`` within the margin of the real data (or better)."""
    real, v = scores["real data"][metric], scores[kind][metric]
    margin = saturation_margin(metric, modes)
    if metric in TWO_SIDED:
        return abs(v - real) <= margin
    return (v <= real + margin) if metric in LOWER_IS_BETTER else (v >= real - margin)


def saturated(scores: dict[str, dict], metric: str, modes: int) -> bool:
    """Whether a structureless baseline scores ``metric`` within the margin of the real data (or better):
    then the metric cannot tell a learnt mixture from a structureless one at this K."""
    return any(saturates(scores, kind, metric, modes) for kind in STRUCTURELESS)

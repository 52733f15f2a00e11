"""Statistics over seeds: intervals, verdicts against a published value, corrected comparisons.
Pure functions of numbers; the report and REPRODUCTION.md use them so that every table states n,
a 95 % interval and a verdict by one rule.

- ``interval``: mean and Student-t 95 % interval over seeds. With all seeds alike the sample SD is 0,
  yet n seeds cannot rule out a seed in n/3 landing one step (one mode) away (the rule of three):
  the half-width is never below 3 x step / n. Its ends are clipped to the values the metric can take
  (``metric_range``: a few seeds near 0 % would otherwise give an interval reaching below 0 %).
- ``verdict``: ours against a published value. The difference's 95 % interval combines our standard
  error with the published one; an unknown published SE is not zero: a one-number claim is taken to
  be one run, with our seeds' SD as its SE (the half-width keeps the floor above). Then **agrees** when the whole interval lies
  within +-margin (an equivalence test), **differs** when it excludes 0, else **undecided**, with
  the number of seeds that would decide it at the same mean and SD (None when no number would:
  the published value's own uncertainty is too wide).
- ``holm``: Holm's step-down correction of p-values; ``welch_p``: Welch's two-sided t-test.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

CONFIDENCE = 0.95
MAX_SEEDS = 1000  # beyond this, "seeds needed" is reported as None


@lru_cache(maxsize=None)
def _t(df: int) -> float:
    from scipy.special import stdtrit  # Student's t quantile; scipy.stats would add a second to a report

    return float(stdtrit(df, 0.5 + CONFIDENCE / 2))


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def metric_step(metric: str, modes: int, scale: float = 1.0) -> float:
    """One step of a metric in display units (``scale`` x its unit): one mode captured, or one mode of
    kmeans coverage; 0 for continuous metrics. The tie rule's ``step`` (``interval``, ``verdict``)."""
    return {"modes": 1.0, "kmeans_coverage": scale / modes if modes else 0.0}.get(metric, 0.0)


# Metrics bounded in [0, 1] (in units; x scale in display units) and in [0, ln K] (nats over K modes).
UNIT_METRICS = {"hq_fraction", "kmeans_coverage", "precision", "recall", "coverage", "c2st_accuracy"}
LOG_K_METRICS = {"reverse_kl", "kl_to_uniform"}
NON_NEGATIVE = {"fid", "density"}


def metric_range(metric: str, modes: int, scale: float = 1.0) -> tuple[float, float]:
    """The values a metric can take, in display units (``scale`` x its unit); (-inf, inf) for one not
    known to be bounded (KID's unbiased estimate can be negative). ``modes``: K, the modes (classes)."""
    if metric in UNIT_METRICS:
        return 0.0, scale
    if metric == "modes":
        return 0.0, float(modes) if modes else math.inf
    if metric in LOG_K_METRICS:
        return 0.0, math.log(modes) * scale if modes else math.inf
    if metric == "classifier_score":  # exp(mutual information): 1 .. K
        return 1.0, float(modes) if modes else math.inf
    if metric in NON_NEGATIVE:
        return 0.0, math.inf
    return -math.inf, math.inf


@dataclass(frozen=True)
class Interval:
    n: int
    mean: float          # NaN for n = 0
    sd: float            # sample SD (ddof 1); NaN for n < 2
    half_width: float    # of the 95 % interval; NaN for n < 2
    bounds: tuple[float, float] = (-math.inf, math.inf)  # the metric's range: lo and hi are clipped to it

    @property
    def lo(self) -> float:
        return max(self.mean - self.half_width, self.bounds[0])

    @property
    def hi(self) -> float:
        return min(self.mean + self.half_width, self.bounds[1])

    def text(self, decimals: int, scale: float = 1.0) -> str:
        """'mean [lo, hi] (n = k)', or 'mean (n = 1)'; '-' with no value."""
        return interval_text(self.n, self.mean * scale, self.lo * scale, self.hi * scale, decimals)


def interval_text(n: int, mean: float, lo: float, hi: float, decimals: int) -> str:
    """How every table prints an interval: 'mean [lo, hi] (n = k)', 'mean (n = 1)', or '-' for n = 0."""
    if not n:
        return "-"
    if n < 2:
        return f"{mean:.{decimals}f} (n = 1)"
    return f"{mean:.{decimals}f} [{lo:.{decimals}f}, {hi:.{decimals}f}] (n = {n})"


def _sd(xs: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return math.nan
    m = sum(xs) / n
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))


def interval(values: Sequence[float], step: float = 0.0,
             bounds: tuple[float, float] = (-math.inf, math.inf)) -> Interval:
    """Mean and t-interval of the finite values; ``step``: the metric's resolution, ``bounds``: its
    range (``metric_step``, ``metric_range``; see module doc)."""
    xs = _finite(values)
    n = len(xs)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan, bounds)
    mean = sum(xs) / n
    if n < 2:
        return Interval(1, mean, math.nan, math.nan, bounds)
    sd = _sd(xs)
    return Interval(n, mean, sd, max(_t(n - 1) * sd / math.sqrt(n), 3 * step / n), bounds)


@dataclass(frozen=True)
class Verdict:
    label: str                  # "agrees", "differs" or "undecided"
    difference: float           # ours - published
    lo: float                   # 95 % interval of the difference
    hi: float
    margin: float
    seeds_needed: int | None    # for "undecided": seeds that would decide it; else None

    def text(self, decimals: int) -> str:
        if self.label == "undecided":
            more = (f"{self.seeds_needed} seeds would decide it" if self.seeds_needed
                    else "no number of our seeds would decide it")
            return f"undecided ({more})"
        return self.label


def _half_width(n: int, sd: float, step: float, published_se: float | None) -> float:
    # An unknown published SE: the claim is one run, as spread as one of ours.
    se_pub = sd if published_se is None else float(published_se)
    return max(_t(n - 1) * math.sqrt(sd ** 2 / n + se_pub ** 2), 3 * step / n)


def _decide(diff: float, hw: float, margin: float) -> str:
    if -margin <= diff - hw and diff + hw <= margin:
        return "agrees"
    if diff - hw > 0 or diff + hw < 0:
        return "differs"
    return "undecided"


def verdict(values: Sequence[float], published: float, published_se: float | None, margin: float,
            step: float = 0.0) -> Verdict:
    """Our seeds' ``values`` against ``published`` (its SE, or None when unknown) with an equivalence
    ``margin`` (same units); ``step``: the metric's resolution. See the module docstring."""
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    xs = _finite(values)
    n = len(xs)
    if n == 0:
        return Verdict("undecided", math.nan, math.nan, math.nan, margin, None)
    diff = sum(xs) / n - float(published)
    if n < 2:
        return Verdict("undecided", diff, math.nan, math.nan, margin, _seeds_needed(diff, math.nan, step, published_se, margin))
    sd = _sd(xs)
    hw = _half_width(n, sd, step, published_se)
    label = _decide(diff, hw, margin)
    needed = _seeds_needed(diff, sd, step, published_se, margin) if label == "undecided" else None
    return Verdict(label, diff, diff - hw, diff + hw, margin, needed)


def _seeds_needed(diff: float, sd: float, step: float, published_se: float | None, margin: float) -> int | None:
    if not math.isfinite(sd):
        return None  # one seed: no spread to extrapolate from
    for n in range(2, MAX_SEEDS + 1):
        if _decide(diff, _half_width(n, sd, step, published_se), margin) != "undecided":
            return n
    return None


def welch_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test (NaN with fewer than 2 values a side; 1 when both are constant
    and equal, 0 when both are constant and differ)."""
    from scipy.special import stdtr  # Student's t CDF (scipy.stats.ttest_ind's, without its import time)

    xa, xb = _finite(a), _finite(b)
    if len(xa) < 2 or len(xb) < 2:
        return math.nan
    if _sd(xa) == 0 and _sd(xb) == 0:
        return 1.0 if xa[0] == xb[0] else 0.0
    va, vb = _sd(xa) ** 2 / len(xa), _sd(xb) ** 2 / len(xb)
    t = (sum(xa) / len(xa) - sum(xb) / len(xb)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(xa) - 1) + vb ** 2 / (len(xb) - 1))  # Welch-Satterthwaite
    return float(2 * stdtr(df, -abs(t)))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order (NaN stays NaN and is not counted)."""
    idx = [i for i, p in enumerate(pvalues) if p is not None and math.isfinite(p)]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out

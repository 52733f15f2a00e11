"""Statistics over seeds: intervals, verdicts against a published value, comparisons of variants.
Pure functions of numbers; the report and REPRODUCTION.md use them so that every table states n,
a 95 % interval and a verdict by one rule. Our outcomes are bounded, discrete, often piled at a
ceiling (all seeds at K of K modes) or bimodal (a run trains or it does not), and n is small: the
verdict's tests are valid for any distribution on the metric's range, not only a normal one.

- ``interval``: mean and Student-t 95 % interval over seeds, for the tables. With all seeds alike the
  sample SD is 0, yet n seeds cannot rule out a seed in n/3 landing one step (one mode) away (the rule
  of three): the half-width is never below 3 x step / n. Its ends are clipped to the values the
  metric can take (``metric_spec.metric_range``). It describes the seeds; it does not decide verdicts.
- ``mean_interval``: a confidence interval for the mean that holds at any n for any distribution on
  ``bounds`` (``metric_spec.metric_range``): Waudby-Smith & Ramdas' hedged betting interval ("Estimating means of
  bounded random variables by betting", JRSS-B 2024; predictable plug-in bets for a fixed n, capped
  at 9/10 of the wealth, over the values in the given (seed) order, so it is deterministic). A metric
  not bounded on both sides falls back to the Student-t interval above (valid only near normality).
- ``verdict`` (``ganbench.verdicts``): ours against a published value, by the intervals above.
- ``permutation_p``: two variants' means, by a two-sided permutation test (exact over all splits up
  to ``EXACT_SPLITS``, else Monte Carlo with a fixed seed, p = (1 + count) / (1 + rounds)): never 0,
  valid for discrete and tied outcomes. ``welch_p``: Welch's t-test, kept for old callers (constant
  groups get the permutation p, not 0). ``holm``: Holm's step-down correction of p-values.
- ``wilson``: Wilson's score interval of a proportion (failure rates: untrained, collapsed, diverged).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

CONFIDENCE = 0.95
MAX_SEEDS = 1000  # beyond this, "seeds needed" is reported as None
MIN_RUNS = 5      # fewer finite values: the verdict is "too few runs"
EXACT_SPLITS = 20_000       # permutation_p enumerates every split up to this many ...
PERMUTATION_ROUNDS = 9_999  # ... else draws this many (p >= 1 / 10,000)


@lru_cache(maxsize=None)
def _t(df: int) -> float:
    from scipy.special import stdtrit  # Student's t quantile, without scipy.stats' import time

    return float(stdtrit(df, 0.5 + CONFIDENCE / 2))


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


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
    range (``metric_spec.metric_step``, ``metric_range``; see module doc)."""
    xs = _finite(values)
    n = len(xs)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan, bounds)
    mean = sum(xs) / n
    if n < 2:
        return Interval(1, mean, math.nan, math.nan, bounds)
    sd = _sd(xs)
    return Interval(n, mean, sd, max(_t(n - 1) * sd / math.sqrt(n), 3 * step / n), bounds)


@lru_cache(maxsize=None)
def _z(q: float) -> float:
    from scipy.special import ndtri  # the normal quantile

    return float(ndtri(q))


def _quantile_t(df: int, q: float) -> float:
    return _t(df) if q == 0.5 + CONFIDENCE / 2 else _tq(df, q)


@lru_cache(maxsize=4096)
def _tq(df: int, q: float) -> float:
    from scipy.special import stdtrit

    return float(stdtrit(df, q))


# --- the mean of a bounded variable: a betting confidence interval ------------------------------------

_BET_CAP = 0.9   # a bet never stakes more than 9/10 of the wealth (Waudby-Smith & Ramdas' c)
_GRID = 41       # candidate means per refinement round ...
_ROUNDS = 3      # ... and rounds: each end is found to 1 / 40^3 of the range, rounded outward
_FRACTIONS = np.linspace(0.0, 1.0, _GRID)
_SIDES = np.repeat([1.0, -1.0], _GRID)[:, None]  # the lower end's candidates bet up, the upper's down


def _unit(xs: list[float], bounds: tuple[float, float]) -> tuple[np.ndarray, float, float]:
    """The values mapped to [0, 1]; a value outside ``bounds`` widens them (never clipped)."""
    lo, hi = float(bounds[0]), float(bounds[1])
    if xs:
        lo, hi = min(lo, min(xs)), max(hi, max(xs))
    x = np.asarray(xs, dtype=float)
    return ((x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)), lo, hi


def _bet_base(y: np.ndarray, alpha: float) -> np.ndarray:
    """sqrt(2 log(2 / alpha) / var_{t-1}) for t = 1..len(y): the predictable plug-in bet times sqrt(n),
    from the regularised running mean and variance of the values before t (1/2 and 1/4 at the start)."""
    t = np.arange(1, len(y) + 1)
    mu = (0.5 + np.cumsum(y)) / (t + 1)
    var = (0.25 + np.cumsum((y - mu) ** 2)) / (t + 1)
    return np.sqrt(2 * math.log(2 / alpha) / np.concatenate(([0.25], var[:-1])))


def _wealth(y: np.ndarray, bets: np.ndarray, m, side) -> np.ndarray:
    """For each candidate mean in ``m``: the largest wealth over t, from 1, of betting that the mean is
    above it (``side`` +1) or below it (-1; one side for all, or one per candidate). Nonincreasing in m
    for side +1, nondecreasing for -1: each set of candidates not rejected is an interval."""
    m = np.asarray(m, dtype=float)[:, None]
    side = np.asarray(side, dtype=float).reshape(-1, 1)
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        cap = _BET_CAP / np.where(side > 0, m, 1.0 - m)
        factors = 1.0 + side * np.minimum(bets[None, :], cap) * (y[None, :] - m)  # each >= 1 - cap > 0
        return np.cumprod(factors, axis=1).max(axis=1)


def _betting_interval(y: np.ndarray, alpha: float) -> tuple[float, float]:
    """The means whose hedged wealth (half on each side) stays below 1 / alpha: an interval, each end
    found by refining a grid of candidates around it (both ends at once) and rounded outward."""
    n = len(y)
    if n == 0:
        return 0.0, 1.0
    bets = (_bet_base(y, alpha) / math.sqrt(n))[None, :]
    rows = np.arange(2)
    start, stop = np.array([0.0, 1.0]), np.array([1.0, 0.0])  # lower end searched up from 0, upper down from 1
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        for _ in range(_ROUNDS):
            grid = start[:, None] + (stop - start)[:, None] * _FRACTIONS  # (2, _GRID)
            m = grid.reshape(-1, 1)
            cap = _BET_CAP / np.where(_SIDES > 0, m, 1.0 - m)
            wealth = np.cumprod(1.0 + _SIDES * np.minimum(bets, cap) * (y[None, :] - m), axis=1).max(axis=1)
            rejected = (wealth >= 2 / alpha).reshape(2, _GRID)
            k = np.where(rejected.all(axis=1), _GRID, rejected.argmin(axis=1))  # leading candidates rejected
            last_rejected = grid[rows, np.maximum(k - 1, 0)]
            first_kept = grid[rows, np.minimum(k, _GRID - 1)]
            start, stop = (np.where(k == 0, start, np.where(k == _GRID, stop, last_rejected)),
                           np.where(k == 0, start, np.where(k == _GRID, stop, first_kept)))
    return float(start.min()), float(start.max())


def _betting_p(y: np.ndarray, m: float) -> float:
    """p-value of "the mean is m" (in [0, 1] units) from the 95 % interval's wealth processes."""
    if len(y) == 0:
        return 1.0
    m = min(max(m, 0.0), 1.0)
    bets = _bet_base(y, 1 - CONFIDENCE) / math.sqrt(len(y))
    return float(min(1.0, 2.0 / _wealth(y, bets, [m, m], [1.0, -1.0]).max()))


def _bounded(bounds: tuple[float, float]) -> bool:
    return math.isfinite(bounds[0]) and math.isfinite(bounds[1])


def _t_half_width(n: int, sd: float, step: float, confidence: float) -> float:
    return max(_quantile_t(n - 1, 0.5 + confidence / 2) * sd / math.sqrt(n), 3 * step / n)


def mean_interval(values: Sequence[float], bounds: tuple[float, float] = (-math.inf, math.inf),
                  confidence: float = CONFIDENCE, step: float = 0.0) -> tuple[float, float]:
    """A ``confidence`` interval for the mean of the finite ``values``, valid at any n for any
    distribution on ``bounds`` (the betting interval, see the module doc; values outside ``bounds``
    widen them). Bounds not finite on both sides: the Student-t interval with the rule-of-three floor
    (``step``), clipped to the bounds; with fewer than 2 values, the bounds themselves."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return _interval_of(tuple(_finite(values)), float(bounds[0]), float(bounds[1]), float(confidence),
                        float(step))


@lru_cache(maxsize=1024)  # a verdict asks for the same values' interval more than once
def _interval_of(xs: tuple[float, ...], lo: float, hi: float, confidence: float,
                 step: float) -> tuple[float, float]:
    bounds = (lo, hi)
    if _bounded(bounds):
        y, lo, hi = _unit(list(xs), bounds)
        if hi <= lo:
            return lo, hi
        a, b = _betting_interval(y, 1 - confidence)
        return lo + a * (hi - lo), lo + b * (hi - lo)
    n = len(xs)
    if n < 2:
        return lo, hi
    mean, hw = sum(xs) / n, _t_half_width(n, _sd(list(xs)), step, confidence)
    return max(mean - hw, lo), min(mean + hw, hi)


def _mean_p(xs: list[float], claim: float, bounds: tuple[float, float], step: float) -> float:
    """Two-sided p-value of "our mean is ``claim``", consistent with ``mean_interval`` at 95 %."""
    if _bounded(bounds):
        y, lo, hi = _unit(xs, bounds)
        if hi <= lo:
            return 1.0 if claim == lo else 0.0
        if not lo <= claim <= hi:
            return 0.0  # the mean cannot lie outside the metric's range
        return _betting_p(y, (claim - lo) / (hi - lo))
    from scipy.special import stdtr

    n = len(xs)
    diff = sum(xs) / n - claim
    se = _t_half_width(n, _sd(xs), step, CONFIDENCE) / _t(n - 1)
    if se == 0:
        return 1.0 if diff == 0 else 0.0
    return float(2 * stdtr(n - 1, -abs(diff) / se))


# --- two variants: a permutation test ---------------------------------------------------------------

def permutation_p(a: Sequence[float], b: Sequence[float], seed: int = 0,
                  rounds: int = PERMUTATION_ROUNDS) -> float:
    """Two-sided permutation p-value of a difference in means between the finite values of ``a`` and
    ``b``: the share of splits of the pooled values into groups of their sizes whose |difference of
    means| is at least the observed one. Exact (all splits, the observed one included) when there are
    at most EXACT_SPLITS of them, else ``rounds`` random splits drawn with ``seed`` and
    p = (1 + count) / (1 + rounds). Never 0; NaN with fewer than 2 values a side."""
    xa, xb = _finite(a), _finite(b)
    na, nb = len(xa), len(xb)
    if na < 2 or nb < 2:
        return math.nan
    x = np.asarray(xa + xb, dtype=float)
    n, total = na + nb, float(x.sum())
    observed = abs(sum(xa) / na - sum(xb) / nb)
    tol = 1e-9 * max(1.0, float(np.abs(x).max()))

    def extreme(sums: np.ndarray) -> int:
        return int(np.count_nonzero(np.abs(sums / na - (total - sums) / nb) >= observed - tol))

    splits = math.comb(n, na)
    if splits <= EXACT_SPLITS:
        idx = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(n), na)),
                          dtype=np.intp, count=splits * na).reshape(splits, na)
        return extreme(x[idx].sum(axis=1)) / splits
    rng = np.random.default_rng(seed)
    picks = rng.random((rounds, n)).argsort(axis=1)[:, :na]
    return (1 + extreme(x[picks].sum(axis=1))) / (1 + rounds)


def welch_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test (NaN with fewer than 2 values a side). Kept for old callers:
    prefer ``permutation_p``, valid for discrete and tied outcomes. Both groups constant: the
    permutation p (1 when equal; [4, 4] against [3, 3]: 1/3), never 0."""
    from scipy.special import stdtr  # Student's t CDF (scipy.stats.ttest_ind's, without its import time)

    xa, xb = _finite(a), _finite(b)
    if len(xa) < 2 or len(xb) < 2:
        return math.nan
    if _sd(xa) == 0 and _sd(xb) == 0:
        return permutation_p(xa, xb)
    va, vb = _sd(xa) ** 2 / len(xa), _sd(xb) ** 2 / len(xb)
    t = (sum(xa) / len(xa) - sum(xb) / len(xb)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(xa) - 1) + vb ** 2 / (len(xb) - 1))  # Welch-Satterthwaite
    return float(2 * stdtr(df, -abs(t)))


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval for a proportion of ``k`` in ``n`` ((nan, nan) for n = 0): a failure
    rate (runs untrained, collapsed, diverged) with its ``confidence`` interval."""
    if n <= 0:
        return math.nan, math.nan
    if not 0 <= k <= n:
        raise ValueError(f"k must be in 0..n, got {k} of {n}")
    z = _z(0.5 + confidence / 2)
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


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

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
- ``verdict``: ours against a published value, given at least ``MIN_RUNS`` finite values (else
  **too few runs**). With the paper's SE, the difference's interval is the sum of our 97.5 % mean
  interval and the claim's 97.5 % normal one (a union bound: 95 % for the pair). A claim without an
  SE may be a mean or one run, so it is tested both ways: (a) our 95 % mean interval excludes it,
  (b) its rank among our runs (exact, ties counted against rejecting: p = 2 min(#{x >= c} + 1,
  #{x <= c} + 1) / (n + 1), so n >= 39 runs are needed before it can reject); it **differs** only when
  both reject (an intersection-union test: 5 % whichever the claim was); its difference's interval
  is our 95 % mean interval minus the claim. **agrees** when the whole
  interval of the difference lies within +-margin (equivalence; a claim outside our mean's interval
  is then flagged), **differs** as above, else **undecided**, with the seeds that would decide it if
  further seeds repeated ours (None when no number up to ``MAX_SEEDS`` would).
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
    from scipy.special import stdtrit  # Student's t quantile; scipy.stats would add a second to a report

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


# --- a claim as one run: its rank among ours ----------------------------------------------------------

def _tie(claim: float) -> float:
    return 1e-9 * max(1.0, abs(claim))


def _rank_counts(x: np.ndarray, claim: float) -> tuple[int, int]:
    """#{x >= claim} and #{x <= claim}, a value within rounding of the claim counting as a tie."""
    tol = _tie(claim)
    return int(np.count_nonzero(x >= claim - tol)), int(np.count_nonzero(x <= claim + tol))


def _rank_p(at_or_above: int, at_or_below: int, n: int) -> float:
    return min(1.0, 2 * min(at_or_above + 1, at_or_below + 1) / (n + 1))


def _percentile(x: np.ndarray, claim: float) -> float:
    """Where the claim falls among our runs, 0..100 (mid-rank: ties count half)."""
    above, below = _rank_counts(x, claim)
    n = len(x)
    return 100.0 * ((n - above) + 0.5 * (above + below - n)) / n


# --- the verdict ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    label: str                  # "agrees", "differs", "undecided" or "too few runs"
    difference: float           # our mean - published
    lo: float                   # 95 % interval of the difference (NaN for "too few runs")
    hi: float
    margin: float
    seeds_needed: int | None    # for "undecided": seeds that would decide it; else None
    n: int = 0                  # our finite values
    published: float = math.nan
    published_se: float | None = None
    mean_lo: float = math.nan   # our mean's 95 % interval (``mean_interval``)
    mean_hi: float = math.nan
    p_mean: float = math.nan    # claim without SE: p of "our mean is the claim"; else NaN
    p_rank: float = math.nan    # claim without SE: p of "the claim is one more of our runs"; else NaN
    percentile: float = math.nan  # where the claim falls among our runs, 0..100
    excludes_claim: bool = False  # our mean's 95 % interval excludes the published value

    def text(self, decimals: int) -> str:
        """The verdict in words, numbers to ``decimals`` places."""
        if self.label == "too few runs":
            return f"too few runs ({self.n} of the {MIN_RUNS} needed)"
        f = f"{{:.{decimals}f}}".format
        ours = f"[{f(self.mean_lo)}, {f(self.mean_hi)}]"
        within = f"within ±{self.margin:g}"
        if self.published_se is None:
            mean = f"our mean (interval {ours}, {_p_text(self.p_mean)})"
            run = f"as one run (claim {_where(self.percentile, self.n)}, {_p_text(self.p_rank)})"
            said = ""
        else:
            said = (f" (difference {self.difference:+.{decimals}f} "
                    f"[{self.lo:+.{decimals}f}, {self.hi:+.{decimals}f}])")
        if self.label == "agrees":
            flag = f", though our interval {ours} excludes the claim" if self.excludes_claim else ""
            return f"agrees {within}{said}{flag}"
        if self.label == "differs":
            return f"differs from {mean} and {run}" if self.published_se is None else f"differs{said}"
        more = (f"{self.seeds_needed} seeds would decide it" if self.seeds_needed
                else f"no number of seeds up to {MAX_SEEDS:,} would decide it")
        if self.published_se is not None:
            return f"undecided{said}; {more}"
        rank_rejects = self.p_rank <= 1 - CONFIDENCE
        if self.excludes_claim:
            why = f"differs from {mean} but not {run}"
        elif rank_rejects:
            why = f"differs {run} but not from {mean}"
        else:
            why = f"no difference from {mean} or {run}, yet not {within}"
        return f"undecided: {why}; {more}"


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _where(percentile: float, n: int) -> str:
    if percentile >= 100:
        return f"above all {n} of our runs"
    if percentile <= 0:
        return f"below all {n} of our runs"
    k = min(99, max(1, round(percentile)))
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"at our {k}{suffix} percentile"


def verdict(values: Sequence[float], published: float, published_se: float | None, margin: float,
            step: float = 0.0, bounds: tuple[float, float] = (-math.inf, math.inf)) -> Verdict:
    """Our seeds' ``values`` (in seed order) against ``published`` (its SE, or None when it has none)
    with an equivalence ``margin`` (same units). ``bounds``: the metric's range (``metric_spec.metric_range``; the
    tests are valid at small n only when it is finite on both sides); ``step``: its resolution, used
    only by the Student-t fallback for unbounded metrics. See the module docstring."""
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if published_se is not None and not float(published_se) >= 0:
        raise ValueError(f"published_se must be >= 0 or None, got {published_se}")
    xs = _finite(values)
    n, claim = len(xs), float(published)
    x = np.asarray(xs, dtype=float)
    se = None if published_se is None else float(published_se)
    diff = sum(xs) / n - claim if n else math.nan
    percentile = _percentile(x, claim) if n else math.nan
    if n < MIN_RUNS:
        return Verdict("too few runs", diff, math.nan, math.nan, margin, None, n=n, published=claim,
                       published_se=se, percentile=percentile)
    mean_lo, mean_hi = mean_interval(xs, bounds, CONFIDENCE, step)
    excludes = not mean_lo <= claim <= mean_hi
    p_mean = p_rank = math.nan
    if se is None:
        p_mean, p_rank = _mean_p(xs, claim, bounds, step), _rank_p(*_rank_counts(x, claim), n)
        lo, hi = mean_lo - claim, mean_hi - claim
        rejected = excludes and p_rank <= 1 - CONFIDENCE
    else:
        ours_lo, ours_hi = mean_interval(xs, bounds, 1 - (1 - CONFIDENCE) / 2, step)
        half = _z(1 - (1 - CONFIDENCE) / 4) * se
        lo, hi = ours_lo - (claim + half), ours_hi - (claim - half)
        rejected = lo > 0 or hi < 0
    if -margin <= lo and hi <= margin:
        label = "agrees"
    elif rejected:
        label = "differs"
    else:
        label = "undecided"
    needed = _seeds_needed(xs, claim, se, margin, bounds, step) if label == "undecided" else None
    return Verdict(label, diff, lo, hi, margin, needed, n=n, published=claim, published_se=se,
                   mean_lo=mean_lo, mean_hi=mean_hi, p_mean=p_mean, p_rank=p_rank, percentile=percentile,
                   excludes_claim=excludes)


def _seeds_needed(xs: list[float], claim: float, se: float | None, margin: float,
                  bounds: tuple[float, float], step: float) -> int | None:
    """The fewest seeds (up to MAX_SEEDS) that would decide the verdict if further seeds repeated
    ours in turn (the same empirical distribution, in the same order); None if even MAX_SEEDS would
    not. Found by bisection, taking "decided" to stay decided as seeds are added."""
    decided = _decider(xs, claim, se, margin, bounds, step)
    if not decided(MAX_SEEDS):
        return None
    undecided_at, decided_at = len(xs), MAX_SEEDS
    while decided_at - undecided_at > 1:
        mid = (undecided_at + decided_at) // 2
        if decided(mid):
            decided_at = mid
        else:
            undecided_at = mid
    return decided_at


def _decider(xs: list[float], claim: float, se: float | None, margin: float,
             bounds: tuple[float, float], step: float):
    """N -> whether N seeds, our values repeated in turn, would give agrees or differs."""
    alpha = (1 - CONFIDENCE) if se is None else (1 - CONFIDENCE) / 2
    half = 0.0 if se is None else _z(1 - (1 - CONFIDENCE) / 4) * se
    cyc = np.resize(np.asarray(xs, dtype=float), MAX_SEEDS)
    if se is None:
        tol = _tie(claim)
        above, below = np.cumsum(cyc >= claim - tol), np.cumsum(cyc <= claim + tol)

    def rank_rejects(n: int) -> bool:
        return se is not None or _rank_p(int(above[n - 1]), int(below[n - 1]), n) <= 1 - CONFIDENCE

    if _bounded(bounds):
        y, lo, hi = _unit(list(cyc), bounds)
        if hi <= lo:
            return lambda n: False
        base = _bet_base(y, alpha)
        # ours lo >= agree_lo and ours hi <= agree_hi: agrees; ours lo > pub_hi or ours hi < pub_lo: differs
        agree_lo, pub_hi = ((claim + half - margin - lo) / (hi - lo), (claim + half - lo) / (hi - lo))
        agree_hi, pub_lo = ((claim - half + margin - lo) / (hi - lo), (claim - half - lo) / (hi - lo))

        def decided(n: int) -> bool:
            yn, bets = y[:n], base[:n] / math.sqrt(n)
            up, down = (_wealth(yn, bets, np.clip([agree_lo, pub_hi, agree_hi, pub_lo], 0, 1),
                                [1.0, 1.0, -1.0, -1.0]) >= 2 / alpha).reshape(2, 2)
            lower_at_least = agree_lo <= 0 or (agree_lo <= 1 and up[0])
            upper_at_most = agree_hi >= 1 or (agree_hi >= 0 and down[0])
            if lower_at_least and upper_at_most:
                return True
            separate = (pub_hi < 0 or (pub_hi <= 1 and up[1])) or (pub_lo > 1 or (pub_lo >= 0 and down[1]))
            return separate and rank_rejects(n)
        return decided

    sums, squares = np.cumsum(cyc), np.cumsum((cyc - cyc[0]) ** 2)
    shifted = np.cumsum(cyc - cyc[0])

    def decided_t(n: int) -> bool:
        mean = float(sums[n - 1]) / n
        sd = math.sqrt(max(0.0, float(squares[n - 1]) - float(shifted[n - 1]) ** 2 / n) / (n - 1))
        hw = _t_half_width(n, sd, step, 1 - alpha)
        ours_lo, ours_hi = max(mean - hw, bounds[0]), min(mean + hw, bounds[1])
        d_lo, d_hi = ours_lo - (claim + half), ours_hi - (claim - half)
        return (-margin <= d_lo and d_hi <= margin) or ((d_lo > 0 or d_hi < 0) and rank_rejects(n))
    return decided_t


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

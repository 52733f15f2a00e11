"""A verdict on a published value: ours, over seeds, against the paper's number (REPORT.md and
REPRODUCTION.md use this one rule).

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
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ganbench.stats import (  # the interval machinery a verdict is made of
    CONFIDENCE,
    MAX_SEEDS,
    MIN_RUNS,
    _bet_base,
    _bounded,
    _finite,
    _mean_p,
    _t_half_width,
    _unit,
    _wealth,
    _z,
    mean_interval,
)

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

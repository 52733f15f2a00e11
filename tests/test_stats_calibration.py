"""ganbench.stats' verdicts are calibrated (issue 25, "Calibrated verdicts"): a Monte Carlo of
``verdict`` on outcome distributions like ours (piled at the ceiling, bimodal, continuous and bounded),
with the published claim drawn from our own process (one more run, the true mean, or the mean of ten
more runs with their SE), says "differs" at most 5 % of the time; and the new pieces (the betting
interval of a mean, the permutation test, Wilson's interval) on hand-checked cases."""
import math

import numpy as np
import pytest
from scipy import stats as sps

from ganbench import verdicts
from ganbench.stats import MIN_RUNS, mean_interval, permutation_p, welch_p, wilson
from ganbench.verdicts import verdict

K = 8  # modes


def _ceiling_80(rng, size):  # K of K modes in 80 % of runs, one missed in 15 %, two in 5 %
    return rng.choice([6.0, 7.0, 8.0], p=[0.05, 0.15, 0.80], size=size)


def _ceiling_90(rng, size):  # K of K in 90 %
    return rng.choice([7.0, 8.0], p=[0.10, 0.90], size=size)


def _bimodal(rng, size):  # 40 % of runs do not train (1-2 modes), 60 % do (7-8 modes)
    return rng.choice([1.0, 2.0, 7.0, 8.0], p=[0.2, 0.2, 0.3, 0.3], size=size)


def _hq_mixture(rng, size):  # HQ % in [0, 100]: 70 % of runs near 80 %, 30 % near 20 %
    trained = rng.random(size) < 0.7
    return np.where(trained, rng.beta(8, 2, size=size), rng.beta(2, 8, size=size)) * 100


# name: (draw, true mean, range, margin: the smallest the reproduction table uses, 1 mode / 5 points)
PROCESSES = {"ceiling-80": (_ceiling_80, 7.75, (0.0, K), 1.0),
             "ceiling-90": (_ceiling_90, 7.9, (0.0, K), 1.0),
             "bimodal": (_bimodal, 5.1, (0.0, K), 1.0),
             "hq-mixture": (_hq_mixture, 62.0, (0.0, 100.0), 5.0)}
REPS = 2000
ALLOWED = 0.05 + 2 * math.sqrt(0.05 * 0.95 / REPS)  # 5 % plus two Monte Carlo SEs (0.0597)


@pytest.mark.parametrize("name", PROCESSES)
def test_a_claim_drawn_from_our_own_process_rarely_differs(name, monkeypatch):
    """False "differs" rates measured here (REPS = 2000, the seeds below), with the claim as
    one more run / the true mean / the mean of 10 more runs with their SE:
        n =           5                   10                  20
    ceiling-80   0 / 0 / 0            0 / 0 / 0           0 / 0 / 0.0005
    ceiling-90   0 / 0 / 0            0 / 0 / 0           0 / 0 / 0
    bimodal      0 / 0 / 0            0 / 0 / 0.001       0 / 0 / 0.006
    hq-mixture   0 / 0 / 0.0005       0 / 0 / 0.0025      0 / 0 / 0.0075
    A claim without an SE cannot differ below 39 runs (the rank test's smallest p is 2 / (n + 1));
    at n = 40 (the next test) one more run differs at 0.0085 / 0 / 0 / 0.045. The mean test alone
    (our interval excluding the claim) is at 0-0.022 against the true mean, but at 0.26-0.94 against
    one more run on the bimodal and the mixture: why a bare claim must also pass the rank test."""
    monkeypatch.setattr(verdicts, "_seeds_needed", lambda *a: None)  # the label does not depend on it
    draw, mean, bounds, margin = PROCESSES[name]
    seen = {}

    def label(x, claim, se):  # discrete outcomes repeat: each distinct case is judged once
        key = (x, claim, se)
        if key not in seen:
            seen[key] = verdict(list(x), claim, se, margin, bounds=bounds).label
        return seen[key]

    for n in (5, 10, 20):
        rng = np.random.default_rng([25, n, list(PROCESSES).index(name)])
        differs = np.zeros(3)
        for _ in range(REPS):
            x, more = tuple(draw(rng, n)), draw(rng, 11)
            ten = more[1:]
            differs += [label(x, float(more[0]), None) == "differs",  # the claim is one more run
                        label(x, mean, None) == "differs",  # the claim is the true mean
                        label(x, float(ten.mean()), float(ten.std(ddof=1) / math.sqrt(10))) == "differs"]
        rates = differs / REPS
        assert (rates <= ALLOWED).all(), (name, n, rates)


def test_at_40_runs_a_claim_that_is_one_more_run_still_rarely_differs(monkeypatch):
    """From 39 runs the rank test can reject (a claim beyond all of ours): the intersection with the
    mean test keeps the rate under 5 % (measured: 0.0085, 0, 0, 0.045; the continuous mixture is at
    the rank test's own 2 / 41 = 0.049 times the share its mean test also rejects)."""
    monkeypatch.setattr(verdicts, "_seeds_needed", lambda *a: None)
    for i, (draw, _, bounds, margin) in enumerate(PROCESSES.values()):
        rng = np.random.default_rng([25, 40, i])
        rate = np.mean([verdict(list(x[:40]), float(x[40]), None, margin, bounds=bounds).label == "differs"
                        for x in (draw(rng, 41) for _ in range(REPS))])
        assert rate <= ALLOWED


def test_the_betting_interval_covers_where_the_t_interval_does_not():
    """Two seeds per cell in the old rule; here n = 5 from a process that mostly sits at the ceiling:
    the betting interval of the mean covers the true mean (7.9) always, as it must for any bounded
    distribution; it is deterministic in seed order."""
    rng = np.random.default_rng(7)
    samples = [_ceiling_90(rng, 5) for _ in range(500)]
    assert all(lo <= 7.9 <= hi for lo, hi in (mean_interval(x, (0, K)) for x in samples))
    # the t-interval of all-ceiling samples is the point 8 (SD 0): it misses 7.9 every time they occur
    all_top = sum((x == 8).all() for x in samples)
    assert all_top > 250  # 0.9^5 = 59 % of samples
    x = [8.0, 8.0, 8.0, 8.0, 1.0]  # the bets follow the seeds' order: a deterministic function of it
    assert mean_interval(x, (0, K)) == mean_interval(x, (0, K)) != mean_interval(x[::-1], (0, K))


def test_the_betting_interval_is_valid_and_not_far_from_the_best_possible():
    """All n seeds at the ceiling: no valid 95 % interval can have a lower end above the mean of the
    two-point distribution with P(top)^n = 2.5 %, i.e. p = 0.025^(1/n) of the range; the betting one
    reaches 80-90 % of that. A Bernoulli(p) with p just below that bound is covered at >= 95 %."""
    for n, lower in ((5, 3.62), (20, 6.53), (40, 7.22)):
        lo, hi = mean_interval([8.0] * n, (0, K))
        assert hi == 8.0 and lo == pytest.approx(lower, abs=0.01) and lo <= 8 * 0.025 ** (1 / n)
    rng = np.random.default_rng(3)
    p = 0.025 ** (1 / 5)
    covered = np.mean([lo <= p <= hi for lo, hi in (mean_interval(rng.random(5) < p, (0, 1))
                                                    for _ in range(2000))])
    assert covered >= 0.95
    # outside the range the interval widens (never clips), unbounded falls back to Student t
    assert mean_interval([9.0] * 5, (0, K))[1] == 9.0
    t_lo, t_hi = mean_interval([1.0, 2.0, 3.0, 4.0], confidence=0.9)
    assert t_hi - 2.5 == pytest.approx(sps.t.ppf(0.95, 3) * math.sqrt(5 / 3) / 2)
    assert mean_interval([3.0], (0.0, math.inf)) == (0.0, math.inf)


def test_power_a_far_claim_differs_and_a_close_one_agrees():
    # 20 seeds all at 8 of 8 modes against a bare claim of 2: the mean test rejects (p < 0.001) but a
    # single run at 2 below all 20 of ours has p = 2 / 21 = 0.095: undecided, 39 seeds would decide
    v = verdict([8.0] * 20, 2, None, 1.0, bounds=(0, K))
    assert v.label == "undecided" and v.seeds_needed == 39 and v.excludes_claim
    assert v.p_mean < 0.001 and v.p_rank == pytest.approx(2 / 21) and v.percentile == 0
    assert v.text(1) == ("undecided: differs from our mean (interval [6.5, 8.0], p < 0.001) but not as one run "
                         "(claim below all 20 of our runs, p = 0.095); 39 seeds would decide it")
    v = verdict([8.0] * 39, 2, None, 1.0, bounds=(0, K))
    assert v.label == "differs" and v.p_rank == pytest.approx(0.05)
    assert v.text(0) == ("differs from our mean (interval [7, 8], p < 0.001) and as one run "
                         "(claim below all 39 of our runs, p = 0.05)")
    # the same claim as a paper's mean +- SE 0.5: differs from 5 seeds on
    assert verdict([8.0] * 5, 2, 0.5, 1.0, bounds=(0, K)).label == "differs"
    # a claim at a tight process mean (7.9: 90 % of runs at 8 of 8), 20 seeds, margin 2 modes: agrees
    rng = np.random.default_rng(11)
    labels = [verdict(list(_ceiling_90(rng, 20)), 7.9, None, 2.0, bounds=(0, K)).label for _ in range(200)]
    assert labels.count("agrees") == 200
    # HQ %: runs of a process at 90 +- 3 % against a claim of 89. Over 20 runs the mean's interval is
    # about [74, 97]: no valid one can be much narrower at the bottom (20 runs at 90 are 2.5 % likely
    # under 17 % of runs at 0 %, mean 75), so a margin of 10 points agrees from 40 runs, 20 from 20
    x = list(np.clip(rng.normal(90, 3, 40), 0, 100))
    assert verdict(x[:20], 89, None, 10.0, bounds=(0, 100)).label == "undecided"
    assert verdict(x[:20], 89, None, 20.0, bounds=(0, 100)).label == "agrees"
    assert verdict(x, 89, None, 10.0, bounds=(0, 100)).label == "agrees"


def test_agrees_within_the_margin_is_flagged_when_our_interval_excludes_the_claim():
    x = [70.0, 72.0, 71.0, 73.0, 72.0, 71.0, 70.0, 72.0, 71.0, 73.0] * 4
    v = verdict(x, 62, None, 15.0, bounds=(0, 100))
    assert v.label == "agrees" and v.excludes_claim and v.p_mean <= 0.05
    lo, hi = mean_interval(x, (0, 100))
    assert (v.lo, v.hi) == (pytest.approx(lo - 62), pytest.approx(hi - 62)) and (v.mean_lo, v.mean_hi) == (lo, hi)
    assert v.text(0) == f"agrees within ±15, though our interval [{lo:.0f}, {hi:.0f}] excludes the claim"
    assert verdict(x, 71, None, 15.0, bounds=(0, 100)).text(0) == "agrees within ±15"


def test_fewer_than_five_runs_get_no_verdict():
    for xs in ([], [8.0], [8.0, 8.0], [8.0, 7.0, 8.0, float("nan"), None, 8.0]):
        v = verdict(xs, 2, None, 1.0, bounds=(0, K))
        n = len([x for x in xs if x is not None and math.isfinite(x)])
        assert v.label == "too few runs" and v.n == n and v.seeds_needed is None
        assert v.text(0) == f"too few runs ({n} of the {MIN_RUNS} needed)"
    assert verdict([4, 4, 4, 4], 3, 0.1, 0.5).label == "too few runs"
    assert verdict([4, 4, 4, 4, 4], 3, 0.1, 0.5, step=1.0).label != "too few runs"


def test_seeds_needed_is_where_repeating_our_seeds_would_decide():
    """seeds_needed = N: our values repeated in turn to N seeds decide (agrees or differs), to N - 1
    they do not."""
    cases = [([8.0, 7.0, 8.0, 8.0, 6.0], 7.75, None, 1.0, (0, K)),  # agrees once the interval narrows
             ([8.0, 7.0, 8.0, 8.0, 8.0], 5.0, None, 0.5, (0, K)),  # differs from 39 seeds (rank test)
             ([8.0, 1.0, 7.0, 2.0, 8.0, 8.0], 3.5, 0.4, 1.0, (0, K)),  # bimodal against a mean +- SE
             ([61.0, 74.0, 58.0, 80.0, 66.0], 60.0, 2.0, 6.0, (0, 100)),
             ([61.0, 74.0, 58.0, 80.0, 66.0], 60.0, 2.0, 6.0, (-math.inf, math.inf))]  # Student t
    for xs, claim, se, margin, bounds in cases:
        v = verdict(xs, claim, se, margin, bounds=bounds)
        assert v.label == "undecided" and v.seeds_needed is not None, xs
        n = v.seeds_needed
        assert verdict(np.resize(xs, n), claim, se, margin, bounds=bounds).label != "undecided"
        assert verdict(np.resize(xs, n - 1), claim, se, margin, bounds=bounds).label == "undecided"
        assert f"{n} seeds would decide it" in v.text(1)
    # a paper's SE of 3 against a margin of 1: the claim alone is too uncertain ever to agree
    v = verdict([50, 52, 48, 50, 51], 51, 3.0, margin=1, bounds=(0, 100))
    assert v.label == "undecided" and v.seeds_needed is None
    assert v.text(0).endswith("no number of seeds up to 1,000 would decide it")


def test_verdicts_stay_fast():
    import time

    rng = np.random.default_rng(0)
    cases = [(list(_bimodal(rng, n)), c, se)
             for n in (5, 10, 20, 40) for c, se in ((5.0, None), (3.0, 0.5), (7.9, None))]
    start = time.perf_counter()
    for xs, c, se in cases * 5:
        verdict(xs, c, se, 1.0, bounds=(0, K))
    assert (time.perf_counter() - start) / (5 * len(cases)) < 0.02  # about 1-3 ms on one shared core


def test_the_permutation_test_is_exact_for_small_groups_and_never_zero():
    assert permutation_p([4, 4], [3, 3]) == 1 / 3  # 2 of the 6 splits are as far apart
    assert permutation_p([4, 4, 4], [4, 4]) == 1.0 and permutation_p([5.0, 5.0], [5.0, 5.0, 5.0]) == 1.0
    assert welch_p([4, 4], [3, 3]) == 1 / 3 and welch_p([1, 1], [1, 1]) == 1.0  # no more p = 0
    assert math.isnan(permutation_p([1], [2, 3])) and math.isnan(permutation_p([1, 2], [None, float("nan")]))
    # against a brute force over all splits, two-sided on |difference of means|
    import itertools

    rng = np.random.default_rng(1)
    for na, nb in ((3, 4), (5, 5), (2, 7)):
        a, b = list(rng.integers(0, 8, na).astype(float)), list(rng.integers(2, 9, nb).astype(float))
        pool, obs = a + b, abs(np.mean(a) - np.mean(b))
        splits = list(itertools.combinations(range(na + nb), na))
        hits = sum(abs(np.mean([pool[i] for i in s]) - np.mean([pool[i] for i in range(na + nb) if i not in s]))
                   >= obs - 1e-9 for s in splits)
        assert permutation_p(a, b) == hits / len(splits)
    # Monte Carlo above 20,000 splits (10 + 10: 184,756): seeded, within its error of scipy's, and > 0
    a, b = list(rng.normal(0, 1, 10)), list(rng.normal(1.2, 1, 10))
    p = permutation_p(a, b)
    assert p == permutation_p(a, b) and p != permutation_p(a, b, seed=1)
    ref = sps.permutation_test((a, b), lambda x, y: abs(np.mean(x) - np.mean(y)), n_resamples=50_000,
                               alternative="greater", random_state=0).pvalue
    assert p == pytest.approx(ref, abs=4 * math.sqrt(ref / 9_999) + 1e-4)
    assert permutation_p([0.0] * 10, [1.0] * 10) == 1 / 10_000  # the smallest p: (1 + 0) / (1 + 9,999)


def test_wilson_matches_the_textbook():
    assert wilson(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    lo, hi = wilson(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson(10, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)
    for k, n in ((3, 17), (1, 5), (40, 40)):
        ref = sps.binomtest(k, n).proportion_ci(method="wilson")
        assert wilson(k, n) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert all(math.isnan(v) for v in wilson(0, 0))
    with pytest.raises(ValueError):
        wilson(3, 2)

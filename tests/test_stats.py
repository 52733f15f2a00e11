"""ganbench.stats: intervals, verdicts, Holm, on hand-computed cases and against scipy / statsmodels-
free references."""
import math

import numpy as np
import pytest
from scipy import stats as sps

from ganbench.metric_spec import metric_range
from ganbench.stats import holm, interval, welch_p
from ganbench.verdicts import verdict


def test_the_interval_is_students_t_and_states_n():
    iv = interval([1.0, 2.0, 3.0, 4.0, None, float("nan")])
    assert iv.n == 4 and iv.mean == 2.5
    sd = math.sqrt(5 / 3)
    assert iv.sd == pytest.approx(sd)
    assert iv.half_width == pytest.approx(sps.t.ppf(0.975, 3) * sd / 2)  # 3.182 x 1.291 / 2
    lo, hi = sps.t.interval(0.95, 3, loc=2.5, scale=sd / 2)
    assert (iv.lo, iv.hi) == (pytest.approx(lo), pytest.approx(hi))
    assert iv.text(1) == f"2.5 [{lo:.1f}, {hi:.1f}] (n = 4)"
    assert interval([7.0]).text(0) == "7 (n = 1)" and interval([]).text(0) == "-"


def test_all_seeds_alike_still_leave_the_rule_of_three():
    """A tie is no proof: 10 seeds all at 100 % of 4 modes (step 25 points) keep a half-width of 3 x 25 / 10."""
    iv = interval([100.0] * 10, step=25.0)
    assert iv.sd == 0 and iv.half_width == pytest.approx(7.5)


def test_an_interval_stops_at_the_ends_of_the_metrics_range():
    """HQ % of 0, 0 and 35.7 (sd 20.6, n 3): the t-interval 11.9 +- 51.2 would reach -39 %; it stops at
    0 %. The half-width (the spread) is kept; only the printed and plotted ends are clipped."""
    iv = interval([0.0, 0.0, 35.7], bounds=metric_range("hq_fraction", 8, 100.0))
    assert iv.half_width == pytest.approx(sps.t.ppf(0.975, 2) * np.std([0, 0, 35.7], ddof=1) / math.sqrt(3))
    assert iv.lo == 0.0 and iv.hi == pytest.approx(11.9 + iv.half_width)
    assert iv.text(1) == f"11.9 [0.0, {11.9 + iv.half_width:.1f}] (n = 3)"
    # 8, 8, 7 of 8 modes: the top end is 8 modes, not 9
    assert interval([8, 8, 7], step=1.0, bounds=metric_range("modes", 8)).hi == 8.0
    assert metric_range("reverse_kl", 25) == (0.0, pytest.approx(math.log(25)))
    assert metric_range("classifier_score", 1000) == (1.0, 1000.0)
    assert metric_range("kid_mean", 10, 1000.0) == (-math.inf, math.inf)  # unbiased KID can be negative
    assert interval([-1.0, 1.0]).lo < -1  # no range given: nothing clipped


def test_verdicts_agree_differ_or_say_how_many_seeds_would_decide():
    """A paper's mean +- SE: the difference's 95 % interval is our 97.5 % interval of the mean plus the
    claim's 97.5 % normal interval. Unbounded here (no ``bounds``), so ours is Student t."""
    # Ours 50, 52, 48, 50, 50 (sd 1.414, n 5) against 50 +- 1 with margin 5: the difference's interval
    # is 0 +- (t(4, .9875) 1.414 / sqrt(5) + z(.9875) 1) = +-(2.211 + 2.241) = +-4.45, inside +-5: agrees
    ours = [50, 52, 48, 50, 50]
    v = verdict(ours, 50, 1.0, margin=5)
    hw = sps.t.ppf(0.9875, 4) * math.sqrt(2) / math.sqrt(5) + sps.norm.ppf(0.9875) * 1.0
    assert v.label == "agrees" and (v.lo, v.hi) == (pytest.approx(-hw), pytest.approx(hw)) and v.n == 5
    assert v.text(1) == "agrees within ±5 (difference +0.0 [-4.5, +4.5])"
    # against 60: the interval -10 +- 4.45 excludes 0: differs
    v = verdict(ours, 60, 1.0, margin=5)
    assert v.label == "differs" and v.text(1) == "differs (difference -10.0 [-14.5, -5.5])"
    # against 53: -3 +- 4.45 straddles 0 and passes -5: undecided; repeating our seeds, 19 would decide
    v = verdict(ours, 53, 1.0, margin=5)
    assert v.label == "undecided" and v.seeds_needed == 19
    assert v.text(1) == "undecided (difference -3.0 [-7.5, +1.5]); 19 seeds would decide it"
    assert verdict(np.resize(ours, 19), 53, 1.0, margin=5).label == "differs"
    assert verdict(np.resize(ours, 18), 53, 1.0, margin=5).label == "undecided"
    # a published SE of 3 against margin 1: the published value alone is too uncertain to ever agree,
    # and at 50.4 against 51 the difference stays within the interval: no number of seeds decides
    assert verdict([50, 52, 48, 50, 52], 51, 3.0, margin=1).seeds_needed is None
    # against 52.5 +- 0.1: -2.5 +- 2.43 lies inside +-5 (agrees wins over differs), though our own
    # interval excludes 52.5: said
    v = verdict(ours, 52.5, 0.1, margin=5)
    assert v.label == "agrees" and v.excludes_claim and v.hi < 0
    assert v.text(1) == ("agrees within ±5 (difference -2.5 [-4.9, -0.1]), "
                         "though our interval [48.2, 51.8] excludes the claim")


def test_an_unknown_published_se_is_not_zero_and_a_tie_is_not_agreement():
    """A claim without an SE is tested as a mean and as one run; it differs only when both reject."""
    # one-number claim 75 against ours 75, 80, 70, 75, 80, 70, 75 (sd 4.08): t-interval 75 +- 3.78
    # (unbounded) lies within +-10: agrees
    ours = [75, 80, 70, 75, 80, 70, 75]
    v = verdict(ours, 75, None, margin=10)
    hw = sps.t.ppf(0.975, 6) * np.std(ours, ddof=1) / math.sqrt(7)
    assert v.label == "agrees" and v.hi == pytest.approx(hw) and v.percentile == 50 and v.p_rank == 1
    # on the range 0-100 (``metric_range``) the interval valid for any distribution is [42, 94]
    v = verdict(ours, 75, None, margin=10, bounds=(0, 100))
    assert v.label == "undecided" and (round(v.mean_lo), round(v.mean_hi)) == (42, 94)
    # seeds all alike: 2 at the claim get no verdict (the old rule said "agrees"), 10 at 100 %
    # against 75 % are not yet proof: 75 could be one run of a process that sometimes gives 75
    assert verdict([100, 100], 100, None, margin=10, step=25).label == "too few runs"
    v = verdict([100.0] * 10, 75, None, margin=10, step=25, bounds=(0, 100))
    assert v.label == "undecided" and v.seeds_needed == 39 and v.p_rank == pytest.approx(2 / 11)
    # unbounded, the rule of three keeps 3 x 25 / 10 = 7.5 points: our mean's interval [92.5, 107.5]
    # excludes 75, the rank does not (p = 2 / 11)
    v = verdict([100.0] * 10, 75, None, margin=10, step=25)
    assert v.label == "undecided" and v.lo == pytest.approx(17.5) and v.excludes_claim
    assert v.text(0) == ("undecided: differs from our mean (interval [92, 108], p < 0.001) but not as one run "
                         "(claim below all 10 of our runs, p = 0.18); 39 seeds would decide it")
    v = verdict([100.0] * 39, 75, None, margin=10, step=25, bounds=(0, 100))
    assert v.label == "differs" and v.p_rank == pytest.approx(0.05)
    with pytest.raises(ValueError, match="margin"):
        verdict([1, 2], 1, None, margin=-1)
    with pytest.raises(ValueError, match="published_se"):
        verdict([1, 2, 3, 4, 5], 1, -1.0, margin=1)


def test_holm_matches_the_textbook_and_welch_matches_scipy():
    # p = .01, .04, .03, .005 (m = 4): sorted .005 x4 = .02, .01 x3 = .03, .03 x2 = .06, .04 x1 = .06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == [pytest.approx(x) for x in (0.03, 0.06, 0.06, 0.02)]
    assert math.isnan(holm([0.5, float("nan"), 0.9])[1])
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # 0.5 x 2 = 1, then max(1, 0.9 x 1)
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 9.0, 1.0]
    assert welch_p(a, b) == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    rng = np.random.default_rng(0)
    for na, nb, shift in ((2, 2, 0.0), (3, 10, 1.0), (10, 10, 0.3), (5, 4, 5.0)):
        a, b = list(rng.normal(size=na)), list(rng.normal(shift, 2.0, size=nb))
        assert welch_p(a, b) == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
    a = [0.0, 0.0, 0.0]  # one constant side
    assert welch_p(a, b) == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
    # both constant: the permutation test's exact p (2 of the 6 splits), never 0
    assert welch_p([1, 1], [1, 1]) == 1.0 and welch_p([1, 1], [2, 2]) == 1 / 3 and math.isnan(welch_p([1], [2, 3]))

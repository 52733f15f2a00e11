"""Issue 25: every run counts, failures are rates, baselines say whether a metric can tell, and the
settled rule needs a doubling of iterations. Synthetic records: no training."""
import math

import numpy as np
import pytest

from ganbench.baselines import BASELINES, baseline_samples, saturated, score_baselines
from ganbench.convergence import settle_window, trajectory_state
from ganbench.metrics.modes import mode_stats, modes_at_fair_share
from ganbench.population import outcomes, run_value, trained_value
from ganbench.report_tables import outcomes_table, records_frame, summarise, wide_table


def _rec(variant="vanilla", seed=0, modes=8, hq=0.5, n_modes=None, status="ok", traj_hq=None, samples=None):
    """A 2-D ring record with final metrics and a trajectory ending at ``hq``."""
    got = modes if n_modes is None else n_modes
    metrics = None if status == "diverged" else {
        "modes": got, "n_modes": modes, "hq_fraction": hq, "reverse_kl": 0.1 if hq > 0 else None,
        "kmeans_coverage": got / modes, "mode_counts": [int(2500 * hq / max(got, 1))] * got + [0] * (modes - got),
        "n_samples": 2500, "fid": 0.5}
    steps = [100, 200, 500, 1000, 1500]
    traj_hq = traj_hq or [hq] * len(steps)
    rng = np.random.default_rng(seed)
    return {"id": f"{variant}{seed}{modes}", "status": status, "metrics": metrics,
            "config": {"variant": variant, "layout": "ring", "std": 0.01, "modes": modes, "seed": seed, "iters": 1500},
            "trajectory": {"step": steps, "modes": [got] * len(steps), "hq_fraction": traj_hq},
            "samples": samples if samples is not None else rng.standard_normal((50, 2)).tolist(), "mode_std": 0.01,
            "evaluation": {"n_samples": 2500}, "timings": {}}


def test_a_cells_mean_is_over_all_runs_untrained_ones_included():
    recs = [_rec(seed=s, hq=0.8, n_modes=8) for s in range(3)] + [_rec(seed=s, hq=0.01, n_modes=2) for s in (3, 4)]
    s = summarise(records_frame(recs)).iloc[0]
    assert s["modes_n"] == 5 and s["modes_mean"] == pytest.approx((3 * 8 + 2 * 2) / 5)
    assert s["modes_trained_n"] == 3 and s["modes_trained_mean"] == 8  # the labelled secondary column
    assert s["o_untrained"] == 2 and 0.1 < s["o_untrained_lo"] < 0.4 < s["o_untrained_hi"] < 0.9  # Wilson
    assert "(n = 5)" in wide_table(summarise(records_frame(recs)), "modes", 1).iloc[0, 0]


def test_a_diverged_run_counts_as_total_failure_and_is_named_where_it_has_no_value():
    recs = [_rec(seed=s, hq=0.9) for s in range(4)] + [_rec(seed=4, status="diverged")]
    div = recs[-1]
    assert run_value(div, "modes") == 0 and run_value(div, "hq_fraction") == 0
    assert run_value(div, "reverse_kl") == pytest.approx(math.log(8)) and run_value(div, "fid") is None
    assert trained_value(div, "modes") is None and outcomes(div)["diverged"]
    s = summarise(records_frame(recs))
    assert s.iloc[0]["modes_mean"] == pytest.approx(32 / 5)
    assert wide_table(s, "fid", 2).iloc[0, 0].endswith("(n = 4, 1 diverged)")
    assert "diverged 1/5: 20 %" in outcomes_table(s).iloc[0, 0]


def test_a_run_without_hq_sample_counts_reverse_kl_as_ln_k():
    r = _rec(hq=0.0, n_modes=0)
    assert run_value(r, "reverse_kl") == pytest.approx(math.log(8))


def test_collapse_to_a_point_and_to_one_mode_are_outcomes():
    point = _rec(hq=0.0, n_modes=0, samples=(np.zeros((50, 2)) + 0.0006 * np.arange(50)[:, None] / 50).tolist())
    one_mode = _rec(hq=0.9, n_modes=1)
    healthy = _rec(hq=0.9, n_modes=8)
    assert outcomes(point)["collapsed"] and outcomes(point)["untrained"]
    assert outcomes(one_mode)["collapsed"] and not outcomes(one_mode)["every mode"]
    assert not outcomes(healthy)["collapsed"] and outcomes(healthy)["every mode"]
    # a line through the ring "captures" all modes but is untrained: not credited with every mode
    assert not outcomes(_rec(hq=0.02, n_modes=8))["every mode"]
    # a structureless-like run: all 8 modes captured, but 20 % HQ spread evenly is under half a fair share
    assert not outcomes(_rec(hq=0.2, n_modes=8))["every mode"]


@pytest.mark.parametrize("k", [4, 8, 16, 32])
def test_the_fair_share_measure_separates_a_learnt_ring_from_a_structureless_one(k):
    n = 2500
    structureless, mix = baseline_samples("structureless", "ring", k, 0.01, n)
    # a learnt ring: the modes, somewhat wider than the data's (HQ ~ 87 %), evenly weighted
    rng = np.random.default_rng(1)
    learnt = mix.centers[rng.integers(0, k, n)] + 0.015 * rng.standard_normal((n, 2))
    s, lt = mode_stats(structureless, mix.centers, 0.01), mode_stats(learnt, mix.centers, 0.01)
    assert s["modes"] == k and lt["modes"] == k         # modes captured cannot tell them apart ...
    assert s["modes_fair"] <= 0.1 * k and lt["modes_fair"] >= 0.9 * k  # ... the fair-share measure can
    scores = score_baselines("ring", k, 0.01)
    assert saturated(scores, "modes", k) and saturated(scores, "kmeans_coverage", k)
    assert not saturated(scores, "modes_fair", k) and not saturated(scores, "hq_fraction", k)
    assert set(scores) == set(BASELINES) and scores["single point"]["modes"] == 1


def test_modes_at_fair_share_counts_modes_with_half_their_share():
    assert modes_at_fair_share([50, 50, 24, 26], 200) == 3  # fair share 50: 25 is half
    with pytest.raises(ValueError):
        modes_at_fair_share([], 10)
    with pytest.raises(ValueError):
        modes_at_fair_share([1, 2], 0)
    # records made before the metric existed get it from their mode counts
    r = _rec(hq=0.8, n_modes=4)
    r["metrics"].pop("modes_fair", None)
    assert run_value(r, "modes_fair") == 4


def test_settled_needs_a_doubling_of_iterations_and_three_points():
    assert settle_window([100, 200, 500, 1000, 1500]) == 2      # 500 is the last point <= 750
    assert settle_window([2000, 5000, 10000]) == 0              # 5000 <= 5000, moved back to 3 points
    assert settle_window([1000, 1500]) is None                  # too few points
    assert settle_window([900, 1000, 1500]) is None              # nothing at or below half the budget
    steps = [100, 200, 500, 1000, 1500]

    def state(modes, hq, k=8):
        return trajectory_state({"step": steps, "modes": modes, "hq_fraction": hq}, k)

    assert state([8] * 5, [0.5, 0.6, 0.8, 0.85, 0.86]) == "settled"     # the window is 500 .. 1500
    # the last two points agree, but HQ moved 20 points since half the budget: not settled
    assert state([8] * 5, [0.2, 0.4, 0.6, 0.80, 0.80]) == "changing"
    assert state([2, 3, 5, 8, 8], [0.8] * 5) == "changing"              # 3 modes since 500
    assert state([8] * 5, [0.5] * 4 + [0.01]) == "untrained"
    assert trajectory_state({"step": steps, "modes": [8] * 5, "hq_fraction": [0.9] * 5}, 8, "diverged") == "diverged"
    assert trajectory_state(None, 8) == "no trajectory"


def test_an_image_run_is_judged_by_its_classes_its_confident_share_and_its_gate():
    from ganbench.convergence import run_state

    steps = [100, 200, 500, 1000, 2000]

    def rec(modes, confident, untrained=False):
        return {"config": {"layout": "mnist", "modes": 10}, "status": "ok", "metrics": {"untrained": untrained},
                "trajectory": {"step": steps, "modes": modes, "kl_to_uniform": [0.1] * 5,
                               "confident_fraction": confident}}

    assert run_state(rec([10] * 5, [0.3, 0.5, 0.8, 0.85, 0.86])) == "settled"    # within 10 points since 500
    assert run_state(rec([10] * 5, [0.2, 0.3, 0.5, 0.7, 0.8])) == "changing"
    assert run_state(rec([4, 5, 6, 8, 10], [0.8] * 5)) == "changing"             # 4 classes since 500
    # the gate, relative to the real digits' share, says untrained; no fixed threshold of its own
    assert run_state(rec([10] * 5, [0.3] * 5, untrained=True)) == "untrained"
    assert run_state(rec([10] * 5, [0.03] * 5, untrained=False)) == "settled"


def test_an_image_run_with_every_class_seen_is_credited_with_every_mode():
    from ganbench.population import outcomes

    def rec(classes, untrained=False):
        return {"config": {"layout": "mnist", "modes": 10, "variant": "vanilla"}, "status": "ok",
                "metrics": {"modes": classes, "untrained": untrained}}

    assert outcomes(rec(10))["every mode"] and not outcomes(rec(9))["every mode"]
    assert not outcomes(rec(10, untrained=True))["every mode"]  # the gate: noise's labels credit nothing


def test_training_time_counts_a_run_trained_on_from_a_shorter_one_once():
    """An extension's train_s includes its base's (both parts of its training); the report's sum over
    runs must not count the base's part twice when the base record is there too."""
    base = {"id": "b", "timings": {"train_s": 100.0, "ensemble_size": 2}}
    ext = {"id": "e", "timings": {"train_s": 100.0 + 60.0, "ensemble_size": 2}, "extended_from": {"id": "b"}}
    from ganbench.report_tables import _run_share
    assert _run_share(base, {}) == 50.0
    assert _run_share(ext, {"b": base}) == 30.0  # its own 60 s, shared by 2 members
    assert _run_share(ext, {}) == 80.0  # base record gone: the whole cumulative time is this run's

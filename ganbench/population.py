"""Which value of a run counts in a table cell: the one rule that REPORT.md's mixture and image tables and
REPRODUCTION.md share (issue 25: "count every run").

Every run of a cell is in its population. A run that did not train, collapsed to a point or diverged is
an outcome of the method at that budget, so it keeps the value its samples give (a line through the ring
"captures" the modes it crosses, and says so), and the failure itself is a rate beside the number
(``outcomes``). The only values a run does not have:

- a 2-D run without a high-quality sample has no reverse KL (p_HQ is undefined): it counts as ln K, the
  value of total collapse;
- a diverged run has no samples to score: its mode metrics count as total failure (0 modes, 0 % HQ,
  0 % coverage, reverse KL ln K); its distribution metrics (FID, ...) have no value and the cell says
  how many runs it leaves out;
- an image run that fails the sanity gate (the evaluator is confident on too few of its samples) has no
  class metrics: the evaluator's labels of noise are not classes. They are withheld, and the cell says so
  (the issue allows gating or a caveat here; the untrained rate is beside it). A diverged image run's
  class metrics count as total failure (no class seen, KL to uniform ln K, classifier score 1).

A number conditional on training (runs neither untrained nor diverged) may sit beside, labelled:
``trained_value``.
"""
from __future__ import annotations

import math

from ganbench.convergence import UNTRAINED_HQ, run_state

# The metrics of a 2-D run that count its modes: total failure for a diverged run.
MODE_METRICS_FAILED = {"modes": 0.0, "modes_fair": 0.0, "hq_fraction": 0.0, "kmeans_coverage": 0.0}
CLASS_METRICS = frozenset({"modes", "kl_to_uniform", "classifier_score"})  # of an image run's evaluator
OUTCOMES = ("untrained", "collapsed", "diverged", "every mode")


def is_mixture(rec: dict) -> bool:
    from ganbench.datasets import DATASETS  # torch-free registry

    return rec["config"]["layout"] not in DATASETS


def _modes(rec: dict) -> int:
    m = rec.get("metrics") or {}
    return int(m.get("n_modes") or rec["config"].get("modes") or 0)


def run_value(rec: dict, metric: str) -> float | None:
    """The value ``metric`` of this run contributes to its cell (module docstring), None when it has none."""
    m = rec.get("metrics") or {}
    if is_mixture(rec):
        if not m:
            if rec.get("status") != "diverged":
                return None
            if metric == "reverse_kl":
                return math.log(_modes(rec))
            return MODE_METRICS_FAILED.get(metric)
        if metric == "reverse_kl" and m.get("reverse_kl") is None and "hq_fraction" in m:
            return math.log(_modes(rec))
        if metric == "modes_fair" and m.get("modes_fair") is None and m.get("mode_counts"):
            from ganbench.metrics.modes import modes_at_fair_share  # records made before the metric existed

            return float(modes_at_fair_share(m["mode_counts"], m["n_samples"])) if m.get("n_samples") else None
    elif not m and rec.get("status") == "diverged" and metric in CLASS_METRICS:
        # a diverged image run: no digits at all (no class seen, all mass nowhere: KL as total collapse)
        return {"modes": 0.0, "kl_to_uniform": math.log(max(_modes(rec), 1)), "classifier_score": 1.0}[metric]
    elif metric in CLASS_METRICS and m.get("untrained"):
        return None
    v = m.get(metric)
    return None if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) else float(v)


def withheld(rec: dict, metric: str) -> bool:
    """Whether this run's ``metric`` is left out of its cell because the run failed (diverged, or an
    image run under the sanity gate): cells say how many runs they leave out."""
    return run_value(rec, metric) is None and rec.get("status") in ("ok", "diverged")


def trained_value(rec: dict, metric: str) -> float | None:
    """The run's value for a column conditional on training (None for untrained or diverged runs)."""
    if failed_to_train(rec):
        return None
    return run_value(rec, metric)


def failed_to_train(rec: dict) -> bool:
    if rec.get("status") == "diverged":
        return True
    if is_mixture(rec):
        state = run_state(rec)
        if state == "no trajectory":  # a record without one (made by hand, or before trajectories)
            hq = (rec.get("metrics") or {}).get("hq_fraction")
            return hq is not None and hq < UNTRAINED_HQ
        return state == "untrained"
    return bool((rec.get("metrics") or {}).get("untrained"))


def _spread(samples) -> float | None:
    import numpy as np

    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2 or not np.isfinite(x).all():
        return None
    return float(np.sqrt(x.var(axis=0).sum()))


def outcomes(rec: dict) -> dict[str, bool]:
    """The run's failure (and success) outcomes, each a yes / no that tables turn into a rate:
    **untrained** (2-D: final HQ under 5 %; images: under the sanity gate), **collapsed** (all its
    high-quality mass in at most one mode, or its samples a point: spread under one mode's SD),
    **diverged**, **every mode** (a trained run with all K modes at half their fair share / all K classes)."""
    m = rec.get("metrics") or {}
    diverged = rec.get("status") == "diverged"
    untrained = failed_to_train(rec) and not diverged
    k = _modes(rec)
    if is_mixture(rec):
        spread = _spread(rec.get("samples") or [])
        point = spread is not None and spread < float(rec.get("mode_std") or rec["config"].get("std") or 0)
        collapsed = not diverged and (point or (bool(m) and m.get("hq_fraction", 0) > 0 and m.get("modes", 0) <= 1))
        # every mode at half its fair share: on rings one stray sample "captures" a mode (ganbench.baselines)
        every = not diverged and not untrained and bool(m) and run_value(rec, "modes_fair") == k
    else:
        collapsed = not diverged and not untrained and bool(m) and (m.get("modes") or 0) <= 1
        # every class seen (images have no fair-share measure)
        every = not diverged and not untrained and bool(m) and run_value(rec, "modes") == k
    return {"untrained": untrained, "collapsed": bool(collapsed), "diverged": diverged, "every mode": bool(every)}

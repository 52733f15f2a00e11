"""REPORT.md's sections of a mixture grid that stand on their own: how the runs ended, the outcome
rates, the pairwise tests, the baselines (``ganbench.report`` assembles them)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from ganbench.baselines import BASELINES, STRUCTURELESS, saturated, saturates, score_baselines
from ganbench.config import RunConfig
from ganbench.convergence import SETTLED_HQ, SETTLED_MODES, SETTLED_POINTS, UNTRAINED_HQ
from ganbench.report_output import Section
from ganbench.report_tables import (
    PAIRWISE_KEY,
    RUN_STATES,
    _md,
    _states_table,
    outcomes_table,
    pairwise_comparisons,
)
from ganbench.stats import MIN_RUNS

# --- sections ------------------------------------------------------------------------------------

def _convergence_section(s: pd.DataFrame, tables: Path, tag: str) -> Section:
    t = _states_table(s)
    n = {st: int(s[f"state_{st}"].sum()) for st in RUN_STATES}
    return Section(["### How the runs ended", "",
            "Each run is judged from its own trajectory (evaluated during training at 10, 20, 50, 100, ... "
            f"iterations): **untrained** if under {UNTRAINED_HQ:.0%} of its final samples are high quality, "
            f"**settled** if, over a window spanning at least a doubling of iterations and {SETTLED_POINTS} or more "
            f"trajectory points (from the last point at or below half the budget), modes captured moved by at most "
            f"{SETTLED_MODES:.0%} of the modes (at least 1) and HQ by at most {SETTLED_HQ * 100:.0f} points, else "
            "**changing** (its numbers describe this budget, not the variant; `ganbench run --iters auto` trains "
            f"until runs settle). Here: {n['settled']} settled, {n['changing']} changing, {n['untrained']} untrained, "
            f"{n['diverged']} diverged.", "", _md(t), ""]).file(tables / f"states_{tag}.md", _md(t) + "\n")


def _outcomes_section(s: pd.DataFrame, tables: Path, tag: str) -> Section:
    t = outcomes_table(s)
    return Section(["### Outcomes: how often each variant fails", "",
            f"Every run is in its cell's numbers; failures are outcomes with their own rates (k/n: share "
            f"[Wilson 95 % interval]): **untrained** (final HQ under {UNTRAINED_HQ:.0%}), **collapsed** (all "
            "high-quality samples in at most one mode, or the samples a point: spread under one mode's SD), "
            "**diverged** (its mode metrics count as total failure: 0 modes, 0 % HQ, reverse KL ln K), and "
            "**every mode**, a trained run with all K modes at half their fair share (modes captured is saturated: "
            "see the baselines).", "", _md(t), ""]).file(tables / f"outcomes_{tag}.md", _md(t) + "\n")


def auto_round_ids(records: list[dict], out: Path | None = None) -> tuple[set[str], dict[str, RunConfig]]:
    """The ids of the concrete records that are rounds of an ``--iters auto`` job (``ganbench.auto``), and
    the auto jobs marked in ``out`` that have no auto record yet (unfinished), by id."""
    from ganbench.auto import auto_jobs, round_budgets

    jobs = auto_jobs(out) if out is not None else {}
    for r in records:
        if r.get("auto"):
            try:
                jobs.setdefault(r["id"], RunConfig(**r["config"]))
            except (TypeError, ValueError):
                continue
    rounds = {replace(job, iters=b, auto_cap=None).run_id for job in jobs.values() for b in round_budgets(job)}
    finished = {r["id"] for r in records if r.get("auto")}
    return rounds, {i: j for i, j in jobs.items() if i not in finished}


def _stops(recs: list[dict]) -> str:
    """Where the auto runs of a section stopped and why: '1,000-16,000 (median 4,000); 12 settled, 3 at the cap'."""
    stops = sorted(int((r.get("auto") or {}).get("stopped_at") or r["config"]["iters"]) for r in recs)
    if not stops:
        return "-"
    reasons: dict[str, int] = {}
    for r in recs:
        why = (r.get("auto") or {}).get("reason", "?")
        reasons[why] = reasons.get(why, 0) + 1
    median = stops[len(stops) // 2]
    said = {"settled": "settled", "cap": "at the cap", "diverged": "diverged"}
    where = f"{stops[0]:,}" if stops[0] == stops[-1] else f"{stops[0]:,}-{stops[-1]:,}, median {median:,}"
    return (f"{where}; "
            + ", ".join(f"{k} {said.get(w, w)}" for w, k in sorted(reasons.items())))


def _pairwise_section(df: pd.DataFrame, tables: Path, tag: str) -> Section:
    comp = pairwise_comparisons(df)
    if comp.empty:
        return Section()
    shown = comp.copy()
    tested = shown["p"].notna()
    found = shown[shown["p_holm"] < 0.05]
    for col, name in (("p", "p (permutation)"), ("p_holm", "p (Holm, per K)"), ("p_min", "smallest p possible")):
        shown[name] = shown[col].map(lambda p: "-" if pd.isna(p) else f"{p:.3g}")
    shown = shown[["modes", "a", "b", "n_a", "n_b", "p (permutation)", "p (Holm, per K)", "smallest p possible",
                   "result"]]
    return Section(["### Which variants differ from vanilla", "",
            f"Modes at half their fair share (the mode measure no baseline saturates), each variant against "
            f"vanilla at each number of modes over every run: an exact permutation test of the difference in "
            f"means, Holm-corrected within each K (5 % family-wise per K; a side under {MIN_RUNS} runs is not "
            f"tested). {len(found)} of {int(tested.sum())} differences survive the correction; 'no detectable "
            "difference' is not evidence that two variants are alike.", "", _md(shown, index=False), ""],
                   {tables / f"pairwise_{PAIRWISE_KEY}_{tag}.csv": comp.to_csv(index=False)})


BASELINE_METRICS = [("modes", "modes captured", 1.0, 0), ("modes_fair", "modes at half fair share", 1.0, 0),
                    ("hq_fraction", "HQ %", 100.0, 1), ("reverse_kl", "reverse KL", 1.0, 2),
                    ("kmeans_coverage", "kmeans coverage %", 100.0, 0), ("diversity_ratio", "diversity ratio", 1.0, 2)]


def _baselines_section(layout: str, std: float, modes: list[int], n_eval: int, tables: Path,
                       tag: str) -> tuple[Section, dict]:
    """The baselines' scores per K (``ganbench.baselines``), and which metrics they saturate there."""
    rows, sat = [], {}
    for k in modes:
        scores = score_baselines(layout, int(k), float(std), n_eval)
        sat[int(k)] = {key for key, *_ in BASELINE_METRICS if saturated(scores, key, int(k))}
        for kind in BASELINES:
            rows.append({"modes": int(k), "baseline": kind,
                         **{name: f"{scores[kind][key] * scale:.{dec}f}" + (" (saturates)" if kind in STRUCTURELESS
                                                                            and saturates(scores, kind, key, int(k))
                                                                            else "")
                            for key, name, scale, dec in BASELINE_METRICS}})
    table = pd.DataFrame(rows).fillna("")
    saturated_where = {name: [k for k in sat if key in sat[k]] for key, name, *_ in BASELINE_METRICS}
    said = "; ".join(f"{name} at K = {', '.join(map(str, ks))}" for name, ks in saturated_where.items() if ks)
    lines = ["### Baselines: can each metric tell?", "",
             f"Four reference generators scored with the same metrics and {n_eval:,} samples: the **real data** "
             "(the ceiling), a **structureless** generator with the data's support and no modes (on a ring: "
             "uniform in angle with the data's radial spread; on a grid: uniform over the cells around the "
             "centres), **uniform noise** over the data's box, and a **single point** on one centre. A metric "
             "on which a structureless baseline scores within a margin of the real data (a tenth of the modes, "
             "5 points, 0.05 nats, 0.05 of the diversity ratio, on either side) cannot tell a learnt mixture "
             "from none at that K: it is marked **saturated** "
             "and gives no verdict there. " + (f"Saturated here: {said}." if said else "None is saturated here."),
             "", _md(table, index=False), ""]
    return Section(lines, {tables / f"baselines_{tag}.md": _md(table, index=False) + "\n"}), sat

"""The report's tables: run records as a data frame, summaries with confidence intervals, pairwise tests,
the tutorial's claims, how each run ended. Pure functions of records and frames: writes nothing."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ganbench.constants import VARIANTS
from ganbench.image_jobs import DATASETS as IMAGE_DATASETS
from ganbench.stats import holm, interval, interval_text, metric_range, metric_step, verdict, welch_p

# Columns of the summary tables: (record metric key, column name, scale for display, decimals).
MODE_METRICS = [
    ("modes", "modes captured", 1.0, 1),
    ("hq_fraction", "HQ %", 100.0, 1),
    ("reverse_kl", "reverse KL", 1.0, 2),
    ("kmeans_coverage", "kmeans coverage %", 100.0, 0),
]

DISTRIBUTION_METRICS = [
    ("fid", "FID (lower is better)", 1.0, 3),
    ("kid_mean", "KID x 1000 (lower is better)", 1000.0, 2),
    ("precision", "precision (k = 3)", 1.0, 2),
    ("recall", "recall (k = 3)", 1.0, 2),
    ("density", "density (k = 5)", 1.0, 2),
    ("coverage", "coverage (k = 5)", 1.0, 2),
    ("c2st_accuracy", "C2ST accuracy (k-NN; 0.5 = indistinguishable)", 1.0, 2),
]

METRICS = MODE_METRICS + DISTRIBUTION_METRICS


# The tutorial's coverage table (../shared/PROTOCOLS.md section 1): no source was found for it.
TUTORIAL_CLAIM = {
    "vanilla": {4: 75, 8: 50, 16: 30, 32: 15},
    "wgan-gp": {4: 100, 8: 88, 16: 70, 32: 45},
    "cond-wgan-gp": {4: 100, 8: 100, 16: 95, 32: 80},
}


def _run_share(timings: dict) -> float | None:
    t = timings.get("train_s")
    return None if t is None else t / max(1, timings.get("ensemble_size") or 1)


def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record: its configuration, status and scalar metrics."""
    rows = []
    for r in records:
        c = r["config"]
        m = r.get("metrics") or {}
        rows.append({
            "id": r["id"], "variant": c["variant"], "layout": c["layout"], "std": c["std"], "modes": c["modes"],
            "precision": c.get("precision") or "fp32", "seed": c["seed"], "iters": c["iters"], "status": r.get("status"),
            # train_s is the wall time of the whole ensemble the run was trained in: share it out
            "train_s": _run_share((r.get("timings") or {})),
            **{f"m_{key}": m.get(key) for key, *_ in METRICS},
            "state": run_state(r),
        })
        for key in withheld_as_untrained(r):  # an untrained run's mode counts mean nothing
            if f"m_{key}" in rows[-1]:
                rows[-1][f"m_{key}"] = None
        # A finished run with no high-quality sample has no reverse KL (p_HQ is undefined); it counts
        # as ln K, the value of total collapse, rather than silently dropping out of the mean. (With a
        # trajectory such a run is untrained, and has no reverse KL at all.)
        rows[-1]["no_hq"] = (bool(m) and m.get("reverse_kl") is None and "hq_fraction" in m
                             and rows[-1]["state"] != "untrained")
        if rows[-1]["no_hq"]:
            rows[-1]["m_reverse_kl"] = float(np.log(m.get("n_modes") or c["modes"]))
    df = pd.DataFrame(rows)
    for key, *_ in METRICS:
        if f"m_{key}" in df:
            df[f"m_{key}"] = pd.to_numeric(df[f"m_{key}"], errors="coerce")
    return df


def variant_order(names) -> list[str]:
    known = [v for v in VARIANTS if v in set(names)]  # the registry's order (tests/test_cli.py checks)
    return known + sorted(set(names) - set(known))


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per layout x budget x variant x modes: runs, diverged, runs without an HQ sample, and for each
    metric the mean, SD, n and 95 % t-interval half-width over seeds (display units; ``ganbench.stats``).
    Diverged runs are counted, not averaged."""
    keys = ["layout", "std", "iters", "precision", "variant", "modes"]
    rows = []
    for key_values, g in df.groupby(keys, sort=True):
        row = dict(zip(keys, key_values))
        row["runs"] = len(g)
        row["diverged"] = int((g["status"] == "diverged").sum())
        row["no_hq"] = int(g["no_hq"].sum()) if "no_hq" in g else 0
        for state in RUN_STATES:
            row[f"state_{state}"] = int((g["state"] == state).sum()) if "state" in g else 0
        for key, _, scale, _ in METRICS:
            iv = interval((g[f"m_{key}"] * scale).tolist(), step=metric_step(key, row["modes"], scale),
                          bounds=metric_range(key, row["modes"], scale))
            row.update({f"{key}_mean": iv.mean, f"{key}_std": iv.sd, f"{key}_n": iv.n, f"{key}_hw": iv.half_width,
                        f"{key}_lo": iv.lo, f"{key}_hi": iv.hi})
        rows.append(row)
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=keys + ["runs", "diverged"])


def _cell(mean, lo, hi, n, decimals) -> str:
    """'mean [lo, hi] (n = k)': the 95 % t-interval over seeds (clipped to the metric's range), with
    the number of seeds."""
    return "-" if pd.isna(mean) else interval_text(int(n), mean, lo, hi, decimals)


def untrained_text(untrained: int, runs: int) -> str:
    """What a cell says instead of a number when none of its runs trained."""
    return f"untrained ({untrained} of {runs} runs)"


def count_cell(text: str, n: int, untrained: int, runs: int) -> str:
    """A cell of a metric some runs are withheld from as untrained: ``text`` (an interval's, e.g.
    '7.5 [6.1, 8.0] (n = 2)') with how many it leaves out, '7.5 [6.1, 8.0] (n = 2, 3 untrained)', or
    'untrained (k of n runs)' when no run has a value because none trained."""
    if not n and untrained:
        return untrained_text(untrained, runs)
    return f"{text[:-1]}, {untrained} untrained)" if untrained and text.endswith(")") else text


def wide_table(summary: pd.DataFrame, key: str, decimals: int) -> pd.DataFrame:
    """Variants as rows, numbers of modes as columns, 'mean [95 % interval] (n)' cells; a mode count
    with no trained run says 'untrained (k of n runs)'."""
    s = summary.copy()
    untrained = s["state_untrained"] if key in MODE_COUNT_METRICS and "state_untrained" in s else [0] * len(s)
    s["cell"] = [count_cell(_cell(m, lo, hi, n, decimals), int(n), int(u), int(runs))
                 for m, lo, hi, n, u, runs in zip(s[f"{key}_mean"], s[f"{key}_lo"], s[f"{key}_hi"], s[f"{key}_n"],
                                                  untrained, s["runs"])]
    t = s.pivot(index="variant", columns="modes", values="cell")
    t = t.reindex(variant_order(t.index))
    t.columns = [f"{m} modes" for m in t.columns]
    return t.fillna("-")


TUTORIAL_MARGIN = 10.0  # percentage points of coverage: the equivalence margin against the tutorial's claims


def tutorial_comparison(df: pd.DataFrame) -> pd.DataFrame:
    """The tutorial's claimed kmeans coverage beside ours, for the variants and sizes it names, with a
    verdict (``ganbench.stats.verdict``: margin 10 points; the claim has no SE, so it counts as one
    run). ``df``: one report section's finished runs (``records_frame``). ``mean`` is numeric
    (NaN where we have no run); the other columns are for display."""
    rows = []
    for variant, claims in TUTORIAL_CLAIM.items():
        for modes, claim in claims.items():
            mine = df[(df.variant == variant) & (df.modes == modes)]
            values = (mine["m_kmeans_coverage"] * 100).dropna().tolist()  # untrained runs have none
            untrained = int((mine["state"] == "untrained").sum()) if "state" in mine else 0
            step = metric_step("kmeans_coverage", modes, 100.0)  # one mode: 100 / modes points
            iv = interval(values, step=step, bounds=metric_range("kmeans_coverage", modes, 100.0))
            v = verdict(values, claim, None, TUTORIAL_MARGIN, step=step) if iv.n else None
            rows.append({"variant": variant, "modes": modes, "claimed %": claim, "mean": iv.mean if iv.n else np.nan,
                         "measured % [95% CI] (n)": count_cell(iv.text(0), iv.n, untrained, len(mine)),
                         "untrained": untrained,
                         "difference (points)": "-" if v is None else f"{v.difference:+.0f}",
                         "verdict": "-" if v is None else v.text(0), "verdict_label": None if v is None else v.label})
    return pd.DataFrame(rows)


# --- convergence, from each run's own trajectory -----------------------------------------------------

RUN_STATES = ("settled", "changing", "untrained", "diverged", "no trajectory")

UNTRAINED_HQ = 0.05   # final HQ fraction below this: the generator has not learnt the data (a line, a blob)

# The metrics of a 2-D run that count or weigh its modes. An untrained run has none that means anything
# (a line segment through the ring "captures" whatever modes it crosses: that is not a collapse), so
# tables leave such a run out of their means and count it as untrained, as they leave image runs that
# fail the sanity gate out of the class metrics (CLASS_METRICS). HQ % and the distribution metrics keep it.
MODE_COUNT_METRICS = frozenset({"modes", "reverse_kl", "kmeans_coverage"})

SETTLED_MODES = 0.10  # modes captured within 10 % of K (at least 1) and HQ within 10 points ...

SETTLED_HQ = 0.10     # ... between the last two trajectory points (budget / 2 to / 2.5, and the budget)


def run_state(rec: dict) -> str:
    """How one run ended, judged from its own trajectory: "diverged", "untrained" (final HQ below 5 %:
    a model that has not trained is not a collapsed one), "settled" (modes and HQ moved little over the
    last trajectory interval) or "changing" (its numbers describe the budget, not the variant)."""
    if rec.get("status") == "diverged":
        return "diverged"
    t = rec.get("trajectory")
    if not t or len(t.get("step", [])) < 2 or t["hq_fraction"][-1] is None:
        return "no trajectory"
    if t["hq_fraction"][-1] < UNTRAINED_HQ:
        return "untrained"
    k = rec["config"]["modes"]
    m0, m1, h0, h1 = t["modes"][-2], t["modes"][-1], t["hq_fraction"][-2], t["hq_fraction"][-1]
    if None in (m0, h0):
        return "changing"
    settled = abs(m1 - m0) <= max(1.0, SETTLED_MODES * k) and abs(h1 - h0) <= SETTLED_HQ
    return "settled" if settled else "changing"


def withheld_as_untrained(rec: dict) -> frozenset[str]:
    """The metrics a table leaves out of this run as untrained: the class metrics of an image run that
    failed the sanity gate (``ganbench.image_jobs``), the mode counts of a 2-D run under 5 % HQ."""
    out = CLASS_METRICS if (rec.get("metrics") or {}).get("untrained") else frozenset()
    return out | MODE_COUNT_METRICS if run_state(rec) == "untrained" else out


def _states_table(s: pd.DataFrame) -> pd.DataFrame:
    """Variants x modes: how the runs of each cell ended (``run_state``)."""
    s = s.copy()
    s["cell"] = [", ".join(f"{int(r[f'state_{st}'])} {st}" for st in RUN_STATES if r[f"state_{st}"])
                 for _, r in s.iterrows()]
    t = s.pivot(index="variant", columns="modes", values="cell")
    t = t.reindex(variant_order(t.index))
    t.columns = [f"{m} modes" for m in t.columns]
    return t.fillna("-")


def pairwise_comparisons(df: pd.DataFrame, key: str = "modes") -> pd.DataFrame:
    """Every pair of variants at every number of modes: Welch's t-test on ``key`` over seeds, with
    Holm's correction across all the pairs of the table (family-wise error 5 %)."""
    rows = []
    for modes, g in df.groupby("modes"):
        variants = variant_order(g.variant.unique())
        for i, a in enumerate(variants):
            for b in variants[i + 1:]:
                xa = g.loc[g.variant == a, f"m_{key}"].dropna().tolist()
                xb = g.loc[g.variant == b, f"m_{key}"].dropna().tolist()
                rows.append({"modes": modes, "a": a, "b": b, "n_a": len(xa), "n_b": len(xb),
                             "mean_a": np.mean(xa) if xa else np.nan, "mean_b": np.mean(xb) if xb else np.nan,
                             "p": welch_p(xa, xb)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_holm"] = holm(out["p"].tolist())
    out["result"] = [("-" if pd.isna(p) else f"{r.a} {'>' if r.mean_a > r.mean_b else '<'} {r.b}" if p < 0.05
                      else "no detectable difference") for r, p in zip(out.itertuples(), out["p_holm"])]
    return out


def _md(df: pd.DataFrame, index: bool = True) -> str:
    return df.to_markdown(index=index)


# --- image and Iris datasets ------------------------------------------------------------------------

IMAGE_METRICS = [  # (record key, column, scale, decimals)
    ("modes", "classes seen", 1.0, 1), ("kl_to_uniform", "KL to uniform", 1.0, 2),
    ("classifier_score", "classifier score", 1.0, 2), ("fid", "FID", 1.0, 2), ("kid_mean", "KID x 1000", 1000.0, 1),
    ("precision", "precision", 1.0, 2), ("recall", "recall", 1.0, 2), ("density", "density", 1.0, 2),
    ("coverage", "coverage", 1.0, 2), ("c2st_accuracy", "C2ST accuracy", 1.0, 2),
]


CLASS_METRICS = frozenset({"modes", "kl_to_uniform", "classifier_score"})


def _group(records: list[dict], keys: tuple[str, ...]) -> dict:
    out: dict = {}
    for r in records:
        out.setdefault(tuple(r["config"][k] for k in keys), []).append(r)
    return out


def _lowest_seed(records: list[dict], key) -> dict:
    """For each ``key(config)``, the record with the lowest seed (the one the figures show)."""
    pick: dict = {}
    for r in sorted(records, key=lambda r: -r["config"]["seed"]):
        pick[key(r["config"])] = r
    return pick


def _first_seed(recs: list[dict]) -> dict[str, dict]:
    """Per variant, in registry order, the record with the lowest seed."""
    pick = _lowest_seed(recs, key=lambda c: c["variant"])
    return {v: pick[v] for v in variant_order(pick)}


def _values(records: list[dict], field: str) -> str:
    """The distinct values of a config field across records, e.g. '64 (images), 128 (mixtures)'."""
    by: dict = {}
    for r in records:
        kind = "images and tables" if r["config"]["layout"] in IMAGE_DATASETS else "mixtures"
        by.setdefault(r["config"].get(field), set()).add(kind)
    if len(by) == 1:
        return str(next(iter(by)))
    return ", ".join(f"{v} ({' and '.join(sorted(k))})" for v, k in sorted(by.items(), key=lambda kv: (not isinstance(kv[0], (int, float)), kv[0] if isinstance(kv[0], (int, float)) else 0, str(kv[0]))))


def _seed_range(df: pd.DataFrame) -> str:
    keys = ["variant", "layout", "std", "modes", "iters"] + (["precision"] if "precision" in df else [])
    n = df.groupby(keys).seed.nunique()
    return str(n.min()) if n.min() == n.max() else f"{n.min()}–{n.max()}"

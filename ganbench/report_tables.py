"""The report's tables: run records as a data frame, summaries with confidence intervals, pairwise tests,
the tutorial's claims, how each run ended. Pure functions of records and frames: writes nothing."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ganbench.convergence import RUN_STATES, run_state
from ganbench.datasets import DATASETS as IMAGE_DATASETS
from ganbench.metric_spec import columns, metric_range, metric_step
from ganbench.population import OUTCOMES, outcomes, run_value, trained_value
from ganbench.stats import (
    MIN_RUNS,
    holm,
    interval,
    interval_text,
    permutation_p,
    wilson,
)
from ganbench.variants import VARIANTS
from ganbench.verdicts import verdict

# Columns of the summary tables: (record metric key, column name, scale for display, decimals), from
# the metric table (ganbench.metric_spec).
MODE_METRICS = columns("modes")
DISTRIBUTION_METRICS = columns("distribution")
METRICS = MODE_METRICS + DISTRIBUTION_METRICS
# The secondary column, conditional on training (``ganbench.population.trained_value``), labelled as such.
MODES_TRAINED = ("modes_trained", "modes captured, trained runs only (secondary)", 1.0, 1)


# The tutorial's coverage table (docs/sources.md section 1): no source was found for it.
TUTORIAL_CLAIM = {
    "vanilla": {4: 75, 8: 50, 16: 30, 32: 15},
    "wgan-gp": {4: 100, 8: 88, 16: 70, 32: 45},
    "cond-wgan-gp": {4: 100, 8: 100, 16: 95, 32: 80},
}


def _run_share(r: dict, by_id: dict) -> float | None:
    """The run's own share of training seconds: train_s is the wall time of the whole ensemble the run
    was trained in, and for a run trained on from a shorter one it includes that run's train_s, which
    is counted with that record where it is present."""
    t = r.get("timings") or {}
    seconds = t.get("train_s")
    if seconds is None:
        return None
    base = by_id.get((r.get("extended_from") or {}).get("id"))
    if base is not None:
        seconds -= (base.get("timings") or {}).get("train_s") or 0.0
    return seconds / max(1, t.get("ensemble_size") or 1)


def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record: its configuration, status, how it ended, its outcomes and, per metric, the
    value it contributes to its cell (``ganbench.population.run_value``: every run counts) and, for modes
    captured, the value conditional on training (``m_modes_trained``, a labelled secondary column)."""
    rows, by_id = [], {r["id"]: r for r in records}
    for r in records:
        c = r["config"]
        row = {
            "id": r["id"], "variant": c["variant"], "layout": c["layout"], "std": c["std"], "modes": c["modes"],
            "precision": c.get("precision") or "fp32", "seed": c["seed"], "iters": c["iters"],
            "status": r.get("status"),
            # an `--iters auto` run: its cap (0 otherwise), and the budget where it stopped
            "auto_cap": c.get("auto_cap") or 0,
            "stopped_at": (r.get("auto") or {}).get("stopped_at", c["iters"]),
            "train_s": _run_share(r, by_id),
            **{f"m_{key}": run_value(r, key) for key, *_ in METRICS},
            "m_modes_trained": trained_value(r, "modes"),
            "state": run_state(r),
            **{f"o_{name}": flag for name, flag in outcomes(r).items()},
        }
        m = r.get("metrics") or {}
        # no HQ sample: reverse KL counts as ln K (``run_value``); the report says how many
        row["no_hq"] = bool(m) and m.get("reverse_kl") is None and "hq_fraction" in m
        rows.append(row)
    df = pd.DataFrame(rows)
    for key in [k for k, *_ in METRICS] + ["modes_trained"]:
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
    keys = ["layout", "std", "iters", "auto_cap", "precision", "variant", "modes"]
    rows = []
    for key_values, g in df.groupby(keys, sort=True):
        row = dict(zip(keys, key_values, strict=True))
        row["runs"] = len(g)
        row["stopped_at_median"] = float(g["stopped_at"].median()) if "stopped_at" in g else np.nan
        row["diverged"] = int((g["status"] == "diverged").sum())
        row["no_hq"] = int(g["no_hq"].sum()) if "no_hq" in g else 0
        for state in RUN_STATES:
            row[f"state_{state}"] = int((g["state"] == state).sum()) if "state" in g else 0
        for name in OUTCOMES:  # counts, and the share with a Wilson 95 % interval
            k = int(g[f"o_{name}"].sum()) if f"o_{name}" in g else 0
            lo, hi = wilson(k, len(g))
            row.update({f"o_{name}": k, f"o_{name}_lo": lo, f"o_{name}_hi": hi})
        for key, _, scale, _ in METRICS + [("modes_trained", "", 1.0, 1)]:
            base = key.removesuffix("_trained")
            iv = interval((g[f"m_{key}"] * scale).tolist(), step=metric_step(base, row["modes"], scale),
                          bounds=metric_range(base, row["modes"], scale))
            row.update({f"{key}_mean": iv.mean, f"{key}_std": iv.sd, f"{key}_n": iv.n, f"{key}_hw": iv.half_width,
                        f"{key}_lo": iv.lo, f"{key}_hi": iv.hi})
        rows.append(row)
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=keys + ["runs", "diverged"])


def _cell(mean, lo, hi, n, decimals) -> str:
    """'mean [lo, hi] (n = k)': the 95 % t-interval over seeds (clipped to the metric's range), with
    the number of seeds."""
    return "-" if pd.isna(mean) else interval_text(int(n), mean, lo, hi, decimals)


def untrained_text(untrained: int, runs: int, why: str = "untrained") -> str:
    """What a cell says instead of a number when no run of it has a value: 'untrained (k of n runs)'."""
    return f"{why} ({untrained} of {runs} runs)"


def count_cell(text: str, n: int, left_out: int, runs: int, why: str = "untrained") -> str:
    """A cell of a metric some runs have no value for (``ganbench.population``): ``text`` (an interval's,
    e.g. '7.5 [6.1, 8.0] (n = 4)') with how many it leaves out and why, '7.5 [6.1, 8.0] (n = 4, 1
    diverged)', or 'diverged (k of n runs)' when no run has a value."""
    if not n and left_out:
        return untrained_text(left_out, runs, why)
    return f"{text[:-1]}, {left_out} {why})" if left_out and text.endswith(")") else text


def incl_untrained(text: str, n: int, untrained: int) -> str:
    """A cell whose mean counts runs under the sanity gate (metrics other than class counts) says how
    many: '0.45 [0.40, 0.50] (n = 5, incl. 2 untrained)'."""
    return f"{text[:-1]}, incl. {untrained} untrained)" if untrained and n and text.endswith(")") else text


def _by_modes(s: pd.DataFrame) -> pd.DataFrame:
    """A summary's ``cell`` column as a table: variants (registry order) as rows, numbers of modes as columns."""
    t = s.pivot(index="variant", columns="modes", values="cell")
    t = t.reindex(variant_order(t.index))
    t.columns = [f"{m} modes" for m in t.columns]
    return t.fillna("-")


def outcome_rates(recs: list[dict], names=OUTCOMES) -> dict[str, str]:
    """Per outcome of ``names``, the runs of ``recs`` that had it: 'k/n: share [Wilson interval]'."""
    flags = [outcomes(r) for r in recs]
    return {name: outcome_text(k, len(recs), *wilson(k, len(recs)))
            for name in names for k in [sum(f[name] for f in flags)]}


def outcome_text(k: int, n: int, lo: float, hi: float) -> str:
    """A failure (or success) rate: 'k/n: 60 % [23, 88]' with its Wilson 95 % interval."""
    return f"{k}/{n}: {100 * k / n:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}]" if n else "-"


def wide_table(summary: pd.DataFrame, key: str, decimals: int) -> pd.DataFrame:
    """Variants as rows, numbers of modes as columns, 'mean [95 % interval] (n)' cells over every run of
    the cell; runs without a value (only diverged ones, on mixtures) are counted in the cell."""
    s = summary.copy()
    cells = []
    for r in s.itertuples():
        n, runs = int(getattr(r, f"{key}_n")), int(r.runs)
        why = "diverged" if runs - n == int(r.diverged) else "without a value"
        cells.append(count_cell(_cell(getattr(r, f"{key}_mean"), getattr(r, f"{key}_lo"), getattr(r, f"{key}_hi"), n,
                                      decimals), n, runs - n, runs, why))
    s["cell"] = cells
    return _by_modes(s)


def outcomes_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Variants x modes: how many runs ended untrained, collapsed, diverged and with every mode, each a
    share with its Wilson 95 % interval (rates that are 0 of n are left out of the cell but for 'every
    mode', which is always shown)."""
    s = summary.copy()
    cells = []
    for _, r in s.iterrows():
        parts = [f"{name} {outcome_text(int(r[f'o_{name}']), int(r.runs), r[f'o_{name}_lo'], r[f'o_{name}_hi'])}"
                 for name in OUTCOMES if r[f"o_{name}"] or name == "every mode"]
        cells.append("; ".join(parts))
    s["cell"] = cells
    return _by_modes(s)


# The equivalence margin of a claim, the one rule REPORT.md and REPRODUCTION.md share: 10 % of the
# claimed value, but at least this (display units: modes, percentage points, nats).
MIN_MARGIN = {"modes": 1.0, "modes_fair": 1.0, "hq_fraction": 5.0, "kmeans_coverage": 5.0, "reverse_kl": 0.05,
              "kl_to_uniform": 0.05}


def margin_for(metric: str, published: float) -> float:
    return max(0.1 * abs(published), MIN_MARGIN.get(metric, 0.0))


def tutorial_comparison(df: pd.DataFrame, saturated_at: dict[int, set] | None = None) -> pd.DataFrame:
    """The tutorial's claimed kmeans coverage beside ours over every run, for the variants and sizes it
    names, with a verdict (``ganbench.verdicts.verdict``; ``margin_for``; the claim has no SE, so it is
    tested as a mean and as one run). Where a structureless baseline saturates kmeans coverage at that
    K (``saturated_at``: K -> saturated metrics), there is no verdict. ``mean`` is numeric (NaN where we
    have no run); the other columns are for display."""
    rows = []
    for variant, claims in TUTORIAL_CLAIM.items():
        for modes, claim in claims.items():
            mine = df[(df.variant == variant) & (df.modes == modes)]
            values = (mine["m_kmeans_coverage"] * 100).dropna().tolist()
            step = metric_step("kmeans_coverage", modes, 100.0)  # one mode: 100 / modes points
            bounds = metric_range("kmeans_coverage", modes, 100.0)
            iv = interval(values, step=step, bounds=bounds)
            sat = "kmeans_coverage" in (saturated_at or {}).get(modes, set())
            v = verdict(values, claim, None, margin_for("kmeans_coverage", claim), step=step, bounds=bounds) \
                if iv.n and not sat else None
            label = "saturated" if sat and iv.n else (None if v is None else v.label)
            text = ("no verdict: saturated (a structureless generator covers 100 % here)" if label == "saturated"
                    else "-" if v is None else v.text(0))
            rows.append({"variant": variant, "modes": modes, "claimed %": claim, "mean": iv.mean if iv.n else np.nan,
                         "measured % [95% CI] (n)": count_cell(iv.text(0), iv.n, len(mine) - iv.n, len(mine),
                                                               "diverged"),
                         "untrained": int((mine["state"] == "untrained").sum()) if "state" in mine else 0,
                         "difference (points)": "-" if not iv.n else f"{iv.mean - claim:+.0f}",
                         "verdict": text, "verdict_label": label})
    return pd.DataFrame(rows)


# --- convergence, from each run's own trajectory -----------------------------------------------------

# The rule (settled, changing, untrained, diverged) lives in ganbench.convergence: `--iters auto` uses it too.


def _states_table(s: pd.DataFrame) -> pd.DataFrame:
    """Variants x modes: how the runs of each cell ended (``run_state``)."""
    s = s.copy()
    s["cell"] = [", ".join(f"{int(r[f'state_{st}'])} {st}" for st in RUN_STATES if r[f"state_{st}"])
                 for _, r in s.iterrows()]
    return _by_modes(s)


PAIRWISE_KEY = "modes_fair"  # the mode measure a structureless generator cannot saturate (ganbench.baselines)


BASELINE_VARIANT = "vanilla"  # what each remedy is compared with


def pairwise_comparisons(df: pd.DataFrame, key: str = PAIRWISE_KEY) -> pd.DataFrame:
    """Each variant against vanilla (the GAN every remedy claims to improve on; all pairs when there is
    no vanilla) at every number of modes: an exact (or seeded Monte Carlo) permutation test of the
    difference in mean ``key`` over every run (``ganbench.stats.permutation_p``: never p = 0, valid for
    bounded values piled at a ceiling), Holm-corrected within each number of modes (family-wise error
    5 % per K). Pre-specifying these few comparisons keeps them decidable: with 5 runs a side the
    smallest exact p is 2/252, which Holm over all 40 pairs of a 5-variant, 4-K grid could never bring
    under 5 %. A pair with a side under ``MIN_RUNS`` runs is not tested; ``p_min`` is the smallest p its
    run counts allow."""
    rows = []
    for modes, g in df.groupby("modes"):
        variants = variant_order(g.variant.unique())
        if BASELINE_VARIANT in variants:
            pairs = [(v, BASELINE_VARIANT) for v in variants if v != BASELINE_VARIANT]
        else:
            pairs = [(a, b) for i, a in enumerate(variants) for b in variants[i + 1:]]
        for a, b in pairs:
            xa = g.loc[g.variant == a, f"m_{key}"].dropna().tolist()
            xb = g.loc[g.variant == b, f"m_{key}"].dropna().tolist()
            enough = min(len(xa), len(xb)) >= MIN_RUNS
            rows.append({"modes": modes, "a": a, "b": b, "n_a": len(xa), "n_b": len(xb),
                         "mean_a": np.mean(xa) if xa else np.nan, "mean_b": np.mean(xb) if xb else np.nan,
                         "p": permutation_p(xa, xb) if enough else np.nan,
                         "p_min": 2 / math.comb(len(xa) + len(xb), len(xa)) if enough else np.nan})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_holm"] = np.nan
    for _, idx in out.groupby("modes").groups.items():
        out.loc[idx, "p_holm"] = holm(out.loc[idx, "p"].tolist())
    out["result"] = [(f"too few runs (< {MIN_RUNS})" if pd.isna(p)
                      else f"{r.a} {'>' if r.mean_a > r.mean_b else '<'} {r.b}" if p < 0.05
                      else "no detectable difference") for r, p in zip(out.itertuples(), out["p_holm"], strict=True)]
    return out


def ordering_test(values: dict[str, list[float]], order: list[str]) -> dict:
    """A claimed ranking ``order[0] > order[1] > ...`` (each pair of neighbours) tested over runs: the
    permutation test of each neighbouring pair, Holm-corrected over the pairs. ``result``: "reproduces"
    (every pair significantly in the claimed direction), "reversed" (some pair significantly the other
    way), "too few runs" (a side under ``MIN_RUNS``) or "not shown" (no significant contradiction, but
    not every step is shown either). ``pairs``: (a, b, mean a, mean b, Holm p) per neighbouring pair."""
    pairs = list(zip(order, order[1:], strict=False))
    if any(len(values.get(v, [])) < MIN_RUNS for v in order):
        return {"result": "too few runs", "pairs": []}
    ps = holm([permutation_p(values[a], values[b]) for a, b in pairs])
    rows = [(a, b, float(np.mean(values[a])), float(np.mean(values[b])), p)
            for (a, b), p in zip(pairs, ps, strict=True)]
    if any(p < 0.05 and ma < mb for _, _, ma, mb, p in rows):
        result = "reversed"
    elif all(p < 0.05 and ma > mb for _, _, ma, mb, p in rows):
        result = "reproduces"
    else:
        result = "not shown"
    return {"result": result, "pairs": rows}


def ordering_text(test: dict, names: dict[str, str] | None = None) -> str:
    """'reproduces (cond-wgan-gp 6.2 > wgan-gp 3.0: p = 0.008; ...)' in words."""
    names = names or {}
    if not test["pairs"]:
        return test["result"]
    steps = "; ".join(f"{names.get(a, a)} {ma:.2f} vs {names.get(b, b)} {mb:.2f}: "
                      f"{'p < 0.001' if p < 0.001 else f'p = {p:.2g}'}" for a, b, ma, mb, p in test["pairs"])
    return f"{test['result']} ({steps}; permutation tests, Holm over the pairs)"


def _md(df: pd.DataFrame, index: bool = True) -> str:
    return df.to_markdown(index=index)


# --- image and Iris datasets ------------------------------------------------------------------------

IMAGE_METRICS = columns("image")  # (record key, column, scale, decimals)


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

    def order(kv):  # numbers first, by value; anything else after them, by its text
        numeric = isinstance(kv[0], (int, float))
        return (not numeric, kv[0] if numeric else 0, str(kv[0]))

    return ", ".join(f"{v} ({' and '.join(sorted(k))})" for v, k in sorted(by.items(), key=order))


def _seed_range(df: pd.DataFrame) -> str:
    """Seeds per cell over every row of ``df``, "5" or "2–5". dropna=False: image and table rows have
    no std (NaN) and must still be counted."""
    keys = ["variant", "layout", "std", "modes", "iters"] + (["precision"] if "precision" in df else [])
    n = df.groupby(keys, dropna=False).seed.nunique()
    return str(n.min()) if n.min() == n.max() else f"{n.min()}–{n.max()}"

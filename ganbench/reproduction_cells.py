"""The cells of REPRODUCTION.md's tables: per (paper row, column), our runs beside the published value,
by the report's one rule, with the verdict (``ganbench.verdicts``); ``ganbench.reproduction`` writes them."""
from __future__ import annotations

import math

import pandas as pd

from ganbench.baselines import saturated, score_baselines
from ganbench.datasets import DATASETS as IMAGE_DATASETS
from ganbench.metric_spec import metric_range, metric_step
from ganbench.population import failed_to_train, run_value
from ganbench.presets import Preset
from ganbench.report_tables import (
    count_cell,
    incl_untrained,
    margin_for,
)
from ganbench.stats import interval, interval_text
from ganbench.verdicts import verdict

# Every verdict label a cell can get (``ganbench.verdicts.verdict``, plus "saturated": no verdict).
LABELS = ("agrees", "differs", "undecided", "too few runs", "saturated")
BASELINE_KEYS = frozenset({"modes", "modes_fair", "hq_fraction", "reverse_kl", "kmeans_coverage"})
RULE = ("every run of a cell counts (``ganbench.population``). With a published SE, the 95 % interval of ours - "
        "published (our mean's interval for bounded values, by betting, combined with the published SE) is "
        "**agrees** when it lies within +-margin (10 % of the published value, at least 1 mode, 5 points of a "
        "percentage or 0.05 nats), **differs** when it excludes 0, else **undecided**. A claim without an SE is "
        "tested as the mean it states and as one more run (its rank among ours): **differs** needs both, so such "
        "a claim can be called different only from 39 runs (one value below all of n runs has p = 2/(n + 1)). Fewer "
        "than 5 runs: **too few runs**. A 2-D metric that a structureless baseline scores as well as the data "
        "(ganbench.baselines) gets **no verdict (saturated)**")


def _places(value: float, decimals: int) -> int:
    """The decimals that show a published value as printed in its paper: at least the column's."""
    d = decimals
    while d < 4 and round(value, d) != value:
        d += 1
    return d


def _fmt(mean: float | None, se: float | None, decimals: int, published: bool = False) -> str:
    """``mean ± se`` at the column's decimals; a published value keeps the digits its paper gives
    (78.9 ± 6.46, not 78.9 ± 6.5), so that a reader can check it against the paper."""
    if mean is None or not math.isfinite(mean):
        return "-"
    dm = _places(mean, decimals) if published else decimals
    if se is None or not math.isfinite(se):
        return f"{mean:.{dm}f}"
    ds = _places(se, decimals) if published else decimals
    return f"{mean:.{dm}f} ± {se:.{ds}f}"


def _ours(records: list[dict], preset: Preset, variant: str, column) -> dict:
    """Our runs of one cell: values (metric x factor) by the report's one rule (``ganbench.population``:
    every run counts; an image run under the sanity gate has no class metrics and is counted as withheld),
    and the metric's step (one mode) and range for ``ganbench.stats``."""
    recs = [r for r in records if r["config"]["variant"] == variant
            and preset.setting_of(r["config"]) == column.setting]
    values, no_hq, untrained, included, missing = [], 0, 0, 0, 0
    for r in recs:
        v = run_value(r, column.metric)
        gated = failed_to_train(r) and r.get("status") != "diverged"
        if v is None:
            if gated:
                untrained += 1  # class counts of noise: withheld
            else:
                missing += 1
            continue
        values.append(v * column.factor)
        # an image run under the gate whose value counts: the cell says so, as REPORT.md's image tables
        # do (on mixtures the outcomes table carries the untrained runs, as in REPORT.md)
        included += gated and r["config"]["layout"] in IMAGE_DATASETS
        m = r.get("metrics") or {}
        no_hq += column.metric == "reverse_kl" and bool(m) and m.get("reverse_kl") is None
    modes = max((r["config"]["modes"] for r in recs), default=0)
    return {"runs": len(recs), "values": values, "missing": missing, "no_hq": no_hq, "untrained": untrained,
            "untrained_included": included,
            "diverged": sum(r["status"] == "diverged" for r in recs),
            "step": metric_step(column.metric, modes, column.factor),
            "range": metric_range(column.metric, modes, column.factor)}


def compare_cells(preset: Preset, records: list[dict]) -> pd.DataFrame:
    """One row per (paper row, column): published value and SE, our mean, 95 % interval and n, the
    difference and the verdict (``ganbench.verdicts.verdict``)."""
    rows = []
    for row in preset.rows:
        for col in preset.columns:
            pub = row.published.get(col.title)
            setting = next(s for s in preset.settings if s.name == col.setting)
            ours = (_ours(records, preset, row.variant, col)
                    if row.variant is not None and row.variant in setting.variants else None)
            iv = (interval(ours["values"], step=ours["step"], bounds=ours["range"]) if ours else interval([]))
            v = None
            sat = _saturated(setting.config, col.metric)
            if pub is not None and iv.n and not sat:
                v = verdict(ours["values"], pub[0], pub[1], margin_for(col.metric, pub[0]), step=ours["step"],
                            bounds=ours["range"])
            rows.append({"row": row.label, "variant": row.variant, "column": col.title, "decimals": col.decimals,
                         "published_mean": None if pub is None else pub[0],
                         "published_se": None if pub is None else pub[1],
                         "n": iv.n, "ours_mean": iv.mean if iv.n else None,
                         "ours_lo": iv.lo if iv.n > 1 else None, "ours_hi": iv.hi if iv.n > 1 else None,
                         "runs": ours["runs"] if ours else 0,
                         "runs_without_value": ours["missing"] if ours else 0,
                         "runs_without_hq_sample": ours["no_hq"] if ours else 0,
                         "runs_untrained": ours["untrained"] if ours else 0,
                         "runs_untrained_included": ours["untrained_included"] if ours else 0,
                         "diverged": ours["diverged"] if ours else 0,
                         "difference": None if v is None else v.difference,
                         "difference_lo": None if v is None or not math.isfinite(v.lo) else v.lo,
                         "difference_hi": None if v is None or not math.isfinite(v.hi) else v.hi,
                         "margin": None if v is None else v.margin,
                         "verdict": ("saturated" if sat and pub is not None and iv.n else None if v is None
                                     else v.label),
                         "seeds_needed": None if v is None else v.seeds_needed,
                         "verdict_text": (SATURATED_TEXT if sat and pub is not None and iv.n else None if v is None
                                          else v.text(col.decimals) + _displayed_note(v, iv, pub[0]))})
    return pd.DataFrame(rows)


def _displayed_note(v, iv, published: float) -> str:
    """What an "agrees" must add when the table's t-interval of our runs excludes the published value."""
    if v.label != "agrees" or iv.n < 2 or iv.lo <= published <= iv.hi:
        return ""
    return " (the t-interval of our runs in the table excludes the published value)"


SATURATED_TEXT = "no verdict: saturated (a structureless generator scores as well as the data here)"


def _saturated(config: dict, metric: str) -> bool:
    """Whether a structureless baseline saturates ``metric`` on a 2-D setting (``ganbench.baselines``)."""
    layout = config.get("layout")
    if layout in IMAGE_DATASETS or metric not in BASELINE_KEYS:
        return False
    return saturated(_baseline_scores(config), metric, int(config["modes"]))


def _ours_text(c, t) -> str:
    n = int(c.at[t, "n"])
    text = count_cell(interval_text(n, c.at[t, "ours_mean"], c.at[t, "ours_lo"], c.at[t, "ours_hi"],
                                    int(c.at[t, "decimals"])), n, int(c.at[t, "runs_untrained"]), int(c.at[t, "runs"]))
    return incl_untrained(text, n, int(c.at[t, "runs_untrained_included"]))


def _setting_config(preset: Preset, col) -> dict:
    return next(s.config for s in preset.settings if s.name == col.setting)


def _baseline_scores(config: dict) -> dict:
    return score_baselines(config["layout"], int(config["modes"]), config.get("std"),
                           int(config.get("n_eval") or 2_500), config.get("scale"))

"""REPRODUCTION.md: each preset's published table with our numbers beside it (``ganbench.presets``).

For every preset and budget that has runs: a table in the paper's columns, one line with the
published values and one with ours (mean +- standard error over seeds) per row of the paper, and a
sentence per row on agreement. A cell agrees when |ours - published| <= 2 x sqrt(SE_ours^2 + SE_pub^2)
(SE_pub 0 where the paper gives none). The same numbers go to ``tables/reproduction_<preset>_<budget>.csv``.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ganbench.presets import PRESETS, Budget, Preset, standard_error
from ganbench.runner import load_records, write_text_atomic

BUDGET_ORDER = ("paper", "quick", "custom")
RULE = "|ours - published| <= 2 x sqrt(SE_ours^2 + SE_published^2)"


def has_preset_runs(out: Path) -> bool:
    return any("preset" in r["config"] for r in load_records(out))


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
    """Our runs of one cell: values (metric x factor) of the runs that have it, and how many runs have none."""
    recs = [r for r in records if r["config"]["variant"] == variant
            and preset.setting_of(r["config"]) == column.setting]
    values = [r["metrics"][column.metric] * column.factor for r in recs
              if r.get("metrics") and r["metrics"].get(column.metric) is not None]
    return {"runs": len(recs), "values": values, "missing": len(recs) - len(values),
            "diverged": sum(r["status"] == "diverged" for r in recs)}


def compare_cells(preset: Preset, records: list[dict]) -> pd.DataFrame:
    """One row per (paper row, column): published and our mean and SE, the difference and agreement."""
    rows = []
    for row in preset.rows:
        for col in preset.columns:
            pub = row.published.get(col.title)
            setting = next(s for s in preset.settings if s.name == col.setting)
            ours = (_ours(records, preset, row.variant, col)
                    if row.variant is not None and row.variant in setting.variants else None)
            mean = sum(ours["values"]) / len(ours["values"]) if ours and ours["values"] else None
            se = standard_error(ours["values"]) if ours and ours["values"] else None
            diff = within = z = None
            if pub is not None and mean is not None:
                diff = mean - pub[0]
                combined = math.sqrt((se if se is not None and math.isfinite(se) else 0.0) ** 2 + (pub[1] or 0.0) ** 2)
                within = abs(diff) <= 2 * combined
                z = abs(diff) / combined if combined > 0 else (0.0 if diff == 0 else math.inf)
            rows.append({"row": row.label, "variant": row.variant, "column": col.title, "decimals": col.decimals,
                         "published_mean": None if pub is None else pub[0], "published_se": None if pub is None else pub[1],
                         "ours_mean": mean, "ours_se": se, "runs": ours["runs"] if ours else 0,
                         "runs_without_value": ours["missing"] if ours else 0,
                         "diverged": ours["diverged"] if ours else 0,
                         "difference": diff, "se_units": z, "within_2se": within})
    return pd.DataFrame(rows)


def _table(preset: Preset, cells: pd.DataFrame, seeds: int) -> list[str]:
    titles = [c.title for c in preset.columns]
    head = ["model", "", *titles]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in preset.rows:
        c = cells[cells["row"] == row.label].set_index("column")
        pub = [_fmt(c.at[t, "published_mean"], c.at[t, "published_se"], int(c.at[t, "decimals"]), True) for t in titles]
        lines.append(f"| {row.label} | published | " + " | ".join(pub) + " |")
        if row.variant is None:
            lines.append(f"| | ours | " + " | ".join(["not in ganbench"] + [""] * (len(titles) - 1)) + " |")
            continue
        ours = [_fmt(c.at[t, "ours_mean"], c.at[t, "ours_se"], int(c.at[t, "decimals"])) for t in titles]
        lines.append(f"| | ours: `{row.variant}` | " + " | ".join(ours) + " |")
    return lines


def _sentence(preset: Preset, row, cells: pd.DataFrame, budget_note: str = "") -> str:
    c = cells[cells["row"] == row.label]
    if row.variant is None:
        return f"- **{row.label}**: not implemented in ganbench; the published numbers stand alone."
    have = c[c["ours_mean"].notna()]
    if have.empty:
        return f"- **{row.label}** (`{row.variant}`): no finished runs yet."
    runs = int(have["runs"].max())
    compared = have[have["published_mean"].notna()]
    parts = []
    for _, x in compared.iterrows():
        d = int(x["decimals"])
        verdict = ("agrees" if x["within_2se"] else
                   f"differs by {x['difference']:+.{d}f} ({x['se_units']:.1f} SE)" if math.isfinite(x["se_units"])
                   else f"differs by {x['difference']:+.{d}f}")
        parts.append(f"{x['column']} {_fmt(x['ours_mean'], x['ours_se'], d)} against "
                     f"{_fmt(x['published_mean'], x['published_se'], d, True)}: {verdict}")
    if not compared.empty:
        n_agree = int(compared["within_2se"].sum())
        text = (f"- **{row.label}** (`{row.variant}`, {runs} run(s) a cell): agrees in {n_agree} of {len(compared)} "
                f"published cells. " + "; ".join(parts) + ".")
        if n_agree < len(compared) and budget_note:
            text += " " + budget_note
    else:
        text = (f"- **{row.label}** (`{row.variant}`, {runs} run(s) a cell): nothing published to compare with; "
                "ours: " + "; ".join(f"{x['column']} {_fmt(x['ours_mean'], x['ours_se'], int(x['decimals']))}"
                                     for _, x in have.iterrows()) + ".")
    gaps = int(c["runs_without_value"].sum())
    diverged = int(c["diverged"].sum())
    if gaps or diverged:
        text += (f" ({diverged} run-cell(s) diverged; {gaps} had no value for a column, e.g. reverse KL without a "
                 "high-quality sample, and are left out of the mean.)")
    return text


def _budget_line(preset: Preset, budget: str, records: list[dict]) -> str:
    paper: Budget = preset.budgets["paper"]
    iters = sorted({(r["config"]["variant"], r["config"]["iters"]) for r in records})
    seeds = len({r["config"]["seed"] for r in records})
    groups: dict[tuple[int, int], list[str]] = {}  # (ours, the paper's) -> variants
    for v, n in iters:
        groups.setdefault((n, paper.iters_for(v)), []).append(f"`{v}`")
    by_variant = "; ".join(f"{', '.join(vs)} {n:,} ({100 * n / p:.3g}% of the paper's {p:,})"
                           for (n, p), vs in groups.items())
    line = f"Budget **{budget}**: generator iterations {by_variant}; {seeds} seed(s) (the paper: {paper.seeds})."
    cost = _cost(preset, records)
    if cost:
        line += (f" Training took {cost[0] / 60:.1f} CPU-minutes ({cost[2]}); the paper's budget would take about "
                 f"{_hours(cost[1])} CPU-hours at the same speed.")
    return line


def _hours(seconds: float) -> str:
    h = seconds / 3600
    return f"{h:.1f}" if h < 10 else f"{h:,.0f}"


def _cost(preset: Preset, records: list[dict]) -> tuple[float, float, str] | None:
    """(training seconds spent, the paper budget's estimated seconds, on what device), from the records'
    timings: seconds per member-iteration of each (setting, variant), times the paper's iterations and seeds."""
    per, spent, devices = {}, 0.0, set()
    for r in records:
        t = r.get("timings") or {}
        if not t.get("train_s") or not t.get("ensemble_size"):
            continue
        spent += t["train_s"] / t["ensemble_size"]
        devices.add(t.get("device", "?"))
        key = (preset.setting_of(r["config"]), r["config"]["variant"])
        per.setdefault(key, []).append(t["train_s"] / t["ensemble_size"] / r["config"]["iters"])
    if not per:
        return None
    paper = preset.budgets["paper"]
    estimate = sum(sum(v) / len(v) * paper.iters_for(variant) * paper.seeds for (_, variant), v in per.items())
    return spent, estimate, ", ".join(sorted(devices)) + " with one torch thread per worker"


def _section(preset: Preset, records: list[dict], tables: Path) -> tuple[list[str], list[dict]]:
    lines = [f"## `{preset.name}`: {preset.title}", "", f"Source: {preset.source}.", ""]
    summary = []
    if not records:
        lines += [f"Not run yet: `ganbench run --preset {preset.name} --budget quick`.", ""]
        return lines, summary
    for budget in sorted({r["config"]["budget"] for r in records}, key=lambda b: BUDGET_ORDER.index(b)):
        recs = [r for r in records if r["config"]["budget"] == budget and r["status"] != "failed"]
        failed = [r for r in records if r["config"]["budget"] == budget and r["status"] == "failed"]
        cells = compare_cells(preset, recs)
        cells.insert(0, "budget", budget)
        cells.insert(0, "preset", preset.name)
        csv = tables / f"reproduction_{preset.name}_{budget}.csv"
        write_text_atomic(csv, cells.drop(columns=["decimals"]).to_csv(index=False))
        seeds = len({r["config"]["seed"] for r in recs})
        lines += [f"### Budget: {budget}", "", _budget_line(preset, budget, recs), "",
                  f"Published: {preset.published_note}. Ours: mean ± standard error over seeds "
                  f"(table as CSV: `tables/{csv.name}`).", ""]
        lines += _table(preset, cells, seeds) + [""]
        if failed:
            lines += [f"{len(failed)} run(s) failed and are left out: "
                      + "; ".join(f"`{r['config']['variant']}` seed {r['config']['seed']}: {r.get('error')}"
                                  for r in failed), ""]
        note = ""
        if budget != "paper":
            share = max(r["config"]["iters"] / preset.budgets["paper"].iters_for(r["config"]["variant"]) for r in recs)
            note = (f"At this budget (at most {100 * share:.2g}% of the paper's iterations) a difference says where "
                    "training stands early on, not that the protocol fails to reproduce.")
        lines += [_sentence(preset, row, cells, note) for row in preset.rows] + [""]
        compared = cells[cells["within_2se"].notna()]
        summary.append({"preset": preset.name, "budget": budget, "runs": len(recs),
                        "cells compared": len(compared), "cells agreeing": int(compared["within_2se"].sum())})
    lines += ["What differs from the paper's setup, besides the budget:", ""]
    lines += [f"- {d}" for d in preset.differences] or ["- nothing we know of"]
    return lines + [""], summary


def build_reproduction(out: Path) -> Path:
    """Write ``<out>/REPRODUCTION.md`` (and its CSV tables) from the presets' records in ``<out>/runs``."""
    out = Path(out)
    tables = out / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    records = [r for r in load_records(out) if "preset" in r["config"]]
    body, summary = [], []
    for preset in PRESETS.values():
        section, rows = _section(preset, [r for r in records if r["config"]["preset"] == preset.name], tables)
        body += section
        summary += rows
    lines = ["# Reproducing published mode-collapse tables", "",
             "Each preset runs a published protocol (`ganbench run --preset NAME --budget paper|quick`; all of them: "
             "`scripts/reproduce.sh [quick|paper]`). The **paper** budget is the published number of iterations and "
             "seeds; **quick** is a reduced one that fits a 2-core CPU in minutes, so its numbers say where training "
             "stands early on, not what the protocol reaches. Every table says which budget produced it. Presets are "
             "never tuned to match a number: where our setup differs from the paper's, the section says how.", "",
             f"A cell agrees when {RULE} (SE_published = 0 where the paper gives none).", ""]
    if summary:
        df = pd.DataFrame(summary)
        lines += [df.to_markdown(index=False), ""]
    return _write(out, lines + body)


def _write(out: Path, lines: list[str]) -> Path:
    path = out / "REPRODUCTION.md"
    write_text_atomic(path, "\n".join(lines))
    return path

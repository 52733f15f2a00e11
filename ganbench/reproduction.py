"""REPRODUCTION.md: each preset's published table with our numbers beside it (``ganbench.presets``).

For every preset and budget that has runs: a table in the paper's columns, one line with the
published values and one with ours (mean and 95 % t-interval over seeds, with n) per row of the
paper, and a sentence per row with a verdict per cell: agrees (the 95 % interval of the difference
lies within the equivalence margin), differs (it excludes 0) or undecided (with the seeds that would
decide it); see ``ganbench.stats``. The same numbers go to ``tables/reproduction_<preset>_<budget>.csv``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ganbench.baselines import saturates
from ganbench.convergence import UNTRAINED_HQ
from ganbench.datasets import DATASETS as IMAGE_DATASETS
from ganbench.files import write_text_atomic
from ganbench.population import run_value
from ganbench.presets import BUDGET_ORDER, PRESETS, Budget, Preset
from ganbench.report_figures import fig_trajectories
from ganbench.report_output import Section
from ganbench.report_tables import (
    ordering_test,
    ordering_text,
    outcome_rates,
)
from ganbench.reproduction_cells import (
    BASELINE_KEYS,
    LABELS,
    RULE,
    _baseline_scores,
    _fmt,
    _ours_text,
    _saturated,
    _setting_config,
    compare_cells,
)
from ganbench.store import current_records, load_records


def _table(preset: Preset, cells: pd.DataFrame, seeds: int) -> list[str]:
    titles = [c.title for c in preset.columns]
    head = ["model", "", *titles]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in preset.rows:
        c = cells[cells["row"] == row.label].set_index("column")
        pub = [_fmt(c.at[t, "published_mean"], c.at[t, "published_se"], int(c.at[t, "decimals"]), True) for t in titles]
        lines.append(f"| {row.label} | published | " + " | ".join(pub) + " |")
        if row.variant is None:
            lines.append("| | ours | " + " | ".join(["not in ganbench"] + [""] * (len(titles) - 1)) + " |")
            continue
        ours = [_ours_text(c, t) for t in titles]
        lines.append(f"| | ours: `{row.variant}` | " + " | ".join(ours) + " |")
    # Baselines beside every 2-D table (ganbench.baselines): what no learning scores on each column
    mixture_cols = [col for col in preset.columns if _setting_config(preset, col).get("layout") not in IMAGE_DATASETS]
    if mixture_cols:
        for kind in ("real data", "structureless", "single point"):
            vals = []
            for col in preset.columns:
                cfg = _setting_config(preset, col)
                if col not in mixture_cols or col.metric not in BASELINE_KEYS:
                    vals.append("")
                    continue
                score = _baseline_scores(cfg)[kind][col.metric] * col.factor
                flag = (" (saturates)" if kind == "structureless" and
                        saturates(_baseline_scores(cfg), kind, col.metric, int(cfg["modes"])) else "")
                vals.append(f"{score:.{col.decimals}f}{flag}")
            lines.append(f"| baseline | {kind} | " + " | ".join(vals) + " |")
    return lines


def _outcomes_table(preset: Preset, recs: list[dict]) -> list[str]:
    """How often each of our variants failed, per setting, over every run: untrained, collapsed and
    diverged shares with Wilson 95 % intervals (``ganbench.population.outcomes``)."""
    rows = []
    for setting in preset.settings:
        for v in setting.variants:
            mine = [r for r in recs if r["config"]["variant"] == v and preset.setting_of(r["config"]) == setting.name]
            if not mine:
                continue
            rows.append({"setting": setting.name, "variant": v, "runs": len(mine),
                         **outcome_rates(mine, ("untrained", "collapsed", "diverged"))})
    if not rows:
        return []
    return ["How often our runs failed (every run is in the table above; k/n: share [Wilson 95 % interval]):", "",
            pd.DataFrame(rows).to_markdown(index=False), ""]


def _untrained_why(preset: Preset) -> str:
    """Why an untrained run gives no number, in the words of the preset's kind of data."""
    if all(s.config.get("layout") in IMAGE_DATASETS for s in preset.settings):
        return ("its samples fail the sanity gate (the evaluator is confident on too few of them), so a class "
                "count would be the evaluator's labels of noise")
    return (f"under {UNTRAINED_HQ:.0%} of its samples are high quality, so the modes it 'captures' are those a "
            "line or a blob happens to cross, not a collapse")


def _sentence(preset: Preset, row, cells: pd.DataFrame, budget_note: str = "") -> str:
    c = cells[cells["row"] == row.label]
    if row.variant is None:
        return f"- **{row.label}**: not implemented in ganbench; the published numbers stand alone."
    have = c[c["ours_mean"].notna() | (c["runs_untrained"] > 0)]
    if have.empty:
        return f"- **{row.label}** (`{row.variant}`): no finished runs yet."
    runs = int(have["runs"].max())
    compared = have[have["published_mean"].notna() & have["verdict"].notna()]
    withheld = c[c["ours_mean"].isna() & (c["runs_untrained"] > 0) & c["published_mean"].notna()]
    all_untrained = compared.empty and (have["runs_untrained"] > 0).all() and have["ours_mean"].isna().all()
    parts = []
    for _, x in compared.iterrows():
        d = int(x["decimals"])
        said = ("" if x["verdict"] == "saturated" or pd.isna(x["difference"]) else
                f" (difference {x['difference']:+.{d}f}, margin ±{x['margin']:.{d}f})")
        parts.append(f"{x['column']} {_ours_text(c.set_index('column'), x['column'])} against "
                     f"{_fmt(x['published_mean'], x['published_se'], d, True)}: {x['verdict_text']}{said}")
    if not compared.empty:
        counts = compared["verdict"].value_counts()
        tally = ", ".join(f"{int(counts.get(k, 0))} {k}" for k in LABELS if counts.get(k, 0))
        text = (f"- **{row.label}** (`{row.variant}`, {runs} run(s) a cell): of {len(compared)} published cells, "
                f"{tally}. " + "; ".join(parts) + ".")
        if int(counts.get("agrees", 0)) < len(compared) and budget_note:
            text += " " + budget_note
    elif all_untrained:
        text = (f"- **{row.label}** (`{row.variant}`, {runs} run(s) a cell): untrained at this budget: "
                f"{_untrained_why(preset)}; nothing is compared.")
    else:
        text = (f"- **{row.label}** (`{row.variant}`, {runs} run(s) a cell): nothing published to compare with"
                + (" but what untrained runs cannot give" if len(withheld) else "") + "; ours: "
                + "; ".join(f"{x['column']} {_ours_text(c.set_index('column'), x['column'])}"
                            for _, x in have.iterrows()) + ".")
    if len(withheld) and not all_untrained:
        text += (" Not compared, every run untrained: " + ", ".join(withheld["column"])
                 + f" ({_untrained_why(preset)}).")
    gaps = int(c["runs_without_value"].sum())
    diverged = int(c["diverged"].sum())
    no_hq = int(c["runs_without_hq_sample"].sum())
    gated = int(c.loc[c["ours_mean"].notna(), "runs_untrained"].sum())
    if gated:
        text += (f" ({gated} run-cell(s) were untrained and are left out of those columns' means: "
                 f"{_untrained_why(preset)}.)")
    if gaps or diverged or no_hq:
        text += (f" ({diverged} run-cell(s) diverged and {gaps} had no value for a column: left out of the "
                 f"mean; {no_hq} run-cell(s) had no high-quality sample and count as reverse KL = ln K.)")
    return text


# Each paper's headline comparison, tested over seeds (``report_tables.ordering_test``): preset ->
# (what the paper claims, the claimed order of our variants, best first). Tested on each setting where
# every variant of the order ran, on the mode measure that can tell (``RELATIVE_METRIC``).
RELATIVE_CLAIMS = {
    "pacgan-2d": [("PacGAN2 > GAN", ["pacgan2", "vanilla"]), ("PacGAN3 > GAN", ["pacgan3", "vanilla"]),
                  ("PacGAN4 > GAN", ["pacgan4", "vanilla"])],
    "stacked-mnist": [(f"PacDCGAN{m} > DCGAN", [f"pacgan{m}", "vanilla"]) for m in (2, 3, 4)],
    "stacked-mnist-small-d": [(f"PacDCGAN{m} > DCGAN", [f"pacgan{m}", "vanilla"]) for m in (2, 3, 4)],
    "tutorial": [("conditional WGAN-GP > WGAN-GP > vanilla", ["cond-wgan-gp", "wgan-gp", "vanilla"])],
}
# 2-D: the paper's modes captured where no structureless baseline saturates it (PacGAN's grid), else
# modes at half their fair share (modes captured and kmeans coverage saturate on rings);
# images: classes seen (the sanity gate withholds them for untrained runs).
RELATIVE_METRIC = {"mixture": ("modes_fair", "modes at half their fair share"),
                   "image": ("modes", "classes seen (runs under the sanity gate withheld)")}


def _relative_section(preset: Preset, recs: list[dict]) -> list[str]:
    claims = RELATIVE_CLAIMS.get(preset.name)
    if not claims:
        return []
    rows = []
    for text, order in claims:
        for setting in preset.settings:
            if not set(order) <= set(setting.variants):
                continue
            kind = "image" if setting.config.get("layout") in IMAGE_DATASETS else "mixture"
            metric, measure = RELATIVE_METRIC[kind]
            if kind == "mixture" and not _saturated(setting.config, "modes"):
                metric, measure = "modes", "modes captured (the paper's; not saturated here)"
            values = {v: [x for r in recs
                          if r["config"]["variant"] == v and preset.setting_of(r["config"]) == setting.name
                          and (x := run_value(r, metric)) is not None] for v in order}
            if not any(values.values()):
                continue
            test = ordering_test(values, order)
            runs = {v: sum(r["config"]["variant"] == v and preset.setting_of(r["config"]) == setting.name
                           for r in recs) for v in order}
            rows.append({"claim": text, "setting": setting.name, "measure": measure,
                         "runs (with a value / all)": "/".join(f"{len(values[v])}" + ("" if len(values[v]) == runs[v]
                                                                                     else f" of {runs[v]}")
                                                               for v in order),
                         "result": test["result"],
                         "detail": ordering_text(test)})
    if not rows:
        return []
    t = pd.DataFrame(rows)
    return ["The paper's headline comparison, tested over our runs at this budget (**reproduces** only when each "
            "step is significant in the claimed direction; a permutation test per step, Holm over the steps; "
            "fewer than 5 runs a side: **too few runs**):", "", t.to_markdown(index=False), ""]


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


def _trajectory_figure(preset: Preset, budget: str, recs: list[dict], figures: Path) -> list[str]:
    """Each setting's trajectories (evaluated during training): where training stands at this budget
    and whether it is still moving. The rows are modes captured and HQ %, and kmeans coverage where
    the preset's table uses it."""
    name = f"reproduction_{preset.name}_{budget}_trajectory.png"
    order = [s.name for s in preset.settings]
    settings = {r["id"]: preset.setting_of(r["config"]) for r in recs}
    panels = dict(sorted(settings.items(), key=lambda kv: order.index(kv[1]) if kv[1] in order else len(order)))
    images = any("confident_fraction" in (r.get("trajectory") or {}) for r in recs)  # class metrics, not HQ
    rows = ("modes", "confident_fraction") if images else ("modes", "hq_fraction") + (
        ("kmeans_coverage",) if any(c.metric == "kmeans_coverage" for c in preset.columns) else ())
    if not fig_trajectories(recs, figures / name, panels, rows):
        return []
    gate = " The dotted line is the sanity gate: a run that ends under it is untrained." if images else ""
    return ["During training (evaluated at 10, 20, 50, 100, ... iterations and at the budget; mean over seeds, "
            "shaded: 95 % t-interval): a curve still rising at the right end says the budget, not the method, "
            f"sets the number.{gate}", "", f"![trajectories](figures/{name})", ""]


def budget_key(config: dict) -> tuple[int, int, str]:
    """Which table a record goes to, as (order, iterations, name): its budget, and for a custom budget
    its iterations too, so that runs at 5,000 and at 10,000 iterations make two tables and never one
    mean. The name is ``custom-10000`` for those (it names the section's CSV and figure)."""
    budget = config["budget"]
    if budget != "custom":
        return BUDGET_ORDER.index(budget), 0, budget
    return BUDGET_ORDER.index(budget), config["iters"], f"custom-{config['iters']}"


def _section(preset: Preset, records: list[dict], tables: Path, figures: Path) -> tuple[Section, list[dict]]:
    lines = Section([f"## `{preset.name}`: {preset.title}", "", f"Source: {preset.source}.", ""])
    summary = []
    if not records:
        lines += [f"Not run yet: `ganbench run --preset {preset.name} --budget quick`.", ""]
        return lines, summary
    by_budget: dict[tuple, list[dict]] = {}
    for r in records:
        by_budget.setdefault(budget_key(r["config"]), []).append(r)
    for key, mine in sorted(by_budget.items()):
        budget = key[2]
        recs = [r for r in mine if r["status"] != "failed"]
        failed = [r for r in mine if r["status"] == "failed"]
        cells = compare_cells(preset, recs)
        cells.insert(0, "budget", budget)
        cells.insert(0, "preset", preset.name)
        csv = tables / f"reproduction_{preset.name}_{budget}.csv"
        lines.file(csv, cells.drop(columns=["decimals"]).to_csv(index=False))
        seeds = len({r["config"]["seed"] for r in recs})
        lines += [f"### Budget: {budget}", "", _budget_line(preset, budget, recs), "",
                  f"Published: {preset.published_note}. Ours: mean [95 % t-interval] (n = runs), every run "
                  "counted; the t-interval describes the runs, while each verdict uses the wider betting interval "
                  f"its sentence gives, valid at small n (table as CSV: `tables/{csv.name}`).", ""]
        lines += _table(preset, cells, seeds) + [""]
        lines += _outcomes_table(preset, recs)
        lines += _trajectory_figure(preset, budget, recs, figures)
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
        lines += _relative_section(preset, recs)
        compared = cells[cells["verdict"].notna()]
        summary.append({"preset": preset.name, "budget": budget, "runs": len(recs),
                        "cells compared": len(compared),
                        **{k: int((compared["verdict"] == k).sum()) for k in LABELS}})
    lines += ["What differs from the paper's setup, besides the budget:", ""]
    lines += [f"- {d}" for d in preset.differences] or ["- nothing we know of"]
    lines += [""]
    return lines, summary


def build_reproduction(out: Path, records: list[dict] | None = None) -> Path:
    """Write ``<out>/REPRODUCTION.md`` (and its CSV tables) from the presets' records in ``<out>/runs``
    (``records``: those already loaded from there)."""
    out = Path(out)
    tables, figures = out / "tables", out / "figures"
    tables.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    records = [r for r in current_records(load_records(out) if records is None else records)
               if "preset" in r["config"]]
    body, summary = Section(), []
    for preset in PRESETS.values():
        section, rows = _section(preset, [r for r in records if r["config"]["preset"] == preset.name], tables, figures)
        body += section
        summary += rows
    lines = ["# Reproducing published mode-collapse tables", "",
             "Each preset runs a published protocol (`ganbench run --preset NAME --budget paper|quick`; all of them: "
             "`scripts/reproduce.sh [quick|paper]`). The **paper** budget is the published number of iterations and "
             "seeds; **quick** is a reduced one that fits a 2-core CPU in minutes, so its numbers say where training "
             "stands early on, not what the protocol reaches. Every table says which budget produced it. Presets are "
             "never tuned to match a number: where our setup differs from the paper's, the section says how.", "",
             f"Each cell's verdict: {RULE}.", ""]
    if summary:
        df = pd.DataFrame(summary)
        lines += [df.to_markdown(index=False), ""]
    _remove_stale(tables, figures, {(r["preset"], r["budget"]) for r in summary})
    body.write()
    return _write(out, lines + body.lines)


def _remove_stale(tables: Path, figures: Path, sections: set[tuple[str, str]]) -> None:
    """Delete the reproduction tables and trajectory figures of sections that no longer exist (a budget
    renamed, such as a pooled ``custom`` one now split by iterations, or records deleted), so that a
    folder never offers a table its REPRODUCTION.md no longer stands behind."""
    keep = {f"reproduction_{p}_{b}" for p, b in sections}
    for path in tables.glob("reproduction_*.csv"):
        if path.stem not in keep:
            path.unlink()
    for path in figures.glob("reproduction_*_trajectory.png"):
        if path.stem.removesuffix("_trajectory") not in keep:
            path.unlink()


def _write(out: Path, lines: list[str]) -> Path:
    path = out / "REPRODUCTION.md"
    write_text_atomic(path, "\n".join(lines))
    return path

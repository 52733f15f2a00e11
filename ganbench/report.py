"""The report: reads run records, writes tables (Markdown + CSV), figures (PNG) and REPORT.md.

It never trains. Everything here is derived from the records in ``<out>/runs``. This module assembles
the Markdown; the tables are computed in ``ganbench.report_tables``, the figures drawn in
``ganbench.report_figures``.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from ganbench.baselines import score_baselines
from ganbench.constants import RUNAWAY_LOSS
from ganbench.data import DEFAULT_STD
from ganbench.datasets import DATASETS as IMAGE_DATASETS
from ganbench.files import track_writes, write_text_atomic
from ganbench.reevaluate import provenance_note
from ganbench.report_figures import (
    fig_losses,
    fig_modes_vs_n,
    fig_samples,
    fig_trajectories,
)
from ganbench.report_images import _image_section
from ganbench.report_output import Section
from ganbench.report_sections import (
    _baselines_section,
    _convergence_section,
    _outcomes_section,
    _pairwise_section,
    _stops,
    auto_round_ids,
)
from ganbench.report_tables import (
    DISTRIBUTION_METRICS,
    MODE_METRICS,
    MODES_TRAINED,
    PAIRWISE_KEY,
    _group,
    _md,
    _seed_range,
    _values,
    ordering_test,
    ordering_text,
    records_frame,
    summarise,
    tutorial_comparison,
    variant_order,
    wide_table,
)
from ganbench.store import check_writable, current_records, load_records

# --- the whole report ------------------------------------------------------------------------------

def build_report(out: Path, warn: Callable[[str], None] | None = None, records: list[dict] | None = None,
                 problems: Sequence[str] = ()) -> Path:
    """Write ``<out>/tables``, ``<out>/figures`` and ``<out>/REPORT.md`` from ``<out>/runs`` (or from
    ``records`` already loaded from there, with the ``problems`` their loading reported)."""
    out = Path(out)
    for d in (out, out / "tables", out / "figures"):
        check_writable(d)
    skipped: list[str] = []

    def note(msg: str) -> None:
        skipped.append(msg)
        if warn:
            warn(msg)

    if records is None:
        problems = []
        records = load_records(out, warn=problems.append)
    for p in problems:
        note(p)
    loaded = records
    # Presets' runs have their own report (ganbench.reproduction, REPRODUCTION.md), and runs with other
    # hyperparameters than the variants' (--set, our own experiments) theirs (ganbench.sensitivity)
    records = [r for r in current_records(loaded, warn=note)
               if "preset" not in r["config"] and "hparams" not in r["config"]]
    # The rounds of `--iters auto` runs are shown through their auto records only: a table of the runs
    # that reached a round would be a selection on the outcome (the ones that had not settled).
    rounds, unfinished = auto_round_ids(records, out)
    records = [r for r in records if r["id"] not in rounds]
    failed = [r for r in records if r["status"] == "failed"]
    records = [r for r in records if r["status"] != "failed"]
    tables, figures = out / "tables", out / "figures"
    tables.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    lines = Section(["# ganbench report", ""])  # the report's Markdown and table files, written by _finish
    if failed:
        lines += [f"**{len(failed)} run(s) failed** after {max(r.get('attempts', 1) for r in failed)} attempt(s) "
                  "and are not in any table; re-running the same `ganbench run` command tries them again:", ""]
        lines += [f"- {r['config']['variant']} on {r['config']['layout']}, {r['config']['modes']} modes, "
                  f"seed {r['config']['seed']}: {r.get('error')}" for r in failed] + [""]
    if not records:
        elsewhere = [(what, f"[{name}]({name})") for what, name, theirs in
                     (("published-protocol (preset) runs", "REPRODUCTION.md",
                       lambda c: "preset" in c and "hparams" not in c),
                      ("runs with hyperparameters of their own (`--set`, `sensitivity-2d`)", "SENSITIVITY.md",
                       lambda c: "hparams" in c)) if any(theirs(r["config"]) for r in loaded)]
        if elsewhere:
            lines += [f"This folder holds only {' and '.join(w for w, _ in elsewhere)}: their tables are in "
                      f"{' and '.join(f for _, f in elsewhere)}.", ""]
        else:
            lines += [f"No run records in `{out / 'runs'}` yet: run `ganbench run` first.", ""]
        return _finish(out, lines, skipped)

    df = records_frame(records)
    summary = summarise(df[~df.layout.isin(list(IMAGE_DATASETS))])
    lines.file(tables / "summary.csv", summary.to_csv(index=False))
    lines += _intro(df, records)
    if any(r["config"].get("hparams") for r in loaded):
        lines += ["Hyperparameters are part of the answer: each variant's sensitivity panel (the same small tuning "
                  "budget per variant, spread over settings beside spread over seeds) is in "
                  "[SENSITIVITY.md](SENSITIVITY.md); the published protocols, with the papers' own settings, in "
                  "[REPRODUCTION.md](REPRODUCTION.md).", ""]

    sections = summary.groupby(["layout", "std", "iters", "auto_cap", "precision"])
    for (layout, std, iters, cap, precision), s in sorted(sections, key=lambda kv: (*kv[0][:4], kv[0][4] != "fp32")):
        # Runs at the layout's default std and in fp32 keep the short name; others say their std or
        # precision (bf16 runs are another experiment, never extra seeds of the fp32 ones).
        default_std = std == DEFAULT_STD.get(layout)
        tag = (f"{layout}_{iters}" + (f"_auto{cap}" if cap else "") + ("" if default_std else f"_std{std:g}")
               + ("" if precision == "fp32" else f"_{precision}"))
        sub = df[(df.layout == layout) & (df["std"] == std) & (df.iters == iters) & (df.auto_cap == cap)
                 & (df.precision == precision)]
        ids = set(sub.id)
        recs = [r for r in records if r["id"] in ids]
        seeds = sub.groupby(["variant", "modes"]).size()
        n_seeds = str(seeds.min()) if seeds.min() == seeds.max() else f"{seeds.min()}–{seeds.max()}"
        where = ", ".join(([] if default_std else [f"std {std:g}"]) + ([] if precision == "fp32" else [precision]))
        budget = (f"{iters} generator iterations" if not cap else
                  f"trained until settled (`--iters auto`: from {iters:,} generator iterations, doubling, up to "
                  f"{cap:,}; stopped at {_stops(recs)})")
        lines += [f"## {layout} layout{f' ({where})' if where else ''}, {budget}", ""]
        waiting = [j for j in unfinished.values()
                   if cap and (j.layout, j.resolved().std, j.iters, j.auto_cap, j.precision or "fp32")
                   == (layout, std, iters, cap, precision)]
        if waiting:  # the runs that settle early finish first: their numbers alone would be selected on the outcome
            lines += [f"{len(recs)} of {len(recs) + len(waiting)} runs of this `--iters auto` grid have finished; "
                      "the numbers are withheld until all of them have (re-run the same `ganbench run` command to go "
                      "on), since the runs that settle early finish first.", ""]
            continue
        n_eval = sorted({r["config"].get("n_eval") for r in recs})
        per_run = " or ".join(f"{n:,}" for n in n_eval)
        lines += [f"Mean [95 % t-interval] over all {n_seeds} seeds of each cell ({per_run} samples per run): "
                  "untrained, collapsed and diverged runs are in every number (a diverged run's mode metrics count as "
                  "total failure), and their rates are in the outcomes table. The baselines below say which metric "
                  "can tell at each K. Machine-readable: "
                  f"`tables/{tag}.csv`.", ""]
        lines.file(tables / f"{tag}.csv", s.to_csv(index=False))
        n_eval = int(max((r["evaluation"].get("n_samples") or 2_500) for r in recs))
        base_lines, sat = _baselines_section(layout, std, sorted(s.modes.unique()), n_eval, tables, tag)
        lines += _findings(s, sat, n_eval)
        lines += _outcomes_section(s, tables, tag)
        lines += base_lines
        lines += _convergence_section(s, tables, tag)
        if fig_trajectories(recs, figures / f"trajectory_{tag}.png"):
            lines += ["Budget scaling: modes captured and HQ % during training (mean over all seeds, shaded: "
                      "95 % t-interval), one panel per number of modes:", "",
                      f"![trajectories](figures/trajectory_{tag}.png)", ""]
        lines += _pairwise_section(sub, tables, tag)
        for key, name, _, dec in MODE_METRICS:
            sat_at = [k for k in sorted(sat) if key in sat[k]]
            lines += _metric_table(s, key, name, dec, tables / f"{key}_{tag}.md", "###",
                                   note=(f"Saturated (a structureless baseline scores as well as the data) at "
                                         f"K = {', '.join(map(str, sat_at))}: no verdict there." if sat_at else ""))
        key, name, _, dec = MODES_TRAINED
        lines += _metric_table(s, key, name, dec, tables / f"{key}_{tag}.md", "###",
                               note="Secondary, conditional on training: over the runs neither untrained nor "
                                    "diverged (n says how many). Selection on the outcome: not for comparing variants.")
        n_no_hq = int(s.no_hq.sum())
        if n_no_hq:
            lines += [f"{n_no_hq} finished run(s) had no high-quality sample; their reverse KL counts as ln K "
                      "(all mass in one mode) instead of dropping out of the mean.", ""]
        n_div = int(s.diverged.sum())
        if n_div:
            lines += [f"{n_div} run(s) diverged (a NaN or inf loss, or a runaway critic loss: its average over a "
                      f"logged interval past {RUNAWAY_LOSS:g} x sqrt(data dims / 2)); their mode metrics count as "
                      "total failure and their distribution metrics are left out (cells say how many): "
                      + ", ".join(f"{r['config']['variant']} {r['config']['modes']} modes seed "
                                  f"{r['config']['seed']} at step {r['diverged_step']}"
                                  f" ({r.get('divergence') or 'non-finite loss'})"
                                  for r in recs if r["status"] == "diverged") + ".", ""]
        fig_modes_vs_n(s, figures / f"modes_vs_n_{tag}.png")
        fig_samples(recs, figures / f"samples_{tag}.png")
        fig_losses(recs, figures / f"losses_{tag}.png")
        lines += ["### Figures", "",
                  f"![modes captured against modes in the data](figures/modes_vs_n_{tag}.png)", "",
                  "Samples of the lowest seed (blue) over the true centres (red crosses):", "",
                  f"![samples per variant and number of modes](figures/samples_{tag}.png)", "",
                  "Losses, averaged over seeds and over each logging interval:", "",
                  f"![loss curves](figures/losses_{tag}.png)", ""]
        if s[[f"{key}_mean" for key, *_ in DISTRIBUTION_METRICS]].notna().any().any():
            lines += ["### Distribution metrics", "",
                      "The metrics layer on the raw 2-D points: the generated samples against as many "
                      "training points drawn with the run's seed (KID: 20 subsets of up to 1,000).", ""]
            for key, name, _, dec in DISTRIBUTION_METRICS:
                if s[f"{key}_mean"].isna().all():  # not computed for these runs (`ganbench evaluate` adds it)
                    continue
                sat_at = [k for k in sorted(sat) if key in sat[k]]
                note = " ".join(filter(None, [
                    provenance_note(recs, key),
                    f"Saturated (a structureless baseline scores within 0.05 of the data) at K = "
                    f"{', '.join(map(str, sat_at))}: it tells collapse, not whether the modes were learnt." if sat_at
                    else ""]))
                lines += _metric_table(s, key, name, dec, tables / f"{key}_{tag}.md", "####", note=note)
        comp = tutorial_comparison(sub, sat)
        if comp["mean"].notna().any():
            lines.file(tables / f"tutorial_comparison_{tag}.md",
                       _md(comp.drop(columns=TUTORIAL_HIDDEN), index=False) + "\n")
            lines.file(tables / f"tutorial_comparison_{tag}.csv", comp.to_csv(index=False))
            lines += _tutorial_section(comp, layout)
        lines += _ordering_section(sub, tables, tag)
    image_records = [r for r in records if r["config"]["layout"] in IMAGE_DATASETS]
    for (dataset, iters), recs in sorted(_group(image_records, ("layout", "iters")).items()):
        lines += _image_section(dataset, iters, recs, tables, figures)
    return _finish(out, lines, skipped)


def _budgets(df: pd.DataFrame) -> str:
    """'300, 1500 and until settled (1,000 to 8,000)': fixed budgets, and each `--iters auto` range."""
    if "auto_cap" not in df:
        return ", ".join(map(str, sorted(df["iters"].unique())))
    auto = df["auto_cap"].fillna(0) > 0
    fixed = ", ".join(map(str, sorted(df.loc[~auto, "iters"].unique())))
    ranges = ", ".join(f"until settled ({i:,} to {c:,})" for i, c in
                       sorted(set(zip(df.loc[auto, "iters"], df.loc[auto, "auto_cap"].astype(int), strict=True))))
    return " and ".join(x for x in (fixed, ranges) if x)


def _intro(df: pd.DataFrame, records: list[dict]) -> list[str]:
    from collections import Counter

    def made_with(key: str, counts: bool = True) -> str:
        """Every value of versions[key] (versions.machine.cpu for "cpu") over all the records, most
        frequent first, with its number of runs where there is more than one value or ``counts``."""
        def value(r: dict) -> str:
            v = r.get("versions") or {}
            v = (v.get("machine") or {}) if key == "cpu" else v
            return str(v.get(key) or "not recorded")
        c = sorted(Counter(map(value, records)).items(), key=lambda kv: (-kv[1], kv[0]))
        if len(c) == 1 and not counts:
            return c[0][0]
        return ", ".join(f"{name} ({n} runs)" for name, n in c)

    train_h = df.train_s.fillna(0).sum() / 3600
    return [
        f"{len(df)} runs: variants {', '.join(variant_order(df.variant.unique()))}; "
        f"data {', '.join(sorted(df.layout.unique()))}; modes {', '.join(map(str, sorted(df.modes.unique())))}; "
        f"{_seed_range(df)} seeds per cell; budgets {_budgets(df)} generator "
        f"iterations. Training time summed over runs: {train_h:.2f} CPU-hours. Made with "
        f"ganbench {made_with('ganbench')}; torch {made_with('torch', counts=False)}; "
        f"CPU {made_with('cpu')}.",
        "",
        f"Budgets are in generator iterations (batch {_values(records, 'batch_size')}; WGAN-GP variants take "
        "5 critic steps each). The default budget fits a 2-core CPU and is far below the published ones (the "
        "tutorial trains about 39,000 iterations, PacGAN 400,000), so these numbers describe GANs at that "
        "budget; each section says its own seeds and budget.",
        "",
        "How to read the numbers:",
        "",
        "- **modes captured**: modes with at least one high-quality sample, where a sample is high quality "
        "if it lies within 3 standard deviations of its nearest mode (the VEEGAN / PacGAN protocol).",
        "- **modes at half their fair share**: modes holding at least half of their fair share (n / K) of the "
        "samples as high-quality ones. Modes captured credits a mode for one stray sample, so a structureless "
        "generator (uniform along the ring) captures all of them; it scores about 0 here (see the baselines).",
        "- **HQ %**: share of a run's generated samples that are high quality.",
        "- **reverse KL**: KL(p_HQ || uniform) = ln K − H(p_HQ) over the high-quality samples; 0 is a "
        "perfectly even spread, ln K all samples in one mode.",
        "- **kmeans coverage %**: the tutorial's definition: KMeans centres of the real data, a centre "
        "covered if any one generated sample lies within 0.1 of it. One stray sample covers a mode, so this "
        "is far more lenient than the 3-std rule.",
        "",
    ]


def _metric_table(s: pd.DataFrame, key: str, name: str, decimals: int, path: Path, heading: str,
                  note: str = "") -> Section:
    t = wide_table(s, key, decimals)
    return Section([f"{heading} {name}", "", *([note, ""] if note else []), _md(t), ""],
                   {path: _md(t) + "\n" + (f"\n{note}\n" if note else "")})


def _findings(s: pd.DataFrame, sat: dict[int, set], n_eval: int = 2_500) -> list[str]:
    """A few sentences a person reads first, per number of modes, over every run: who holds most modes
    at half their fair share (the mode measure a structureless generator cannot saturate), how often each
    variant ends untrained or collapsed, and which variants put fewer samples in HQ than a structureless
    generator does."""
    lines = ["Key results (every run counted):", ""]
    for m, g in s.groupby("modes"):
        scores = score_baselines(g["layout"].iloc[0], int(m), float(g["std"].iloc[0]), n_eval)
        ranked = g.sort_values("modes_fair_mean", ascending=False)
        fair = ", ".join(f"{r.variant} {r.modes_fair_mean:.1f}" for r in ranked.itertuples()
                         if pd.notna(r.modes_fair_mean))
        failing = ", ".join(f"{r.variant} {int(r.o_untrained)}/{int(r.runs)}" for r in ranked.itertuples()
                            if r.o_untrained)
        collapsed = ", ".join(f"{r.variant} {int(r.o_collapsed)}/{int(r.runs)}" for r in ranked.itertuples()
                              if r.o_collapsed)
        hq_floor = 100 * scores["structureless"]["hq_fraction"]
        below = ", ".join(f"{r.variant} ({r.hq_fraction_mean:.0f} %)" for r in ranked.itertuples()
                          if pd.notna(r.hq_fraction_mean) and r.hq_fraction_mean < hq_floor)
        parts = [f"modes at half their fair share (of {m}; mean over all runs): {fair or '-'}"]
        if failing:
            parts.append(f"untrained: {failing}")
        if collapsed:
            parts.append(f"collapsed: {collapsed}")
        parts.append(f"HQ % below the structureless baseline's {hq_floor:.0f} %: {below}" if below
                     else f"every variant's HQ % is above the structureless baseline's {hq_floor:.0f} %")
        if "modes" in sat.get(int(m), set()):
            parts.append("modes captured is saturated here (a structureless generator captures "
                         f"{scores['structureless']['modes']} of {m})")
        lines.append(f"- **{m} modes**: " + "; ".join(parts) + ".")
    return lines + [""]


TUTORIAL_HIDDEN = ["mean", "verdict_label", "untrained"]  # tutorial_comparison's columns for machines only


def _tutorial_section(comp: pd.DataFrame, layout: str) -> list[str]:
    """The tutorial's claimed coverage beside ours, for reference only: its claims are tested (each once,
    with its own networks and optimisers) in REPRODUCTION.md's `tutorial` section, not here, where the
    default grid's settings differ from the tutorial's."""
    shown = comp.drop(columns=TUTORIAL_HIDDEN + ["verdict", "difference (points)"])
    sat = sorted(comp.loc[comp.verdict_label == "saturated", "modes"].unique())
    return ["### The tutorial's coverage table, for reference", "",
            "The tutorial behind ganbench's conditional WGAN-GP claims the coverage below; no source for these "
            "numbers was found. Ours: the same coverage definition (KMeans centres, any sample within 0.1), over "
            f"every run of the grid above on the {layout} layout, with this grid's settings and budget. No verdicts "
            "here: the claims are tested once each, with the tutorial's own settings, in REPRODUCTION.md."
            + (f" On this layout a structureless generator covers 100 % of the centres at {', '.join(map(str, sat))} "
               "modes, so this coverage cannot tell a learnt ring from none there." if sat else ""), "",
            _md(shown, index=False), ""]


def _ordering_section(df: pd.DataFrame, tables: Path, tag: str) -> Section:
    """The tutorial's relative claim (conditional WGAN-GP > WGAN-GP > vanilla) tested over every run on
    the measure that can tell (modes at half their fair share)."""
    order = ["cond-wgan-gp", "wgan-gp", "vanilla"]
    if not set(order) <= set(df.variant):
        return Section()
    rows = []
    for m, g in df.groupby("modes"):
        test = ordering_test({v: g.loc[g.variant == v, f"m_{PAIRWISE_KEY}"].dropna().tolist() for v in order}, order)
        rows.append({"modes": m, "result": test["result"], "detail": ordering_text(test)})
    t = pd.DataFrame(rows)
    return Section(["### The claimed ranking, tested", "",
            "The tutorial claims conditional WGAN-GP > WGAN-GP > vanilla at every size. Tested on modes at half "
            "their fair share over every run: **reproduces** only when each step is significant in the claimed "
            "direction.", "", _md(t, index=False), ""], {tables / f"ordering_{tag}.md": _md(t, index=False) + "\n"})


def _finish(out: Path, lines: Section, skipped: list[str]) -> Path:
    """The one writer: every table the sections returned, then REPORT.md."""
    if skipped:
        lines += ["## Files skipped", "", *[f"- {s}" for s in skipped], ""]
    lines.write()
    path = out / "REPORT.md"
    write_text_atomic(path, "\n".join(lines))
    return path


def main_report(out: Path) -> Path:
    """REPORT.md, REPRODUCTION.md where there are presets' runs and SENSITIVITY.md where there are
    runs of our own experiments or with --set (ganbench.sensitivity); returns REPORT.md's path."""
    from ganbench.presets import PRESETS
    from ganbench.reproduction import build_reproduction
    from ganbench.sensitivity import write_sensitivity

    problems: list[str] = []
    records = load_records(out, warn=problems.append)  # once, for both reports
    with track_writes() as written:
        path = build_report(out, warn=lambda s: print(f"ganbench: {s}", file=sys.stderr), records=records,
                            problems=problems)
        if any(r["config"].get("preset") in PRESETS for r in records):
            print(f"reproduction report: {build_reproduction(out, records)}", file=sys.stderr)
        sensitivity = write_sensitivity(out, records)  # our own experiments and --set runs; deleted when none
        if sensitivity:
            print(f"sensitivity report: {sensitivity}", file=sys.stderr)
        remove_unwritten(Path(out), written)
    return path


REPORT_FILES = ("REPORT.md", "REPRODUCTION.md", "SENSITIVITY.md")  # the report's own files at the top level


def remove_unwritten(out: Path, written: set) -> list[Path]:
    """Delete every table and figure (and report file) under ``out`` that this build did not write:
    no file outlives the records behind it. Returns what it deleted."""
    gone = []
    candidates = [p for d in ("tables", "figures") for p in (out / d).glob("*") if p.is_file()]
    candidates += [out / name for name in REPORT_FILES if (out / name).is_file()]
    for p in candidates:
        if p.resolve() not in written and not p.name.startswith("."):
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone

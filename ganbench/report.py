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

from ganbench.constants import RUNAWAY_LOSS
from ganbench.data import DEFAULT_STD
from ganbench.files import write_text_atomic
from ganbench.image_jobs import DATASETS as IMAGE_DATASETS, GRID_SIDE, N_TSNE
from ganbench.report_figures import (_fig_class_histograms, _fig_image_grids, _fig_iris, _fig_tsne, fig_losses,
                                     fig_modes_vs_n, fig_samples, fig_trajectories)
from ganbench.report_tables import (CLASS_METRICS, DISTRIBUTION_METRICS, IMAGE_METRICS, MODE_METRICS, RUN_STATES,
                                    SETTLED_HQ, SETTLED_MODES, TUTORIAL_MARGIN, UNTRAINED_HQ, _group, _md,
                                    _seed_range, _states_table, _values, pairwise_comparisons, records_frame,
                                    summarise, tutorial_comparison, untrained_text, variant_order, wide_table)
from ganbench.stats import interval, metric_range
from ganbench.store import check_writable, current_records, load_records


# --- sections ------------------------------------------------------------------------------------

def _convergence_section(s: pd.DataFrame, tables: Path, tag: str) -> list[str]:
    t = _states_table(s)
    write_text_atomic(tables / f"states_{tag}.md", _md(t) + "\n")
    n = {st: int(s[f"state_{st}"].sum()) for st in RUN_STATES}
    return ["### How the runs ended", "",
            "Each run is judged from its own trajectory (evaluated during training at 10, 20, 50, 100, ... "
            f"iterations): **untrained** if under {UNTRAINED_HQ:.0%} of its final samples are high quality (it has "
            "not learnt the data: no mode count means anything), **settled** if modes captured moved by at most "
            f"{SETTLED_MODES:.0%} of the modes (at least 1) and HQ by at most {SETTLED_HQ * 100:.0f} points over "
            "the last interval of its trajectory, else **changing** (its numbers describe this budget, not the "
            f"variant). Here: {n['settled']} settled, {n['changing']} changing, {n['untrained']} untrained, "
            f"{n['diverged']} diverged.", "", _md(t), ""]


def _pairwise_section(df: pd.DataFrame, tables: Path, tag: str) -> list[str]:
    comp = pairwise_comparisons(df[df.status == "ok"])
    # Untrained runs have no mode count (MODE_COUNT_METRICS): a variant with under 2 trained runs in a
    # cell is not tested there, and the reader is told so rather than left to wonder.
    trained = df[df.status == "ok"].groupby(["modes", "variant"])["m_modes"].count()
    untested = [f"{v} at {m} modes ({n} trained)" for (m, v), n in trained.items() if n < 2]
    if comp.empty or comp["p"].notna().sum() == 0:
        if comp.empty or not untested:
            return []
        return ["### Which variants differ", "",
                f"No pair of variants could be tested: under 2 trained runs for {', '.join(untested)}.", ""]
    write_text_atomic(tables / f"pairwise_modes_{tag}.csv", comp.to_csv(index=False))
    shown = comp[comp["p"].notna()].copy()
    found = shown[shown["p_holm"] < 0.05]
    shown["p (Welch)"] = shown["p"].map("{:.3g}".format)
    shown["p (Holm)"] = shown["p_holm"].map("{:.3g}".format)
    shown = shown[["modes", "a", "b", "n_a", "n_b", "p (Welch)", "p (Holm)", "result"]]
    skipped = (f" Not tested, for want of 2 trained runs: {', '.join(untested)}." if untested else "")
    return ["### Which variants differ", "",
            f"Modes captured, every pair of variants at each number of modes: Welch's t-test over trained seeds "
            f"(n_a, n_b), Holm-corrected over the {len(shown)} pairs (5 % family-wise). {len(found)} difference(s) "
            "survive the correction; 'no detectable difference' is not evidence that two variants are alike."
            + skipped, "", _md(shown, index=False), ""]


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
    # Presets' runs have their own report (ganbench.reproduction, REPRODUCTION.md)
    records = [r for r in current_records(loaded, warn=note) if "preset" not in r["config"]]
    failed = [r for r in records if r["status"] == "failed"]
    records = [r for r in records if r["status"] != "failed"]
    tables, figures = out / "tables", out / "figures"
    tables.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    lines = ["# ganbench report", ""]
    if failed:
        lines += [f"**{len(failed)} run(s) failed** after {max(r.get('attempts', 1) for r in failed)} attempt(s) "
                  "and are not in any table; re-running the same `ganbench run` command tries them again:", ""]
        lines += [f"- {r['config']['variant']} on {r['config']['layout']}, {r['config']['modes']} modes, "
                  f"seed {r['config']['seed']}: {r.get('error')}" for r in failed] + [""]
    if not records:
        if any("preset" in r["config"] for r in loaded):
            lines += ["This folder holds only published-protocol (preset) runs: their tables are in "
                      "[REPRODUCTION.md](REPRODUCTION.md).", ""]
        else:
            lines += [f"No run records in `{out / 'runs'}` yet: run `ganbench run` first.", ""]
        return _finish(out, lines, skipped)

    df = records_frame(records)
    summary = summarise(df[~df.layout.isin(list(IMAGE_DATASETS))])
    write_text_atomic(tables / "summary.csv", summary.to_csv(index=False))
    lines += _intro(df, records)

    sections = summary.groupby(["layout", "std", "iters", "precision"])
    for (layout, std, iters, precision), s in sorted(sections, key=lambda kv: (*kv[0][:3], kv[0][3] != "fp32")):
        # Runs at the layout's default std and in fp32 keep the short name; others say their std or
        # precision (bf16 runs are another experiment, never extra seeds of the fp32 ones).
        default_std = std == DEFAULT_STD.get(layout)
        tag = (f"{layout}_{iters}" + ("" if default_std else f"_std{std:g}")
               + ("" if precision == "fp32" else f"_{precision}"))
        sub = df[(df.layout == layout) & (df["std"] == std) & (df.iters == iters) & (df.precision == precision)]
        ids = set(sub.id)
        recs = [r for r in records if r["id"] in ids]
        seeds = sub.groupby(["variant", "modes"]).size()
        n_seeds = str(seeds.min()) if seeds.min() == seeds.max() else f"{seeds.min()}–{seeds.max()}"
        where = ", ".join(([] if default_std else [f"std {std:g}"]) + ([] if precision == "fp32" else [precision]))
        lines += [f"## {layout} layout{f' ({where})' if where else ''}, {iters} generator iterations", "",
                  f"Mean [95 % t-interval] (n = seeds with a value) over {n_seeds} seeds "
                  f"(2,500 samples per run). Modes captured, reverse KL and kmeans coverage are over trained runs "
                  f"only: an untrained run (under {UNTRAINED_HQ:.0%} HQ) has no mode count that means anything "
                  f"(see how the runs ended). Machine-readable: `tables/{tag}.csv`.", ""]
        write_text_atomic(tables / f"{tag}.csv", s.to_csv(index=False))
        lines += _findings(s)
        lines += _convergence_section(s, tables, tag)
        if fig_trajectories(recs, figures / f"trajectory_{tag}.png"):
            lines += ["Budget scaling: modes captured and HQ % during training (mean over seeds, shaded: 95 % "
                      "t-interval), one panel per number of modes:", "",
                      f"![trajectories](figures/trajectory_{tag}.png)", ""]
        lines += _pairwise_section(sub, tables, tag)
        for key, name, _, dec in MODE_METRICS:
            lines += _metric_table(s, key, name, dec, tables / f"{key}_{tag}.md", "###")
        n_no_hq = int(s.no_hq.sum())
        if n_no_hq:
            lines += [f"{n_no_hq} finished run(s) had no high-quality sample; their reverse KL counts as ln K "
                      "(all mass in one mode) instead of dropping out of the mean.", ""]
        n_div = int(s.diverged.sum())
        if n_div:
            lines += [f"{n_div} run(s) diverged (a NaN or inf loss, or a runaway one: an averaged loss past "
                      f"{RUNAWAY_LOSS:g} x sqrt(data dims / 2)) and are left out of the means: "
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
                lines += _metric_table(s, key, name, dec, tables / f"{key}_{tag}.md", "####")
        comp = tutorial_comparison(sub[sub.status == "ok"])
        if comp["mean"].notna().any():
            write_text_atomic(tables / f"tutorial_comparison_{tag}.md",
                              _md(comp.drop(columns=TUTORIAL_HIDDEN), index=False) + "\n")
            write_text_atomic(tables / f"tutorial_comparison_{tag}.csv", comp.to_csv(index=False))
            lines += _tutorial_section(comp, layout)
    image_records = [r for r in records if r["config"]["layout"] in IMAGE_DATASETS]
    for (dataset, iters), recs in sorted(_group(image_records, ("layout", "iters")).items()):
        lines += _image_section(dataset, iters, recs, tables, figures)
    return _finish(out, lines, skipped)


# --- image and Iris datasets ------------------------------------------------------------------------

def _image_section(dataset: str, iters: int, recs: list[dict], tables: Path, figures: Path) -> list[str]:
    tag = f"{dataset}_{iters}"
    rows = []
    for variant in variant_order({r["config"]["variant"] for r in recs}):
        mine = [r for r in recs if r["config"]["variant"] == variant]
        ok = [r["metrics"] for r in mine if r.get("metrics")]
        trained = [m for m in ok if not m.get("untrained")]
        row = {"variant": variant, "runs": len(mine), "diverged": len(mine) - len(ok),
               "untrained": len(ok) - len(trained)}
        for key, name, scale, dec in IMAGE_METRICS:
            # Class metrics of an untrained run (the sanity gate) are the evaluator's labels of noise:
            # they are left out, and a cell with no trained run says so instead of giving a number.
            pool = trained if key in CLASS_METRICS else ok
            iv = interval([m[key] * scale for m in pool if m.get(key) is not None], step=1.0 if key == "modes" else 0.0,
                          bounds=metric_range(key, recs[0]["config"].get("modes") or 0, scale))
            row[name] = (untrained_text(len(ok), len(mine)) if key in CLASS_METRICS and ok and not trained
                         else iv.text(dec))
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table[[c for c in table.columns if not (table[c] == "-").all()]]
    write_text_atomic(tables / f"{tag}.md", _md(table, index=False) + "\n")
    write_text_atomic(tables / f"{tag}.csv", table.to_csv(index=False))
    arch = recs[0]["config"].get("arch")
    acc = next((r["metrics"].get("evaluator_test_accuracy") for r in recs if r.get("metrics")), None)
    lines = [f"## {dataset}, {iters} generator iterations", "",
             f"Architecture `{arch}`, {recs[0]['evaluation']['n_samples']} generated samples per run, mean "
             f"[95 % t-interval] (n seeds). A run is **untrained** when under half as many of its digits as of "
             f"real ones get the evaluator's label with probability >= 0.9 (noise, blobs): its class counts "
             f"are left out. " + ("Metrics on the 4 raw features." if dataset == "iris" else
                                "Classes by ganbench's MNIST evaluator (test accuracy "
                                + (f"{100 * acc:.2f}%" if acc is not None else "unknown")
                                + "); FID and the others in its 128-d features (per channel, 384-d, on Stacked MNIST)."),
             "", _md(table, index=False), ""]
    if dataset == "iris":
        _fig_iris(recs, figures / f"iris_histograms_{tag}.png")
        lines += [f"![real and generated feature histograms](figures/iris_histograms_{tag}.png)", ""]
    else:
        if _fig_image_grids(recs, figures / f"grids_{tag}.png", nrow=GRID_SIDE):  # an option: in the figure's digest
            lines += [f"![generated samples per variant](figures/grids_{tag}.png)", ""]
        if _fig_image_grids(recs, figures / f"class_grids_{tag}.png", key="class_grid", nrow=10):
            lines += ["Conditional models, ten samples of each class asked for (row i = class i):", "",
                      f"![class-by-row samples of conditional models](figures/class_grids_{tag}.png)", ""]
        if _fig_tsne(recs, figures / f"tsne_{tag}.png"):
            lines += [f"t-SNE of {N_TSNE} real (grey) and {N_TSNE} generated (red) samples in the evaluator's "
                      "features, one embedding per run: generated points that cover only some of the real "
                      "clusters show mode collapse.", "", f"![t-SNE of real and generated](figures/tsne_{tag}.png)", ""]
        _fig_class_histograms(recs, figures / f"classes_{tag}.png")
        lines += [f"![class histogram per variant](figures/classes_{tag}.png)", ""]
    return lines


def _intro(df: pd.DataFrame, records: list[dict]) -> list[str]:
    v = records[0].get("versions", {})
    train_h = df.train_s.fillna(0).sum() / 3600
    return [
        f"{len(df)} runs: variants {', '.join(variant_order(df.variant.unique()))}; "
        f"layouts {', '.join(sorted(df.layout.unique()))}; modes {', '.join(map(str, sorted(df.modes.unique())))}; "
        f"{_seed_range(df)} seeds per cell; budgets {', '.join(map(str, sorted(df.iters.unique())))} generator "
        f"iterations. Training time summed over runs: {train_h:.2f} CPU-hours "
        f"(torch {v.get('torch', '?')}, ganbench {v.get('ganbench', '?')}).",
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
        "- **HQ %**: share of the 2,500 samples that are high quality.",
        "- **reverse KL**: KL(p_HQ || uniform) = ln K − H(p_HQ) over the high-quality samples; 0 is a "
        "perfectly even spread, ln K all samples in one mode.",
        "- **kmeans coverage %**: the tutorial's definition: KMeans centres of the real data, a centre "
        "covered if any one generated sample lies within 0.1 of it. One stray sample covers a mode, so this "
        "is far more lenient than the 3-std rule.",
        "",
    ]


def _metric_table(s: pd.DataFrame, key: str, name: str, decimals: int, path: Path, heading: str) -> list[str]:
    t = wide_table(s, key, decimals)
    write_text_atomic(path, _md(t) + "\n")
    return [f"{heading} {name}", "", _md(t), ""]


def _left_out(r) -> str:
    """'n = 2 of 5: 1 untrained, 2 diverged; ' for a summary row whose mode count leaves runs out."""
    n, runs = int(r.modes_n), int(r.runs)
    if n == runs:
        return ""
    why = [f"{int(k)} {name}" for k, name in ((r.state_untrained, "untrained"), (r.diverged, "diverged")) if k]
    return f"n = {n} of {runs}: {', '.join(why) or 'no value'}; "


def _findings(s: pd.DataFrame) -> list[str]:
    """A few sentences a person reads first: who captures most and least, per number of modes. Variants
    with a mode count from more than half their runs are ranked first; a mean over the few runs of a
    variant that mostly did not train (or diverged) comes after them, so that it cannot lead the line."""
    lines = ["Key results:", ""]
    for m, g in s.groupby("modes"):
        trained = g.dropna(subset=["modes_mean"]).sort_values("modes_mean", ascending=False)
        mostly = 2 * trained["modes_n"] > trained["runs"]  # modes_n: runs neither untrained nor diverged
        untrained = g[g["modes_mean"].isna() & (g["state_untrained"] > 0)]
        if trained.empty and untrained.empty:
            continue

        def listed(rows) -> str:
            return ", ".join(f"{r.variant} {r.modes_mean:.1f} ({_left_out(r)}{r.hq_fraction_mean:.0f}% HQ)"
                             for r in rows.itertuples())

        tiers = [listed(trained[mostly])]
        if (~mostly).any():
            tiers.append("from at most half their runs: " + listed(trained[~mostly]))
        tiers.append(", ".join(f"{r.variant} untrained ({r.state_untrained} of {r.runs}; {r.hq_fraction_mean:.0f}% HQ)"
                               for r in untrained.itertuples()))
        lines.append(f"- **{m} modes**, modes captured (mean over trained seeds): "
                     + "; ".join(t for t in tiers if t) + ".")
    return lines + [""]


TUTORIAL_HIDDEN = ["mean", "verdict_label", "untrained"]  # tutorial_comparison's columns for machines only


def _tutorial_section(comp: pd.DataFrame, layout: str) -> list[str]:
    shown = comp.drop(columns=TUTORIAL_HIDDEN)
    lines = ["### The tutorial's coverage table, tested", "",
             "The tutorial behind ganbench's conditional WGAN-GP claims the coverage below; no source for "
             "these numbers was found. Ours use the same coverage definition (KMeans centres, any sample "
             f"within 0.1) on the {layout} layout"
             + ("" if layout == "blobs" else
                " (the tutorial's own blob layout has at most 9 modes, so 16 and 32 cannot be run on it)")
             + ", with the budget above, not the tutorial's 500 epochs.", "",
             _md(shown, index=False), ""]
    measured = comp.dropna(subset=["mean"])
    untrained = comp[comp["mean"].isna() & (comp["untrained"] > 0)]
    if len(untrained):
        lines.append(f"{len(untrained)} cell(s) have no trained run at this budget, so their coverage is not "
                     "compared: " + ", ".join(f"{r.variant} at {r.modes} modes" for r in untrained.itertuples()) + ".")
    if measured.empty:
        return lines + [""]
    diff = (measured["mean"] - measured["claimed %"]).abs()
    counts = measured["verdict_label"].value_counts()
    lines.append(f"Across the {len(measured)} cells with trained runs, our measurement differs from the claim by "
                 f"{diff.mean():.0f} percentage points on average (largest: {diff.max():.0f}). Verdicts (the 95 % "
                 f"interval of the difference against a ±{TUTORIAL_MARGIN:.0f}-point margin; the claim, which has no "
                 "stated spread, counts as one run): "
                 + ", ".join(f"{int(counts.get(k, 0))} {k}" for k in ("agrees", "differs", "undecided")) + ".")
    # The claimed ranking: conditional WGAN-GP >= WGAN-GP >= vanilla at every size.
    means = measured.pivot(index="modes", columns="variant", values="mean")
    order = ["cond-wgan-gp", "wgan-gp", "vanilla"]
    if set(order) <= set(means.columns):
        tested = means[order].dropna()
        held = [m for m, r in tested.iterrows() if r[order[0]] >= r[order[1]] >= r[order[2]]]
        lines.append(f"The claimed ranking (conditional WGAN-GP >= WGAN-GP >= vanilla) holds in our means at "
                     f"{len(held)} of {len(tested)} sizes" + (f" ({', '.join(map(str, held))} modes)." if held else "."))
    return lines + [""]


def _finish(out: Path, lines: list[str], skipped: list[str]) -> Path:
    if skipped:
        lines += ["## Files skipped", "", *[f"- {s}" for s in skipped], ""]
    path = out / "REPORT.md"
    write_text_atomic(path, "\n".join(lines))
    return path


def main_report(out: Path) -> Path:
    """REPORT.md, and REPRODUCTION.md where there are presets' runs; returns REPORT.md's path."""
    from ganbench.reproduction import build_reproduction

    problems: list[str] = []
    records = load_records(out, warn=problems.append)  # once, for both reports
    path = build_report(out, warn=lambda s: print(f"ganbench: {s}", file=sys.stderr), records=records,
                        problems=problems)
    if any("preset" in r["config"] for r in records):
        print(f"reproduction report: {build_reproduction(out, records)}", file=sys.stderr)
    return path

"""SENSITIVITY.md: how much each variant's result depends on its hyperparameters.

A method failing under one setting is a fact about the setting (WGAN-GP with lambda 10 and Adam 2e-4
(0, 0.9), the WGAN-GP class's own, against gan_toy.py's lambda 0.1 and Adam 1e-4 (0.5, 0.9)). In the
spirit of Lucic et al. 2018, "Are GANs Created Equal?", each variant gets a small, equal tuning budget (the
``sensitivity-2d`` preset, ``ganbench.presets``), and the report gives the spread over settings as
well as over seeds.

Covered: the records of our own experiments (``ganbench.presets.EXPERIMENTS``) and grid runs with
``--set`` (a config with ``hparams``), on mixtures. Per variant x setting x K: runs, modes captured
and HQ % as mean [95 % t-interval] over **every** run (untrained runs with what they captured, and a
diverged run without metrics as 0 modes and 0 % HQ, also counted in the diverged column), the share
of untrained runs (final HQ under ``UNTRAINED_HQ``) with a Wilson interval; per variant x K, the best
and worst setting's mean and the SD over settings beside the SD over seeds.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd

from ganbench.convergence import UNTRAINED_HQ
from ganbench.data import DEFAULT_STD
from ganbench.datasets import DATASETS as IMAGE_DATASETS
from ganbench.files import write_text_atomic
from ganbench.hparams import hparams_label
from ganbench.metric_spec import metric_range
from ganbench.population import outcomes, run_value
from ganbench.presets import BUDGET_ORDER, EXPERIMENTS
from ganbench.report_figures import _plt, _save, cached_figure
from ganbench.report_output import Section
from ganbench.stats import interval, interval_text, wilson
from ganbench.store import current_records
from ganbench.variants import VARIANTS

_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]  # a figure is redrawn when this changes

# Optimisers with a name, so that a reader sees which setting is whose
KNOWN_OPTIMISERS = {("adam", 2e-4, (0.0, 0.9)): "ours",          # the WGAN-GP class's own (its image setting)
                    ("adam", 1e-4, (0.5, 0.9)): "gan_toy.py",
                    ("adam", 2e-4, (0.5, 0.999)): "default"}     # the others' default


def covered(records: list[dict]) -> list[dict]:
    """The records this report covers: our experiments' runs and grid runs with ``--set``."""
    return [r for r in records if r["config"].get("preset") in EXPERIMENTS
            or ("hparams" in r["config"] and "preset" not in r["config"])]


def _section_key(config: dict) -> tuple:
    """Which table a record goes to: (order, tag, title). An experiment's budget (a custom one by its
    iterations, so that budgets are never averaged together); a --set grid run's layout and iterations."""
    if "preset" in config:
        budget = config.get("budget") or "custom"
        order = BUDGET_ORDER.index(budget) if budget in BUDGET_ORDER else len(BUDGET_ORDER)
        name = budget if budget != "custom" else f"custom-{config['iters']}"
        return (0, config["preset"], order, config["iters"]), name, f"`{config['preset']}`, budget {name}"
    tag = f"set_{config['layout']}_{config['iters']}"
    return (1, config["layout"], 0, config["iters"]), tag, \
        f"Grid runs with `--set`: {config['layout']} layout, {config['iters']} iterations"


def _setting(config: dict) -> str:
    label = hparams_label(config.get("hparams"))
    std = config.get("std")
    if std is not None and std != DEFAULT_STD.get(config["layout"]):
        label += f", std {std:g}"
    return label


def _optimiser_note(config: dict) -> str | None:
    adam = json.loads(config["hparams"]).get("adam", {}) if config.get("hparams") else {}
    if "lr" not in adam or "betas" not in adam:
        return None
    return KNOWN_OPTIMISERS.get(("adam", adam["lr"], tuple(adam["betas"])))


def run_values(rec: dict) -> tuple[float, float, bool, bool, float]:
    """(modes at half their fair share, HQ %, untrained, diverged, modes captured) of one run, by the
    report's one rule (``ganbench.population``: a diverged run counts as total failure)."""
    flags = outcomes(rec)
    fair, hq, modes = (run_value(rec, k) for k in ("modes_fair", "hq_fraction", "modes"))
    return (0.0 if fair is None else fair, 100.0 * (hq or 0.0), flags["untrained"], flags["diverged"],
            0.0 if modes is None else modes)


def cells_frame(records: list[dict]) -> pd.DataFrame:
    """One row per variant x setting x K of one section: the numbers of the table (and the CSV)."""
    rows = []
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        c = r["config"]
        groups.setdefault((c["variant"], _setting(c), c["modes"]), []).append(r)
    for (variant, setting, modes), recs in groups.items():
        vals = [run_values(r) for r in recs]
        modes_iv = interval([v[0] for v in vals], 1.0, metric_range("modes", modes))
        hq_iv = interval([v[1] for v in vals], 0.0, metric_range("hq_fraction", modes, 100.0))
        captured_iv = interval([v[4] for v in vals], 1.0, metric_range("modes", modes))
        n = len(vals)
        k = sum(v[2] for v in vals)
        lo, hi = wilson(k, n)
        rows.append({"variant": variant, "setting": setting, "hparams": recs[0]["config"].get("hparams") or "",
                     "optimiser": _optimiser_note(recs[0]["config"]) or "", "modes": modes, "runs": n,
                     "seeds": ",".join(str(s) for s in sorted(r["config"]["seed"] for r in recs)),
                     "modes_mean": modes_iv.mean, "modes_lo": modes_iv.lo, "modes_hi": modes_iv.hi,
                     "modes_sd": modes_iv.sd, "captured_mean": captured_iv.mean, "captured_lo": captured_iv.lo,
                     "captured_hi": captured_iv.hi, "hq_mean": hq_iv.mean, "hq_lo": hq_iv.lo, "hq_hi": hq_iv.hi,
                     "untrained": k, "untrained_share": k / n, "untrained_lo": lo, "untrained_hi": hi,
                     "diverged": sum(v[3] for v in vals)})
    return pd.DataFrame(rows)


def _ordered(cells: pd.DataFrame, setting_order: list[str]) -> pd.DataFrame:
    v_rank = {v: i for i, v in enumerate(VARIANTS)}
    s_rank = {s: i for i, s in enumerate(setting_order)}
    key = cells.apply(lambda r: (r["modes"], v_rank.get(r["variant"], len(v_rank)),
                                 s_rank.get(r["hparams"], len(s_rank)), r["setting"]), axis=1)
    return cells.assign(_k=key).sort_values("_k").drop(columns="_k").reset_index(drop=True)


def spread_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """Per variant x K: its settings' best and worst mean of modes captured, the best by HQ, and the
    spread over settings (SD of the settings' means) beside the spread over seeds (within settings, pooled)."""
    rows = []
    for (modes, variant), g in cells.groupby(["modes", "variant"], sort=False):
        best, worst = g.loc[g["modes_mean"].idxmax()], g.loc[g["modes_mean"].idxmin()]
        best_hq = g.loc[g["hq_mean"].idxmax()]
        sds = g["modes_sd"].dropna()
        rows.append({"variant": variant, "modes": modes, "settings": len(g),
                     "best setting (modes)": best["setting"], "best modes": best["modes_mean"],
                     "best untrained": f"{best['untrained']} of {best['runs']}",
                     "worst setting (modes)": worst["setting"], "worst modes": worst["modes_mean"],
                     "worst untrained": f"{worst['untrained']} of {worst['runs']}",
                     "range over settings": best["modes_mean"] - worst["modes_mean"],
                     "SD over settings": g["modes_mean"].std(ddof=1) if len(g) > 1 else math.nan,
                     "SD over seeds": math.sqrt((sds ** 2).mean()) if len(sds) else math.nan,
                     "best setting (HQ)": best_hq["setting"], "best HQ %": best_hq["hq_mean"]})
    return pd.DataFrame(rows)


def _cells_md(cells: pd.DataFrame) -> str:
    shown = pd.DataFrame({
        "variant": cells["variant"], "K": cells["modes"],
        "setting": [s + (f" ({o})" if o else "")
                    for s, o in zip(cells["setting"], cells["optimiser"], strict=True)],
        "runs": cells["runs"],
        "modes at half fair share": [interval_text(n, m, lo, hi, 1) for n, m, lo, hi in
                                     zip(cells["runs"], cells["modes_mean"], cells["modes_lo"], cells["modes_hi"],
                                         strict=True)],
        "modes captured (saturated)": [interval_text(n, m, lo, hi, 1) for n, m, lo, hi in
                                       zip(cells["runs"], cells["captured_mean"], cells["captured_lo"],
                                           cells["captured_hi"], strict=True)],
        "HQ %": [interval_text(n, m, lo, hi, 1) for n, m, lo, hi in
                 zip(cells["runs"], cells["hq_mean"], cells["hq_lo"], cells["hq_hi"], strict=True)],
        "untrained": [f"{k} of {n} ({100 * k / n:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}])" for k, n, lo, hi in
                      zip(cells["untrained"], cells["runs"], cells["untrained_lo"], cells["untrained_hi"],
                          strict=True)],
        "diverged": cells["diverged"]})
    return shown.to_markdown(index=False)


def _spread_md(spread: pd.DataFrame) -> str:
    def f(x, d=1):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{d}f}"

    def setting(name, mean, untrained):
        # a mean of modes captured by untrained runs (a line through the ring crosses modes) is said so
        return f"{name} ({f(mean)}" + ("" if untrained.startswith("0 ") else f"; {untrained} untrained") + ")"

    shown = pd.DataFrame({
        "variant": spread["variant"], "K": spread["modes"], "settings": spread["settings"],
        "best by modes (mean)": [setting(*a) for a in zip(spread["best setting (modes)"], spread["best modes"],
                                                          spread["best untrained"], strict=True)],
        "worst by modes (mean)": [setting(*a) for a in zip(spread["worst setting (modes)"], spread["worst modes"],
                                                           spread["worst untrained"], strict=True)],
        "range": spread["range over settings"].map(f),
        "SD over settings": spread["SD over settings"].map(f),
        "SD over seeds": spread["SD over seeds"].map(f),
        "best by HQ (mean %)": [f"{s} ({f(h)})"
                                for s, h in zip(spread["best setting (HQ)"], spread["best HQ %"], strict=True)]})
    return shown.to_markdown(index=False)


def _short_setting(label: str) -> str:
    return label.replace("gp_lambda ", "\u03bb ").replace("Adam ", "")


@cached_figure
def _figure(records: list[dict], path: Path, setting_order: list[str], code: str) -> bool:
    """Modes at half their fair share by setting, one point per seed (hollow: untrained; x: diverged), a bar at
    the mean; a panel per K. Drawn again only when the records, the order or this module's code change."""
    cells = _ordered(cells_frame(records), setting_order)
    plt = _plt()
    ks = sorted(cells["modes"].unique())
    by_cell: dict[tuple, list[tuple]] = {}
    for r in records:
        c = r["config"]
        by_cell.setdefault((c["variant"], _setting(c), c["modes"]), []).append(run_values(r))
    n_cols = max(len(cells[cells["modes"] == k]) for k in ks)
    fig, axes = plt.subplots(len(ks), 1, figsize=(max(6.0, 0.42 * n_cols + 2), 4.4 * len(ks)), squeeze=False)
    colours = {v: plt.get_cmap("tab10")(i) for i, v in enumerate(VARIANTS)}
    for ax, k in zip(axes[:, 0], ks, strict=True):
        sub = cells[cells["modes"] == k].reset_index(drop=True)
        for x, row in sub.iterrows():
            vals = by_cell[(row["variant"], row["setting"], k)]
            col = colours.get(row["variant"], "grey")
            for j, (m, _, untrained, diverged, _) in enumerate(vals):
                dx = (j - (len(vals) - 1) / 2) * 0.08
                if diverged:
                    ax.plot(x + dx, m, "x", color=col, ms=5)
                else:
                    ax.plot(x + dx, m, "o", ms=4, color=col, mfc="none" if untrained else col)
            ax.plot([x - 0.3, x + 0.3], [row["modes_mean"]] * 2, "-", color="black", lw=1.2)
        ax.set_xticks(range(len(sub)))
        ax.set_xticklabels([_short_setting(s) for s in sub["setting"]], rotation=55, ha="right", fontsize=7)
        for tick, v in zip(ax.get_xticklabels(), sub["variant"], strict=False):
            tick.set_color(colours.get(v, "grey"))
        ax.set_ylim(-0.5, k * 1.15 + 0.5)
        ax.axhline(k, color="grey", lw=0.5, ls=":")
        ax.set_ylabel(f"modes at half fair share (K = {k})")
    handles = [plt.Line2D([], [], marker="o", ls="", color=colours.get(v, "grey"), label=v)
               for v in dict.fromkeys(cells["variant"])]
    axes[0, 0].legend(handles=handles, fontsize=7, loc="upper left", ncol=len(handles))
    axes[0, 0].set_title("Modes at half their fair share by setting: a point per seed (hollow: untrained, "
                         "x: diverged), bar: mean", fontsize=9)
    _save(fig, path, dpi=100)
    return True


def sensitivity_lines(records: list[dict], out: Path) -> Section:
    """The report's section on the records it covers (``covered``): its Markdown lines (none when there
    is nothing to report) and ``tables/sensitivity_<budget>.md|csv`` per section, which the caller
    writes; draws ``figures/sensitivity_<budget>.png``. Failed runs are listed, not counted."""
    out = Path(out)
    mine = covered(current_records(records))  # a record whose id is no longer its config's: another experiment
    recs = [r for r in mine if r["config"]["layout"] not in IMAGE_DATASETS]
    images = [r for r in mine if r["config"]["layout"] in IMAGE_DATASETS]
    if not recs and not images:
        return Section()
    tables, figures = out / "tables", out / "figures"
    sections: dict[tuple, list[dict]] = {}
    titles: dict[tuple, tuple[str, str]] = {}
    for r in recs:
        order, tag, title = _section_key(r["config"])
        sections.setdefault(order, []).append(r)
        titles[order] = (tag, title)
    lines = ["## Hyperparameter sensitivity", "",
             "Each variant gets the same small tuning budget (a few settings of the hyperparameters that matter "
             "for it), in the spirit of Lucic et al. 2018, \"Are GANs Created Equal?\": a variant that fails "
             "under one setting and trains under another is a fact about the setting. Every number is over "
             f"**all** runs of a cell (`ganbench.population`): untrained runs (final HQ under "
             f"{UNTRAINED_HQ * 100:.0f} %) count with what their samples give, and a diverged run as total failure "
             "(0 modes, 0 % HQ; and in the diverged column). The mode measure is **modes at half their fair share** "
             "(modes holding at least half of n/K samples as high-quality ones): modes captured is saturated on "
             "rings (a structureless generator captures every mode: REPORT.md's baselines) and is shown only "
             "beside it. Mean [95 % t-interval] (n = runs) over seeds; untrained: the share with a 95 % Wilson "
             "interval. The spread table gives, per variant and K, the best and worst setting's mean of modes at "
             "half their fair share, the SD of the settings' means (spread over settings) and the pooled SD over "
             "seeds within a setting (spread over seeds).", ""]
    written, files = set(), {}
    for order in sorted(sections):
        mine = sections[order]
        tag, title = titles[order]
        failed = [r for r in mine if r["status"] == "failed"]
        done = [r for r in mine if r["status"] != "failed"]
        lines += [f"### {title}", ""]
        if not done:
            lines += [f"All {len(failed)} run(s) failed.", ""]
            continue
        preset = EXPERIMENTS.get(done[0]["config"].get("preset"))
        setting_order = list(dict.fromkeys(s.config.get("hparams") for s in preset.settings)) if preset else []
        cells = _ordered(cells_frame(done), setting_order)
        spread = spread_frame(cells)
        iters = sorted({r["config"]["iters"] for r in done})
        seeds = sorted({r["config"]["seed"] for r in done})
        md = _cells_md(cells)
        sp = _spread_md(spread)
        files[tables / f"sensitivity_{tag}.csv"] = cells.to_csv(index=False)
        files[tables / f"sensitivity_{tag}.md"] = f"{md}\n\n{sp}\n"
        written.add(f"sensitivity_{tag}")
        lines += [f"{len(done)} runs at {', '.join(f'{i:,}' for i in iters)} generator iterations, seeds "
                  f"{seeds[0]}..{seeds[-1]} (tables: `tables/sensitivity_{tag}.md`, `tables/sensitivity_{tag}.csv`).",
                  "", md, "", "Spread over settings and over seeds (modes at half their fair share):", "", sp, ""]
        if _figure(done, figures / f"sensitivity_{tag}.png", setting_order, _CODE):
            lines += [f"![modes at half their fair share by setting](figures/sensitivity_{tag}.png)", ""]
        if failed:
            lines += [f"{len(failed)} run(s) failed and are left out: "
                      + "; ".join(f"`{r['config']['variant']}` seed {r['config']['seed']}: {r.get('error')}"
                                  for r in failed), ""]
    if images:
        lines += [f"{len(images)} image-dataset run(s) with `--set` are not summarised here (this section "
                  "covers mixtures); their records are in `runs/`.", ""]
    _remove_stale(tables, figures, written)
    return Section(lines, files)


def _remove_stale(tables: Path, figures: Path, keep: set[str]) -> None:
    for folder, pattern in ((tables, "sensitivity_*.md"), (tables, "sensitivity_*.csv"),
                            (figures, "sensitivity_*.png")):
        for path in folder.glob(pattern):
            if path.stem not in keep:
                path.unlink()


def write_sensitivity(out: Path, records: list[dict]) -> Path | None:
    """``<out>/SENSITIVITY.md`` from the records (those ``covered``); with none, it and its tables and
    figures are deleted and None is returned."""
    out = Path(out)
    path = out / "SENSITIVITY.md"
    section = sensitivity_lines(records, out)
    if not section.lines:
        if path.exists():
            path.unlink()
        _remove_stale(out / "tables", out / "figures", set())
        return None
    head = ["# Hyperparameter sensitivity", "",
            "Written by `ganbench report` from the records in `runs/` of our own experiments "
            f"(`ganbench run --preset {', '.join(EXPERIMENTS)}`) and of grid runs with `--set`; those runs stay "
            "out of REPORT.md (whose numbers are the variants' default hyperparameters) and REPRODUCTION.md "
            "(nothing published to compare with).", ""]
    section.write()
    write_text_atomic(path, "\n".join(head + section.lines[2:]))  # the file's title replaces the section's heading
    return path

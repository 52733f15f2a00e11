"""REPORT.md's sections of image and Iris runs: one per (dataset, budget), its table, sample grids,
t-SNE, class histograms and trajectories (``ganbench.report`` puts them in the report)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ganbench.convergence import run_state
from ganbench.datasets import DATASETS as IMAGE_DATASETS
from ganbench.datasets import GRID_SIDE, N_TSNE
from ganbench.metric_spec import metric_range
from ganbench.population import CLASS_METRICS, OUTCOMES, outcomes, run_value
from ganbench.reevaluate import provenance_note
from ganbench.report_figures import (
    _fig_class_histograms,
    _fig_image_grids,
    _fig_iris,
    _fig_tsne,
    fig_trajectories,
)
from ganbench.report_output import Section
from ganbench.report_tables import (
    IMAGE_METRICS,
    RUN_STATES,
    _md,
    count_cell,
    incl_untrained,
    outcome_rates,
    variant_order,
)
from ganbench.stats import interval

# --- image and Iris datasets ------------------------------------------------------------------------

def _image_section(dataset: str, iters: int, recs: list[dict], tables: Path, figures: Path) -> Section:
    tag = f"{dataset}_{iters}"
    rows = []
    # a table has no classes: no sanity gate, no class counts, so of the outcomes only divergence applies
    # ("collapsed", at most one class, was every Iris run)
    names = OUTCOMES if IMAGE_DATASETS[dataset].evaluator else ("diverged",)
    for variant in variant_order({r["config"]["variant"] for r in recs}):
        mine = [r for r in recs if r["config"]["variant"] == variant]
        n_untrained = sum(outcomes(r)["untrained"] for r in mine)
        row = {"variant": variant, "runs": len(mine), **outcome_rates(mine, names)}
        for key, name, scale, dec in IMAGE_METRICS:
            if not any(key in (r.get("metrics") or {}) for r in recs):  # not computed for these runs: no column
                row[name] = "-"
                continue
            # One rule for every table (ganbench.population): class metrics of a run under the sanity gate
            # are withheld (the evaluator's labels of noise); its other metrics count, and the cell says so.
            values = [v * scale for r in mine if (v := run_value(r, key)) is not None]
            iv = interval(values, step=1.0 if key == "modes" else 0.0,
                          bounds=metric_range(key, recs[0]["config"].get("modes") or 0, scale))
            if key in CLASS_METRICS:
                row[name] = count_cell(iv.text(dec), iv.n, len(mine) - iv.n, len(mine),
                                       "untrained" if len(mine) - iv.n == n_untrained else "without a value")
            else:
                n_diverged = sum(r.get("status") == "diverged" for r in mine)
                why = "diverged" if len(mine) - iv.n == n_diverged else "without a value"
                text = count_cell(iv.text(dec), iv.n, len(mine) - iv.n, len(mine), why)
                row[name] = incl_untrained(text, iv.n, n_untrained)
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table[[c for c in table.columns if not (table[c] == "-").all()]]
    arch = recs[0]["config"].get("arch")
    acc = next((r["metrics"].get("evaluator_test_accuracy") for r in recs if r.get("metrics")), None)
    lines = [f"## {dataset}, {iters} generator iterations", "",
             f"Architecture `{arch}`, {recs[0]['evaluation']['n_samples']} generated samples per run, mean "
             f"[95 % t-interval] (n seeds). "
             + ("A diverged run's metrics are left out (cells say how many); the divergence rate has a Wilson "
                f"95 % interval. Metrics on the {IMAGE_DATASETS[dataset].data_dim} raw features."
                if not IMAGE_DATASETS[dataset].evaluator else
                "A run is **untrained** when under half as many of its digits as of real ones get the "
                "evaluator's label with probability >= 0.9 (noise, blobs): its class metrics are withheld (cells "
                "say how many), its other metrics count and their cells say how many untrained runs they "
                "include; the failure rates have Wilson 95 % intervals. "
                f"Classes by ganbench's {IMAGE_DATASETS[dataset].source_name} evaluator (test accuracy "
                + (f"{100 * acc:.2f}%" if acc is not None else "unknown")
                + "); FID and the others in its 128-d features"
                + (f" (per channel, {128 * d.stack}-d)." if (d := IMAGE_DATASETS[dataset]).stack > 1 else ".")),
             "", _md(table, index=False), ""]
    notes = [f"{name}: {note}" for key, name, *_ in IMAGE_METRICS
             if name in table and (note := provenance_note(recs, key))]
    lines += [" ".join(notes), ""] if notes else []
    if IMAGE_DATASETS[dataset].image is None:  # a table: per-feature histograms
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
        lines += _image_trajectories(dataset, tag, recs, figures)
    return Section(lines, {tables / f"{tag}.md": _md(table, index=False) + "\n",
                           tables / f"{tag}.csv": table.to_csv(index=False)})


def _image_trajectories(dataset: str, tag: str, recs: list[dict], figures: Path) -> list[str]:
    """How the runs ended (``convergence.run_state`` on their trajectories of classes seen and confident
    share, the sanity gate for untrained) and the trajectory figure; nothing for runs made before image
    trajectories."""
    states = [run_state(r) for r in recs]
    if all(s == "no trajectory" for s in states):
        return []
    counts = ", ".join(f"{n} {s}" for s in RUN_STATES if (n := states.count(s)))
    lines = [f"How the runs ended ({counts}): *settled* when, from the last trajectory point at or below half "
             "the budget on, classes seen moved by at most one class in ten (10 % of the modes) and the confident "
             "share by at most 10 points; *untrained* by the sanity gate.", ""]
    if fig_trajectories(recs, figures / f"trajectory_{tag}.png", {r["id"]: dataset for r in recs},
                        ("modes", "confident_fraction")):
        lines += ["During training (evaluated on 10,000 samples at 10, 20, 50, 100, ... iterations and at the "
                  "budget; mean over seeds, shaded: 95 % t-interval): classes seen out of "
                  f"{recs[0]['config']['modes']} and the share of digits the evaluator labels with probability >= 0.9 "
                  "(dotted: the sanity gate; a run that ends under it is untrained).",
                  "", f"![trajectories](figures/trajectory_{tag}.png)", ""]
    return lines

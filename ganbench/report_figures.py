"""The report's figures (PNG, matplotlib): modes against K, trajectories, samples over the true centres,
losses, and the image and Iris datasets' grids, t-SNE and histograms."""
from __future__ import annotations

import functools
import hashlib
import io
import json
import warnings
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pandas as pd

from ganbench.convergence import run_state
from ganbench.datasets import GRID_SIDE, UNTRAINED_RATIO
from ganbench.files import mark_written, write_atomic
from ganbench.report_tables import _first_seed, _lowest_seed, variant_order
from ganbench.stats import interval


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --- figures drawn only when their inputs change -------------------------------------------------
# Drawing is most of a report's time (seconds per figure), and after a `ganbench run` most figures'
# inputs are unchanged. Each report figure is keyed by a digest of its inputs (the records' ids,
# creation times and statuses, or a summary table's CSV), its function's name and this file's code;
# the digest is written into the PNG (a text chunk), and a figure whose file holds its current
# digest is not drawn again. Delete results/figures to force every figure to be redrawn.
_DIGEST_KEY = "ganbench-inputs"
_digest: ContextVar[str | None] = ContextVar("figure_digest", default=None)


@functools.cache
def _code_digest() -> bytes:
    return hashlib.sha256(Path(__file__).read_bytes()).digest()


def _inputs_digest(name: str, args) -> str:
    h = hashlib.sha256(name.encode())
    h.update(_code_digest())
    for a in args:
        if isinstance(a, pd.DataFrame):
            h.update(a.to_csv(index=False).encode())
        elif isinstance(a, list) and all(isinstance(r, dict) and "id" in r for r in a):
            h.update(json.dumps([[r["id"], r.get("created"), r.get("status")] for r in a]).encode())
        else:
            h.update(repr(a).encode())
    return h.hexdigest()[:32]


def _stored_digest(path: Path) -> str | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return getattr(im, "text", {}).get(_DIGEST_KEY)
    except (OSError, ValueError, SyntaxError):
        return None  # missing, torn or not a PNG: draw it


def cached_figure(draw):
    """``draw(inputs, path, *options)`` -> True/None when it wrote ``path``, False when it had nothing
    to draw. Skips the drawing when ``path`` already holds the digest of these inputs."""
    @functools.wraps(draw)
    def wrapper(inputs, path: Path, *options, **kw):
        digest = _inputs_digest(draw.__qualname__, [inputs, *options, sorted(kw.items())])
        if _stored_digest(path) == digest:
            mark_written(path)
            return True
        token = _digest.set(digest)
        try:
            return draw(inputs, path, *options, **kw)
        finally:
            _digest.reset(token)
    return wrapper


PALETTE_MEAN_ERROR = 1.0  # levels of 255: the most a palette may move a figure's pixels on average


def _png(fig, dpi: float, digest: str | None) -> bytes:
    """``fig`` drawn at ``dpi`` as a PNG with the inputs' digest as a text chunk, in 256 colours where
    that is faithful: exactly, where the figure has at most 256 colours (MNIST grids); as a median-cut
    palette where it moves pixels by at most PALETTE_MEAN_ERROR on average (line plots, whose
    anti-aliasing has thousands of colours: ~0.1-0.5 levels); else in full RGB (Stacked-MNIST grids,
    whose colours say which digit is in which channel: a palette moved them by ~8 levels). Palette
    PNGs are a third of the size of matplotlib's RGBA ones."""
    from PIL import Image, PngImagePlugin

    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgb = Image.frombuffer("RGBA", fig.canvas.get_width_height(physical=True), fig.canvas.buffer_rgba()).convert("RGB")
    if rgb.getcolors(maxcolors=256) is not None:
        img = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    else:
        pal = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        moved = np.abs(np.asarray(pal.convert("RGB"), np.int16) - np.asarray(rgb, np.int16)).mean()
        img = pal if moved <= PALETTE_MEAN_ERROR else rgb
    info = PngImagePlugin.PngInfo()
    if digest:
        info.add_text(_DIGEST_KEY, digest)
    out = io.BytesIO()
    img.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _save(fig, file, dpi: float) -> None:
    """Lay ``fig`` out, write it to ``file`` as a palette PNG (``_png``; a path is written atomically,
    with the inputs' digest of a cached figure) and close it."""
    fig.tight_layout()
    is_path = isinstance(file, (str, Path))
    png = _png(fig, dpi, _digest.get() if is_path else None)
    _plt().close(fig)
    if is_path:
        write_atomic(Path(file), lambda f: f.write(png), binary=True)
    else:
        file.write(png)


def _below_above(mean, lo, hi) -> np.ndarray:
    """matplotlib's asymmetric yerr: distances from the mean down to lo and up to hi (0 where n < 2)."""
    return np.nan_to_num(np.vstack([np.asarray(mean - lo, float), np.asarray(hi - mean, float)]))


@cached_figure
def fig_modes_vs_n(summary: pd.DataFrame, path: Path) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ns = sorted(summary.modes.unique())
    for v in variant_order(summary.variant.unique()):
        s = summary[summary.variant == v].sort_values("modes")
        # error bars: the 95 % t-interval over all seeds, clipped to the metric's range
        pct = 100 / s.modes
        for ax, key in zip(axes, ("modes_fair", "modes"), strict=True):
            ax.errorbar(s.modes, pct * s[f"{key}_mean"], marker="o", capsize=3, label=v,
                        yerr=_below_above(pct * s[f"{key}_mean"], pct * s[f"{key}_lo"], pct * s[f"{key}_hi"]))
    axes[0].set(xlabel="modes in the data", ylabel="% of modes at half their fair share",
                title="Modes at half their fair share, all runs")
    axes[1].set(xlabel="modes in the data", ylabel="% of modes captured (3-std rule)",
                title="Modes captured, all runs (saturated on rings)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.minorticks_off()
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    _save(fig, path, dpi=90)


# the trajectory figure's rows: metric -> (axis label, scale to % given the run's number of modes K)
TRAJECTORY_ROWS = {"modes": ("% of modes captured", lambda k: 100 / k), "hq_fraction": ("HQ %", lambda k: 100.0),
                   "kmeans_coverage": ("kmeans coverage %", lambda k: 100.0),
                   "confident_fraction": ("confident digits %", lambda k: 100.0)}


@cached_figure
def fig_trajectories(records: list[dict], path: Path, panels: dict[str, str] | None = None,
                     rows: tuple[str, ...] = ("modes", "hq_fraction")) -> bool:
    """Budget scaling: one column per panel, one row per metric of ``rows`` (``TRAJECTORY_ROWS``, in %)
    against generator iterations (log scale), one line per variant: mean over its non-diverged seeds,
    shaded 95 % t-interval (clipped to 0-100 %). Panels: one per number of modes, or ``panels``
    ({record id: panel title}, in the order of first appearance; records not in it are left out).
    False (and no file) when no record has a trajectory."""
    by: dict[tuple[str, object], list[tuple[dict, int]]] = {}
    real: dict[object, list[float]] = {}  # image runs: the real digits' confident share, for the gate's line
    for r in records:
        t = r.get("trajectory")
        panel = r["config"]["modes"] if panels is None else panels.get(r["id"])
        if r["status"] == "ok" and t and len(t.get("step", [])) > 1 and panel is not None:
            by.setdefault((r["config"]["variant"], panel), []).append((t, r["config"]["modes"]))
            if (r.get("metrics") or {}).get("real_confident_fraction") is not None:
                real.setdefault(panel, []).append(r["metrics"]["real_confident_fraction"])
    if not by:
        return False
    plt = _plt()
    names = sorted({p for _, p in by}) if panels is None else list(dict.fromkeys(p for p in panels.values()
                                                                                  if any(k[1] == p for k in by)))
    fig, axes = plt.subplots(len(rows), len(names), figsize=(3.2 * len(names), 2.6 * len(rows) + 0.2),
                             squeeze=False, sharex=True)
    for j, name in enumerate(names):
        for i, key in enumerate(rows):
            ax = axes[i][j]
            label, to_pct = TRAJECTORY_ROWS[key]
            for color, v in enumerate(variant_order({v for v, p in by if p == name})):
                first = by[(v, name)][0][0]["step"]
                trajs = [(t, k) for t, k in by[(v, name)] if t["step"] == first and key in t]
                ivs = [interval([t[key][p] * to_pct(k) for t, k in trajs if t[key][p] is not None], bounds=(0.0, 100.0))
                       for p in range(len(first))]
                mean = np.array([iv.mean for iv in ivs])
                ax.plot(first, mean, lw=1.2, color=f"C{color}", label=f"{v} (n = {len(trajs)})")
                ax.fill_between(first, _or(np.array([iv.lo for iv in ivs]), mean),
                                _or(np.array([iv.hi for iv in ivs]), mean), color=f"C{color}", alpha=0.15, lw=0)
            if key == "confident_fraction" and real.get(name):
                ax.axhline(100 * UNTRAINED_RATIO * float(np.mean(real[name])), color="k", ls=":", lw=1,
                           label="sanity gate: under it, untrained")
                ax.legend(fontsize=6)
            ax.set_xscale("log")
            ax.set_ylim(-3, 103)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel(label)
            if i == 0:
                ax.set_title(f"{name} modes" if panels is None else str(name), fontsize=9)
                ax.legend(fontsize=6)
            if i == len(rows) - 1:
                ax.set_xlabel("generator iterations")
    _save(fig, path, dpi=80)
    return True


def _or(values: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``values`` where finite, else ``fallback`` (an interval's end where there is one seed)."""
    return np.where(np.isfinite(values), values, fallback)


@cached_figure
def fig_samples(records: list[dict], path: Path) -> None:
    """A grid: one row per variant, one column per number of modes; the lowest seed's samples."""
    plt = _plt()
    pick = _lowest_seed(records, key=lambda c: (c["variant"], c["modes"]))
    variants = variant_order({v for v, _ in pick})
    modes = sorted({m for _, m in pick})
    fig, axes = plt.subplots(len(variants), len(modes), figsize=(2.3 * len(modes), 2.3 * len(variants)),
                             squeeze=False)
    for i, v in enumerate(variants):
        for j, m in enumerate(modes):
            ax = axes[i][j]
            ax.set_xticks([]), ax.set_yticks([])
            r = pick.get((v, m))
            if r is None:
                ax.axis("off")
                continue
            scatter_over_centres(ax, r.get("samples") or [], r["centers"])
            got = (r.get("metrics") or {}).get("modes")
            untrained = " (untrained)" if run_state(r) == "untrained" else ""
            title = f"{m} modes: {got} captured{untrained}" if got is not None else f"{m} modes: {r['status']}"
            ax.set_title(title, fontsize=8)
            if j == 0:
                ax.set_ylabel(v, fontsize=9)
    _save(fig, path, dpi=80)


def scatter_over_centres(ax, x, centres) -> None:
    """2-D samples (blue) over the true centres (red crosses), framed on the centres."""
    c = np.asarray(centres, dtype=float)
    x = np.asarray(x, dtype=float).reshape(-1, 2)
    x = x[np.isfinite(x).all(1)]
    ax.scatter(c[:, 0], c[:, 1], s=30, c="tab:red", marker="x", lw=1, zorder=3)
    if len(x):
        ax.scatter(x[:, 0], x[:, 1], s=2, c="tab:blue", alpha=0.5)
    pad = 0.25 * (np.ptp(c, axis=0).max() + 0.5)
    ax.set_xlim(c[:, 0].min() - pad, c[:, 0].max() + pad)
    ax.set_ylim(c[:, 1].min() - pad, c[:, 1].max() + pad)


def fig_sample_scatter(x, centres, title: str, file) -> None:
    """One run's new samples over its true centres (``ganbench sample --out FILE.png``), as a PNG into
    ``file`` (a path or a binary file)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    scatter_over_centres(ax, x, centres)
    ax.set_title(title, fontsize=9)
    _save(fig, file, dpi=100)


@cached_figure
def fig_losses(records: list[dict], path: Path) -> None:
    """Discriminator and generator losses over training, mean over seeds, one line per modes."""
    plt = _plt()
    by: dict[tuple[str, int], list[dict]] = {}
    for r in records:
        if r.get("losses") and r["losses"].get("step"):
            by.setdefault((r["config"]["variant"], r["config"]["modes"]), []).append(r["losses"])
    variants = variant_order({v for v, _ in by})
    fig, axes = plt.subplots(len(variants), 2, figsize=(9, 2.2 * len(variants)), squeeze=False)
    for i, v in enumerate(variants):
        for (vv, m), losses in sorted(by.items(), key=lambda kv: kv[0][1]):
            if vv != v:
                continue
            steps = losses[0]["step"]
            for j, key in enumerate(("d", "g")):
                ys = np.array([[np.nan if y is None else y for y in run[key]] for run in losses
                               if len(run[key]) == len(steps)], dtype=float)
                with warnings.catch_warnings():  # a diverged run's all-None losses are a column of NaN
                    warnings.simplefilter("ignore", RuntimeWarning)
                    axes[i][j].plot(steps, np.nanmean(ys, axis=0), lw=1, label=f"{m} modes")
        axes[i][0].set_ylabel(v, fontsize=9)
        axes[i][0].legend(fontsize=7)
    axes[0][0].set_title("discriminator / critic loss")
    axes[0][1].set_title("generator loss")
    for ax in axes[-1]:
        ax.set_xlabel("generator iteration")
    _save(fig, path, dpi=80)


# --- image and Iris datasets ------------------------------------------------------------------------

def _gated(v: str, recs: list[dict]) -> str:
    """A variant's panel title, flagged when the run it shows (the lowest seed) is under the sanity gate,
    as the tables flag it."""
    r = _first_seed(recs).get(v) or {}
    return f"{v} (untrained)" if (r.get("metrics") or {}).get("untrained") else v


def _artifacts(recs: list[dict], runs: Path, key: str) -> dict[str, np.ndarray]:
    """Per variant (lowest seed), the array ``key`` of its ``<id>.samples.npz``, where there is one."""
    found = {}
    for v, r in _first_seed(recs).items():
        f = runs / f"{r['id']}.samples.npz"
        if f.is_file():
            with np.load(f) as z:
                if key in z.files:
                    found[v] = z[key]
    return found


@cached_figure
def _fig_image_grids(recs: list[dict], path: Path, key: str = "images", nrow: int = GRID_SIDE) -> bool:
    """A grid of generated images per variant (lowest seed), from the <id>.samples.npz files: the first
    nrow x nrow of ``images``, or the whole ``class_grid`` of a conditional model (row i = class i)."""
    import torch
    from torchvision.utils import make_grid

    grids = {}
    for v, imgs in _artifacts(recs, path.parent.parent / "runs", key).items():
        imgs = torch.from_numpy(imgs[:nrow * nrow]).float() / 255
        grids[v] = make_grid(imgs, nrow=nrow, padding=1, pad_value=1.0).permute(1, 2, 0).numpy()
    if not grids:
        return False
    plt = _plt()
    size = 2.6 * nrow / 5
    fig, axes = plt.subplots(1, len(grids), figsize=(size * len(grids), size + 0.3), squeeze=False)
    for ax, (v, g) in zip(axes[0], grids.items(), strict=True):
        ax.imshow(g.squeeze() if g.shape[2] == 1 else g, cmap="gray" if g.shape[2] == 1 else None)
        ax.set_title(_gated(v, recs) + (" (row i: class i)" if key == "class_grid" else ""), fontsize=9)
        ax.axis("off")
    _save(fig, path, dpi=90)
    return True


@cached_figure
def _fig_tsne(recs: list[dict], path: Path) -> bool:
    """Per variant (lowest seed), the t-SNE of real and generated evaluator features made by the run."""
    embs = _artifacts(recs, path.parent.parent / "runs", "tsne")
    if not embs:
        return False
    plt = _plt()
    fig, axes = plt.subplots(1, len(embs), figsize=(2.8 * len(embs), 2.9), squeeze=False)
    for ax, (v, e) in zip(axes[0], embs.items(), strict=True):
        e = e.astype(float)
        n = len(e) // 2  # real first, then as many generated
        ax.scatter(e[:n, 0], e[:n, 1], s=3, c="0.6", label="real", lw=0)
        ax.scatter(e[n:, 0], e[n:, 1], s=3, c="C3", label="generated", lw=0)
        ax.set_title(_gated(v, recs), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7, markerscale=3, loc="best")
    _save(fig, path, dpi=80)
    return True


@cached_figure
def _fig_class_histograms(recs: list[dict], path: Path) -> None:
    """Share of generated samples per class (lowest seed); 1000 classes are shown sorted."""
    plt = _plt()
    picks = {v: r for v, r in _first_seed(recs).items() if r.get("metrics")}
    fig, axes = plt.subplots(1, max(1, len(picks)), figsize=(2.8 * max(1, len(picks)), 2.4), squeeze=False)
    for ax, (v, r) in zip(axes[0], picks.items(), strict=False):
        h = np.asarray(r["metrics"]["class_histogram"], dtype=float)
        h = h / max(h.sum(), 1)
        if len(h) > 20:
            ax.plot(np.sort(h)[::-1], lw=1)
            ax.axhline(1 / len(h), color="k", ls=":", lw=1)
            ax.set_xlabel("classes, most frequent first", fontsize=8)
        else:
            ax.bar(np.arange(len(h)), h)
            ax.axhline(1 / len(h), color="k", ls=":", lw=1)
            ax.set_xticks(np.arange(len(h)))
        ax.set_title(f"{v}: untrained (classes withheld)" if r["metrics"].get("untrained")
                     else f"{v}: {r['metrics']['modes']} classes", fontsize=9)
    _save(fig, path, dpi=80)


@cached_figure
def _fig_iris(recs: list[dict], path: Path) -> None:
    """Per-feature histograms of the real setosa flowers and of each variant's samples (lowest seed)."""
    from ganbench.images import IRIS_FEATURES, iris_setosa

    plt = _plt()
    real = iris_setosa()
    fig, axes = plt.subplots(2, 2, figsize=(8, 6))
    for j, ax in enumerate(axes.flat):
        bins = np.linspace(-1.5, 1.5, 25)
        ax.hist(real[:, j], bins=bins, density=True, alpha=0.4, color="k", label="real")
        for v, r in _first_seed(recs).items():
            x = np.asarray(r.get("samples") or [], dtype=float)
            if len(x):
                ax.hist(x[:, j], bins=bins, density=True, histtype="step", lw=1.2, label=v)
        ax.set_title(f"{IRIS_FEATURES[j].replace('_', ' ')} (scaled to [-1, 1])", fontsize=9)
    axes[0][0].legend(fontsize=7)
    _save(fig, path, dpi=80)

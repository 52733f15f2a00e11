"""One ensemble: train its jobs together (``ganbench.train``), evaluate each member and make its record
and the files that go beside it. Writes nothing: the driver stores what it returns."""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Sequence

import numpy as np

from ganbench.config import RECORD_SCHEMA, RunConfig
from ganbench.data import make_mixture
from ganbench.metric_spec import SUITE, families_in
from ganbench.metric_spec import versions as metric_versions
from ganbench.metrics import coverage_of, kmeans_centres, mode_stats
from ganbench.metrics.suite import compare_matched
from ganbench.planner import Ensemble
from ganbench.store import N_SCATTER, scatter_points, versions  # noqa: F401 - N_SCATTER: tests

LOSS_DIGITS = 6  # significant digits of the logged losses kept in a record (the report only plots them)


def loss_values(values) -> list:
    """Logged losses to ``LOSS_DIGITS`` significant digits (non-finite ones are left for ``clean_json``)."""
    return [float(f"{v:.{LOSS_DIGITS}g}") if v is not None else None for v in values]


def clean_json(x):
    """JSON-safe floats: NaN and inf become None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: clean_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean_json(v) for v in x]
    return x


KID_SUBSETS = 20  # of 1,000 samples each; fewer than the reference's 100, to keep a run's evaluation short


TRAJECTORY_METRICS = ("modes", "hq_fraction", "reverse_kl", "kmeans_coverage")


def trajectory_steps(iters: int) -> list[int]:
    """Where a run is evaluated during training: the 1-2-5 series (10, 20, 50, 100, ...) below its
    budget, then the budget itself (the final evaluation)."""
    return [s for e in range(1, 8) for s in (10 ** e, 2 * 10 ** e, 5 * 10 ** e) if s < iters] + [iters]


EXPLODED = 100.0  # samples farther out than this x the data's largest |coordinate|: the run diverged


def sample_divergence(x: np.ndarray, real: np.ndarray) -> str | None:
    """Why a run's final samples show it diverged ("non-finite samples", "samples exploded": some
    coordinate past EXPLODED x the data's largest), or None. Their FID / KID would be astronomic, so a
    diverged run gets no metrics."""
    if not np.isfinite(x).all():
        return "non-finite samples"
    bound = EXPLODED * max(1.0, float(np.abs(real).max()))
    if np.abs(x).max() > bound:
        return f"samples exploded (|x| > {bound:g})"
    return None


def mixture_metrics(x: np.ndarray, mix, centres: np.ndarray) -> dict:
    """The cheap mode metrics of one run's samples (``centres``: ``kmeans_centres`` of its data)."""
    out = mode_stats(x, mix.centers, mix.std)
    out["kmeans_coverage"] = coverage_of(x, centres)
    return out


def mixture_record_metrics(x: np.ndarray, mix, centres: np.ndarray, seed: int) -> dict:
    """A mixture run's record metrics: the mode metrics, then the metrics layer on the raw 2-D points
    against as many training points. ``ganbench score`` calls this too, so that a user's samples get
    the numbers a run's record would."""
    return {**mixture_metrics(x, mix, centres), **mixture_distribution(x, mix, seed)}


def mixture_distribution(x: np.ndarray, mix, seed: int, metrics=SUITE) -> dict:
    """The metrics layer's ``metrics`` on a mixture run's raw 2-D points against as many training
    points (``ganbench evaluate`` computes a new one this way)."""
    return compare_matched(mix.points, x, metrics=metrics, seed=seed, kid_subsets=KID_SUBSETS)


def run_ensemble(configs: Sequence[RunConfig], device: str | None = None, data_dir: str | None = None) -> list[dict]:
    """Train the jobs (same ensemble key, different seeds) together and return one record each."""
    return [rec for rec, _ in evaluate_ensemble(configs, device, data_dir, with_files=False)]


def evaluate_ensemble(configs: Sequence[RunConfig], device: str | None = None, data_dir: str | None = None,
                      with_files: bool = True) -> list[tuple[dict, dict[str, bytes]]]:
    """Train the jobs together and return, per job, its record and the files that go beside it
    (``{suffix: bytes}``: the checkpoint ``.pt`` with G and D state dicts and the training state, and,
    for images, a few generated images in ``.samples.npz``). The driver writes both, so a worker needs
    no shared disk. An ``Ensemble`` with ``bases`` continues those runs (see ``find_bases``)."""
    from ganbench import datasets
    from ganbench.train import STREAM_GRID, generate, pick_device, train_ensemble

    cfgs = [c.resolved() for c in configs]
    first = cfgs[0]
    assert all(c.ensemble_key() == first.ensemble_key() for c in cfgs), "jobs of one ensemble differ"
    variant = first.variant_obj()
    dims = first.dims()
    seeds = [c.seed for c in cfgs]
    evaluator = evaluator_info = None
    if first.is_mixture:
        mixtures = [make_mixture(c.layout, c.modes, seed=c.seed, n_train=c.n_train, std=c.std, scale=c.scale)
                    for c in cfgs]
        data = [(m.points, m.labels) for m in mixtures]
    else:
        data = [datasets.training_data(c.layout, c.seed, c.n_train, data_dir) for c in cfgs]
        if datasets.needs_evaluator([first.layout]):
            evaluator, evaluator_info = datasets.load_evaluator(data_dir, dataset=first.layout)
    # what a trajectory point holds: the mode metrics on mixtures, class metrics on images (none on Iris)
    tracked = TRAJECTORY_METRICS if first.is_mixture else datasets.IMAGE_TRAJECTORY if evaluator else ()
    bases = configs.bases if isinstance(configs, Ensemble) else None  # per job (base record, its training state)
    start = bases[0][1]["iters"] if bases else 0
    steps = trajectory_steps(first.iters)
    trajectory: list[dict] = [{"step": [], **{m: [] for m in tracked}} for _ in cfgs]
    for k, (base, _) in enumerate(bases or []):  # the base's points up to where it ends, as from scratch
        t = base.get("trajectory") or {"step": []}
        for i, step in enumerate(t["step"]):
            if step <= start and step in steps[:-1] and all(m in t for m in tracked):
                trajectory[k]["step"].append(step)
                for m in tracked:
                    trajectory[k][m].append(t[m][i])
    on_eval, centres, point = None, None, None
    if first.is_mixture:
        centres = [kmeans_centres(m.points, c.modes) for m, c in zip(mixtures, cfgs, strict=True)]
        n_point = first.n_eval  # the same samples a run with a budget of `step` would be judged on

        def point(k, x):
            return mixture_metrics(x, mixtures[k], centres[k])
    elif evaluator is not None:
        n_point = min(first.n_eval, datasets.TRAJECTORY_SAMPLES)  # the first of those samples

        def point(k, x):
            return datasets.trajectory_point(first.layout, x, evaluator)
    if point is not None:
        def on_eval(step, G):
            xs, _ = generate(G, seeds, n_point, dims, variant.conditional)  # the EVAL stream
            for k in range(len(cfgs)):
                values = point(k, xs[k]) if np.isfinite(xs[k]).all() else {}
                trajectory[k]["step"].append(step)
                for m in tracked:
                    trajectory[k][m].append(values.get(m))
    trained = train_ensemble(variant, [d[0] for d in data], [d[1] for d in data], seeds, dims,
                             iters=first.iters, batch_size=first.batch_size, device=pick_device(device),
                             eval_at=[s for s in steps[:-1] if s > start], on_eval=on_eval,
                             resume=[b[1] for b in bases] if bases else None, precision=first.precision)
    t0 = time.perf_counter()
    samples, _ = generate(trained.G, seeds, first.n_eval, dims, variant.conditional)
    class_grid = None
    if variant.conditional and dims.image is not None:  # the report's 10 x 10 grid: row i = class i
        rows = min(dims.n_classes, 10)
        class_grid, _ = generate(trained.G, seeds, rows * 10, dims, True, labels=np.repeat(np.arange(rows), 10),
                                 stream=STREAM_GRID)
    device_name, versions_now = str(pick_device(device)), versions(pick_device(device))
    records, files = [], []
    for k, cfg in enumerate(cfgs):
        x = samples[k]
        artifacts: dict[str, np.ndarray] = {}  # figures' inputs, saved in <id>.samples.npz
        reason = (trained.diverged_reason[k] or ("non-finite loss" if trained.diverged_step[k] is not None else None)
                  or sample_divergence(x, data[k][0]))
        diverged = reason is not None
        rec = {"schema": RECORD_SCHEMA, "id": cfg.run_id, **cfg.identity(),
               "status": "diverged" if diverged else "ok", "diverged_step": trained.diverged_step[k],
               "divergence": reason,
               "metrics": None,
               "losses": {"step": trained.loss_steps, "d": loss_values(row[k] for row in trained.d_losses),
                          "g": loss_values(row[k] for row in trained.g_losses)}}
        if first.is_mixture:
            mix = mixtures[k]
            if not diverged:
                rec["metrics"] = mixture_record_metrics(x, mix, centres[k], cfg.seed)
                rec["metric_versions"] = metric_versions(("modes", *families_in(rec["metrics"])))
            trajectory[k]["step"].append(cfg.iters)
            for m in TRAJECTORY_METRICS:
                trajectory[k][m].append((rec["metrics"] or {}).get(m))
            rec["trajectory"] = trajectory[k]
            rec.update({"samples": scatter_points(x), "centers": mix.centers.tolist(),
                        "mode_std": mix.std})
            evaluation = {"hq_threshold_std": 3.0, "kmeans_radius": 0.1}
        else:
            if not diverged:
                rec["metrics"] = datasets.evaluate(cfg.layout, x, data[k][0], cfg.seed, KID_SUBSETS,
                                                     evaluator, evaluator_info, distribution=cfg.preset is None)
                rec["metric_versions"] = metric_versions((*(("classes",) if evaluator else ()),
                                                          *families_in(rec["metrics"])))
            if tracked:  # the final point: the run's own metrics, on all its samples
                trajectory[k]["step"].append(cfg.iters)
                for m in tracked:
                    trajectory[k][m].append((rec["metrics"] or {}).get(m))
                rec["trajectory"] = trajectory[k]
            if not diverged:
                if dims.image is not None and cfg.preset is None:  # presets' reports draw no t-SNE
                    artifacts["tsne"] = datasets.tsne_embedding(cfg.layout, x, data[k][0], cfg.seed, evaluator)
            if class_grid is not None:
                artifacts["class_grid"] = datasets.sample_images(class_grid[k], cfg.layout, n=len(class_grid[k]))
            if dims.image is None:  # a table's generated rows (Iris): the report's histograms
                rec["samples"] = scatter_points(x)
            evaluation = {"features": datasets.DATASETS[first.layout].features,
                          "compared_samples": min(cfg.n_eval, datasets.MAX_COMPARED) if cfg.preset is None else 0}
        rec["evaluation"] = {"n_samples": cfg.n_eval, "real_subset": min(cfg.n_eval, len(data[k][0])),
                             "kid_subsets": KID_SUBSETS, "kid_subset_size": 1000, **evaluation}
        rec["timings"] = {"train_s": trained.train_seconds, "eval_s": None, "ensemble_size": len(cfgs),
                          "device": device_name}
        if bases:
            base = bases[k][0]
            rec["extended_from"] = {"id": base["id"], "iters": start}
            rec["timings"]["train_s"] += (base.get("timings") or {}).get("train_s") or 0.0  # both parts
        rec["versions"] = versions_now
        rec["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        records.append(rec)
        if with_files and "samples" in rec:  # all of them go in <id>.samples.npz (store.load_records reads it)
            artifacts["samples"] = x.astype(np.float32)
            del rec["samples"]
        files.append(_artifact_files(cfg, trained, k, x, artifacts) if with_files else {})
    eval_s = time.perf_counter() - t0
    for r in records:
        r["timings"]["eval_s"] = eval_s / len(records)
    return [(clean_json(r), f) for r, f in zip(records, files, strict=True)]


def _artifact_files(cfg: RunConfig, trained, k: int, x: np.ndarray,
                    artifacts: dict[str, np.ndarray]) -> dict[str, bytes]:
    import io

    import torch

    from ganbench.datasets import sample_images

    def dump(save) -> bytes:
        buf = io.BytesIO()
        save(buf)
        return buf.getvalue()

    from ganbench.train import member_state, member_train_state

    # G and D as a one-member model's (``ganbench sample``), and the whole training state, so that a
    # later run of this config with a larger budget continues from here (``find_bases``).
    files = {".pt": dump(lambda f: torch.save(
        {"config": cfg.identity()["config"], "seed": cfg.seed,
         "G": member_state(trained.G.state_dict(), k), "D": member_state(trained.D.state_dict(), k),
         "train_state": member_train_state(trained, k)}, f))}
    if "samples" in artifacts:  # mixtures and tables: all evaluation samples, which `ganbench evaluate` scores
        files[".samples.npz"] = dump(lambda f: np.savez_compressed(f, samples=artifacts["samples"]))
    elif not cfg.is_mixture and cfg.preset is None:  # the figures' inputs: REPRODUCTION.md draws none
        images = sample_images(x, cfg.layout)
        if images is not None:
            files[".samples.npz"] = dump(lambda f: np.savez_compressed(f, images=images, **artifacts))
    return files

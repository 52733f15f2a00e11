"""The runner: turns a grid of configurations into one JSON record per finished job.

This module owns the record store. A job is one (variant, layout, modes, seed, budget); its record is
``<out>/runs/<id>.json`` where ``id`` hashes the job's full configuration (with the variant's
hyperparameters). Jobs that differ only in seed (and, where the networks allow, modes) are trained
together as one batched ensemble (``ganbench.train``); ``ganbench.executors`` runs ensembles in worker
processes with one torch thread each, or as Ray tasks. Only the driver writes to the store, under a
lock, atomically (temporary file, fsync, rename), as ensembles finish: an interrupt loses only
unfinished work, a re-run skips what is done, and a corrupt record is set aside and recomputed.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from ganbench import __version__
from ganbench.constants import DEFAULT_ITERS, MAX_N_EVAL, MAX_SAMPLES, MAX_SEEDS
from ganbench.data import DEFAULT_STD, check_layout, make_mixture
from ganbench.image_jobs import DATASETS
from ganbench.metrics import coverage_of, kmeans_centres, mode_stats
from ganbench.metrics.suite import compare_matched
from ganbench.presets import BUDGET_ORDER
from ganbench.variants import Dims, Variant, get_variant

RECORD_SCHEMA = "ganbench.run/1"
N_SCATTER = 500  # generated points kept in a record for the report's scatter plots
MAX_STD = 100.0


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one job's result. Hashed (with the variant's hyperparameters) to
    name its record."""

    variant: str
    layout: str
    modes: int
    seed: int
    iters: int = DEFAULT_ITERS
    std: float | None = None      # None: the layout's default (ganbench.data.DEFAULT_STD)
    batch_size: int = 128
    n_train: int = 10_000
    n_eval: int = 2_500
    latent_dim: int = 2
    hidden: int = 128
    depth: int = 3
    arch: str | None = None       # the network architecture (ganbench.archs); None: the data's default
    scale: float | None = None    # mixtures: centres multiplied by this (None: 1, the layout's own)
    preset: str | None = None     # a published protocol (ganbench.presets): its optimiser settings apply
    budget: str | None = None     # with a preset: "paper", "quick" or "custom", the budget's name

    @property
    def is_mixture(self) -> bool:
        return self.layout not in DATASETS

    def resolved(self) -> "RunConfig":
        if self.std is None and self.is_mixture:
            return replace(self, std=DEFAULT_STD[self.layout])
        return self

    def identity(self) -> dict:
        config = asdict(self.resolved())
        for key in ("arch", "scale", "preset", "budget"):
            if config[key] is None:
                del config[key]  # fields added after the first records: absent when unused, so old ids hold
        return {"config": config, "variant_params": self.variant_obj().params(), "schema": RECORD_SCHEMA}

    def variant_obj(self) -> Variant:
        """The variant with its hyperparameters, as the preset (if any) sets them."""
        if self.preset is None:
            return get_variant(self.variant)
        from ganbench.presets import preset_variant

        return preset_variant(self.preset, self.variant)

    @property
    def run_id(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def ensemble_key(self) -> tuple:
        """Jobs with the same key train together: everything but the seed and, where the networks do
        not depend on it (an unconditional variant on a mixture), the number of modes."""
        d = asdict(self.resolved())
        d.pop("seed")
        if self.is_mixture and not self.variant_obj().conditional:
            d.pop("modes")
        return tuple(sorted(d.items()))

    def dims(self) -> Dims:
        if self.is_mixture:
            return Dims(data_dim=2, latent_dim=self.latent_dim, hidden=self.hidden, depth=self.depth,
                        n_classes=self.modes, out_tanh=(self.layout == "blobs"), arch=self.arch or "mlp")
        d = DATASETS[self.layout]
        return Dims(data_dim=d.data_dim, latent_dim=self.latent_dim, hidden=self.hidden, depth=self.depth,
                    n_classes=self.modes, out_tanh=True, arch=self.arch or d.arch, image=d.image)


def dataset_config(variant: str, dataset: str, seed: int, iters: int | None = None,
                   n_eval: int | None = None, arch: str | None = None) -> RunConfig:
    """A job on an image (or Iris) dataset with that dataset's defaults (ganbench.image_jobs.DATASETS)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: choose from {', '.join(DATASETS)}")
    d = DATASETS[dataset]
    return RunConfig(variant=variant, layout=dataset, modes=d.classes, seed=seed, iters=iters or d.iters,
                     batch_size=d.batch_size, n_train=d.n_train, n_eval=n_eval or d.n_eval,
                     latent_dim=d.latent_dim, arch=arch or d.arch)


def validate(cfg: RunConfig) -> None:
    """ValueError with what is wrong and what is allowed, before anything runs."""
    cfg.variant_obj()
    if cfg.is_mixture:
        check_layout(cfg.layout, cfg.modes)
        if cfg.arch is not None:
            from ganbench.archs import get_arch

            get_arch(cfg.arch)
        if cfg.scale is not None and not (math.isfinite(cfg.scale) and 0 < cfg.scale <= MAX_STD):
            raise ValueError(f"scale must be a positive number up to {MAX_STD:g}, got {cfg.scale}")
    else:
        from ganbench.archs import get_arch

        get_arch(cfg.arch or DATASETS[cfg.layout].arch)
        if cfg.modes != DATASETS[cfg.layout].classes:
            raise ValueError(f"{cfg.layout} has {DATASETS[cfg.layout].classes} classes, got modes={cfg.modes}")
    for name in ("iters", "batch_size", "n_train", "n_eval", "latent_dim", "hidden", "depth"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    if cfg.n_eval > MAX_N_EVAL:
        raise ValueError(f"n_eval must be at most {MAX_N_EVAL:,}, got {cfg.n_eval:,}")
    if cfg.seed < 0:
        raise ValueError(f"seed must be >= 0, got {cfg.seed}")
    if cfg.std is not None and not (math.isfinite(cfg.std) and 0 < cfg.std <= MAX_STD):
        raise ValueError(f"std must be a positive number up to {MAX_STD:g}, got {cfg.std}")


def plan_grid(variants: Sequence[str], layouts: Sequence[str], modes: Sequence[int], seeds: int,
              iters: int | None = None, std: float | None = None, datasets: Sequence[str] = (),
              n_eval: int | None = None, arch: str | None = None) -> list[RunConfig]:
    """The full grid, validated: every layout x modes, and every image dataset (whose classes are its
    modes), for every variant and seeds 0 .. N-1. ``iters`` None: each dataset's default budget."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if seeds > MAX_SEEDS:
        raise ValueError(f"seeds must be at most {MAX_SEEDS:,}, got {seeds:,}")
    if n_eval is not None and n_eval < 10:
        raise ValueError(f"n_eval must be at least 10, got {n_eval}")
    images = [name for name, d in DATASETS.items() if d.image is not None]
    if arch is not None and not set(images) & set(datasets):
        raise ValueError(f"arch {arch} is for the image datasets ({', '.join(images)}) and this grid has none: "
                         "add one (--dataset) or leave the architecture out")
    configs = [RunConfig(variant=v, layout=l, modes=m, seed=s, iters=iters or DEFAULT_ITERS, std=std,
                         **({"n_eval": n_eval} if n_eval else {}))
               for v in variants for l in layouts for m in modes for s in range(seeds)]
    configs += [dataset_config(v, d, s, iters, n_eval, arch if d in images else None)
                for v in variants for d in datasets for s in range(seeds)]
    for cfg in configs:
        validate(cfg)
    return list(dict.fromkeys(configs))  # drop repeats, keep order


# --- the record store --------------------------------------------------------------------------

def check_writable(out: Path, name: str | None = None) -> None:
    """ValueError unless ``out`` is (or can be created as) a writable directory; ``name`` says what it
    is in the message (default "output directory <out>"). Creates nothing."""
    name = name or f"output directory {out}"
    p = Path(out).absolute()
    probe = p
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{name} cannot be created: {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"{name} is not writable (no write permission on {probe})")


def check_output_file(path: Path) -> None:
    """ValueError unless a file can be written at ``path`` (its folder may still have to be made)."""
    if Path(path).is_dir():
        raise ValueError(f"{path} is a directory; give a file name")
    check_writable(Path(path).parent, f"the folder of {path}")


def runs_dir(out: Path) -> Path:
    return Path(out) / "runs"


def write_atomic(path: Path, write: Callable, binary: bool = False) -> None:
    """Call ``write(file)`` on a temporary file in the same directory, fsync, then rename it over
    ``path``: readers see the old file or the whole new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda f: f.write(text))


def write_json_atomic(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")


_NUMBER, _NONE = (float, int), type(None)
_JSON_NAMES = {str: "a string", int: "a whole number", float: "a number", dict: "an object", list: "a list",
               _NONE: "null"}
# What the report, the reproduction report and ``sample_run`` read from a record; the config's types
# are RunConfig's (its annotations, as strings).
_RECORD_TYPES = {"id": (str,), "status": (str,), "config": (dict,)}
_RECORD_TYPES_OPTIONAL = {"metrics": (dict, _NONE), "trajectory": (dict,), "losses": (dict,), "timings": (dict,),
                          "evaluation": (dict,), "versions": (dict,), "variant_params": (dict,), "samples": (list,),
                          "centers": (list,), "diverged_step": (int, _NONE)}
_CONFIG_REQUIRED = ("variant", "layout", "modes", "seed", "iters", "std")
_CONFIG_TYPES = {f.name: {"int": (int,), "str": (str,), "float | None": (*_NUMBER, _NONE),
                          "str | None": (str, _NONE)}[f.type] for f in fields(RunConfig)}
_METRIC_LISTS = ("mode_counts", "class_histogram")  # the metrics that are lists of numbers


def _shown(value) -> str:
    return json.dumps(value)[:40]


def _type_problem(obj: dict, types: dict, required, where: str = "") -> str | None:
    """What is wrong with ``obj``'s fields: a ``required`` key missing, or a value not of its ``types``."""
    for key, allowed in types.items():
        if key not in obj:
            if key in required:
                return f"{where}{key} is missing"
        elif isinstance(obj[key], bool) or not isinstance(obj[key], allowed):
            names = [_JSON_NAMES[t] for t in allowed if not (t is int and float in allowed)]
            return f"{where}{key} is {_shown(obj[key])}, not {' or '.join(names)}"
    return None


def _number(v) -> bool:
    return v is None or isinstance(v, _NUMBER) and not isinstance(v, bool)


def _numbers(v) -> bool:
    return isinstance(v, list) and all(map(_number, v))


def _content_problem(rec: dict) -> str | None:
    """What is wrong inside a record's objects with what the reports compute with, or None."""
    for key in ("metrics", "timings", "evaluation", "trajectory", "losses"):
        for k, v in (rec.get(key) or {}).items():
            if key in ("trajectory", "losses") or k in _METRIC_LISTS:
                ok, kind = _numbers(v), "a list of numbers"
            else:  # a number, a flag (metrics.untrained) or a name (timings.device, evaluation.features)
                named = k in ("device", "features") and isinstance(v, str)
                ok, kind = _number(v) or isinstance(v, bool) or named, "a number"
            if not ok:
                return f"{key}.{k} is {_shown(v)}, not {kind}"
    t = rec.get("trajectory")
    if t and not ({"step", "modes", "hq_fraction"} <= set(t) and len({len(v) for v in t.values()}) == 1):
        return "trajectory needs step, modes and hq_fraction lists of one length"
    layout = rec["config"]["layout"]
    if layout not in DATASETS and rec["status"] != "failed" and "centers" not in rec:
        return "centers is missing (a finished mixture run's true centres)"
    width = DATASETS[layout].data_dim if layout in DATASETS else 2
    for key in ("samples", "centers"):
        if not all(_numbers(p) and len(p) == width for p in rec.get(key) or []):
            return f"{key} are not points of {width} numbers"
    budget = rec["config"].get("budget")
    if "preset" in rec["config"] and budget not in BUDGET_ORDER:
        return f"config.budget is {_shown(budget)}, not one of {', '.join(BUDGET_ORDER)}"
    return None


def record_problem(obj) -> str | None:
    """What makes ``obj`` no ganbench run record (the schema tag, an id, a status and a config with
    the grid's keys, each field of the kind the reports read), or None."""
    if not (isinstance(obj, dict) and obj.get("schema") == RECORD_SCHEMA):
        return "not a ganbench run record"
    problem = (_type_problem(obj, _RECORD_TYPES, _RECORD_TYPES)
               or _type_problem(obj, _RECORD_TYPES_OPTIONAL, ())
               or _type_problem(obj["config"], _CONFIG_TYPES, _CONFIG_REQUIRED, "config.")
               or _content_problem(obj))
    return problem and f"not a valid run record: {problem}"


def is_record(obj) -> bool:
    """A valid ganbench run record (see record_problem)."""
    return record_problem(obj) is None


def _read_record(path: Path) -> tuple[dict | None, str | None]:
    """(record, None) for a valid run record, else (None, what is wrong with the file)."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"not valid JSON ({e.__class__.__name__})"
    problem = record_problem(obj)
    return (None, problem) if problem else (obj, None)


def load_records(out: Path, warn: Callable[[str], None] | None = None) -> list[dict]:
    """Every valid record in ``<out>/runs``; a corrupt or foreign file is reported through ``warn``
    by name and skipped."""
    records = []
    d = runs_dir(out)
    if not d.is_dir():
        return records
    for path in sorted(d.glob("*.json")):
        obj, problem = _read_record(path)
        if problem is not None:
            if warn:
                warn(f"skipping {path}: {problem}")
            continue
        records.append(obj)
    return records


def current_records(records: list[dict], warn: Callable[[str], None] | None = None) -> list[dict]:
    """The records whose id is still the id of their config: a record made before a variant's
    hyperparameters changed (cond-wgan-gp's fake labels, say) describes another experiment and is
    left out of tables, with one line through ``warn`` saying how many."""
    keep, stale = [], 0
    for r in records:
        try:
            fields = {k: v for k, v in r["config"].items() if k in RunConfig.__dataclass_fields__}
            current = RunConfig(**fields).run_id == r["id"]
        except (TypeError, ValueError, KeyError):
            current = False
        if current:
            keep.append(r)
        else:
            stale += 1
    if stale and warn:
        warn(f"left out {stale} record(s) made under earlier hyperparameters of their variant "
             "(their id is no longer their config's); re-run to replace them")
    return keep


def finished_ids(out: Path) -> set[str]:
    """Ids of the runs that need no training: valid records of status ok or diverged (a failed run
    is tried again)."""
    return {rec["id"] for rec in load_records(out) if rec["status"] != "failed"}


# --- one ensemble: train, evaluate, make records -------------------------------------------------

def _clean(x):
    """JSON-safe floats: NaN and inf become None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


KID_SUBSETS = 20  # of 1,000 samples each; 100 (the reference default) costs ~2 s more per run


def versions() -> dict:
    import sklearn
    import torch

    return {"ganbench": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "sklearn": sklearn.__version__}


TRAJECTORY_METRICS = ("modes", "hq_fraction", "reverse_kl", "kmeans_coverage")


def trajectory_steps(iters: int) -> list[int]:
    """Where a run is evaluated during training: the 1-2-5 series (10, 20, 50, 100, ...) below its
    budget, then the budget itself (the final evaluation)."""
    return [s for e in range(1, 8) for s in (10 ** e, 2 * 10 ** e, 5 * 10 ** e) if s < iters] + [iters]


EXPLODED = 100.0  # samples farther out than this x the data's largest |coordinate|: the run diverged


def sample_divergence(x: np.ndarray, real: np.ndarray) -> str | None:
    """Why a run's final samples show it diverged ("non-finite samples", "samples exploded": some
    coordinate past EXPLODED x the data's largest), or None. Their FID / KID would be astronomic
    (KID x 1000 of 7e8 was once averaged into a table); a diverged run gets no metrics."""
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


def run_ensemble(configs: Sequence[RunConfig], device: str | None = None, data_dir: str | None = None) -> list[dict]:
    """Train the jobs (same ensemble key, different seeds) together and return one record each."""
    return [rec for rec, _ in evaluate_ensemble(configs, device, data_dir, with_files=False)]


def evaluate_ensemble(configs: Sequence[RunConfig], device: str | None = None, data_dir: str | None = None,
                      with_files: bool = True) -> list[tuple[dict, dict[str, bytes]]]:
    """Train the jobs together and return, per job, its record and the files that go beside it
    (``{suffix: bytes}``: the checkpoint ``.pt`` with G and D state dicts and the training state, and,
    for images, a few generated images in ``.samples.npz``). The driver writes both, so a worker needs
    no shared disk. A ``Group`` with ``bases`` continues those runs (see ``find_bases``)."""
    from ganbench import image_jobs
    from ganbench.train import STREAM_GRID, generate, pick_device, train_ensemble

    cfgs = [c.resolved() for c in configs]
    first = cfgs[0]
    assert all(c.ensemble_key() == first.ensemble_key() for c in cfgs), "jobs of one ensemble differ"
    variant = first.variant_obj()
    dims = first.dims()
    seeds = [c.seed for c in cfgs]
    if first.is_mixture:
        mixtures = [make_mixture(c.layout, c.modes, seed=c.seed, n_train=c.n_train, std=c.std, scale=c.scale)
                    for c in cfgs]
        data = [(m.points, m.labels) for m in mixtures]
    else:
        data = [image_jobs.training_data(c.layout, c.seed, c.n_train, data_dir) for c in cfgs]
        evaluator, evaluator_info = (image_jobs.load_evaluator(data_dir) if first.layout != "iris" else (None, None))
    bases = getattr(configs, "bases", None)  # [(base record, its member training state)] or None
    start = bases[0][1]["iters"] if bases else 0
    steps = trajectory_steps(first.iters)
    trajectory: list[dict] = [{"step": [], **{m: [] for m in TRAJECTORY_METRICS}} for _ in cfgs]
    for k, (base, _) in enumerate(bases or []):  # the base's points up to where it ends, as from scratch
        t = base.get("trajectory") or {"step": []}
        for i, step in enumerate(t["step"]):
            if step <= start and step in steps[:-1]:
                trajectory[k]["step"].append(step)
                for m in TRAJECTORY_METRICS:
                    trajectory[k][m].append(t[m][i])
    on_eval, centres = None, None
    if first.is_mixture:
        centres = [kmeans_centres(m.points, c.modes) for m, c in zip(mixtures, cfgs)]

        def on_eval(step, G):
            # The same samples a run with a budget of `step` would be judged on (the EVAL stream).
            xs, _ = generate(G, seeds, first.n_eval, dims, variant.conditional)
            for k in range(len(cfgs)):
                point = mixture_metrics(xs[k], mixtures[k], centres[k]) if np.isfinite(xs[k]).all() else {}
                trajectory[k]["step"].append(step)
                for m in TRAJECTORY_METRICS:
                    trajectory[k][m].append(point.get(m))
    trained = train_ensemble(variant, [d[0] for d in data], [d[1] for d in data], seeds, dims,
                             iters=first.iters, batch_size=first.batch_size, device=pick_device(device),
                             eval_at=[s for s in steps[:-1] if s > start], on_eval=on_eval,
                             resume=[b[1] for b in bases] if bases else None)
    t0 = time.perf_counter()
    samples, _ = generate(trained.G, seeds, first.n_eval, dims, variant.conditional)
    class_grid = None
    if variant.conditional and dims.image is not None:  # the report's 10 x 10 grid: row i = class i
        rows = min(dims.n_classes, 10)
        class_grid, _ = generate(trained.G, seeds, rows * 10, dims, True, labels=np.repeat(np.arange(rows), 10),
                                 stream=STREAM_GRID)
    device_name, versions_now = str(pick_device(device)), versions()
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
               "losses": {"step": trained.loss_steps, "d": [row[k] for row in trained.d_losses],
                          "g": [row[k] for row in trained.g_losses]}}
        if first.is_mixture:
            mix = mixtures[k]
            final = mixture_metrics(x, mix, centres[k]) if not diverged else {}
            trajectory[k]["step"].append(cfg.iters)
            for m in TRAJECTORY_METRICS:
                trajectory[k][m].append(final.get(m))
            rec["trajectory"] = trajectory[k]
            if not diverged:
                rec["metrics"] = final
                # the metrics layer on the raw 2-D points, against as many training points
                rec["metrics"].update(compare_matched(mix.points, x, seed=cfg.seed, kid_subsets=KID_SUBSETS))
            rec.update({"samples": np.round(x[:N_SCATTER], 4).tolist(), "centers": mix.centers.tolist(),
                        "mode_std": mix.std})
            evaluation = {"hq_threshold_std": 3.0, "kmeans_radius": 0.1}
        else:
            if not diverged:
                rec["metrics"] = image_jobs.evaluate(cfg.layout, x, data[k][0], cfg.seed, KID_SUBSETS,
                                                     evaluator, evaluator_info, distribution=cfg.preset is None)
                if dims.image is not None and cfg.preset is None:  # presets' reports draw no t-SNE
                    artifacts["tsne"] = image_jobs.tsne_embedding(cfg.layout, x, data[k][0], cfg.seed, evaluator)
            if class_grid is not None:
                artifacts["class_grid"] = image_jobs.sample_images(class_grid[k], cfg.layout)
            if first.layout == "iris":
                rec["samples"] = np.round(x[:N_SCATTER], 4).tolist()
            evaluation = {"features": "raw" if first.layout == "iris" else "mnist-cnn",
                          "compared_samples": min(cfg.n_eval, image_jobs.MAX_COMPARED) if cfg.preset is None else 0}
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
        files.append(_artifact_files(cfg, trained, k, x, artifacts) if with_files else {})
    eval_s = time.perf_counter() - t0
    for r in records:
        r["timings"]["eval_s"] = eval_s / len(records)
    return [(_clean(r), f) for r, f in zip(records, files)]


def _artifact_files(cfg: RunConfig, trained, k: int, x: np.ndarray,
                    artifacts: dict[str, np.ndarray]) -> dict[str, bytes]:
    import io

    import torch

    from ganbench.image_jobs import sample_images

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
    if not cfg.is_mixture and cfg.preset is None:  # the figures' inputs: REPRODUCTION.md draws none
        images = sample_images(x, cfg.layout)
        if images is not None:
            files[".samples.npz"] = dump(lambda f: np.savez_compressed(f, images=images, **artifacts))
    return files


def _cost(group: Sequence[RunConfig]) -> float:
    """Rough relative cost, to start the longest ensembles first."""
    v = group[0].variant_obj()
    return group[0].iters * (v.n_critic * 3 + 1) * v.pack * len(group)


MAX_ENSEMBLE = 20  # members per ensemble: beyond ~20 the batched step gets no cheaper per member
MAX_ENSEMBLE_DATA = 3 * 2 ** 30  # bytes of training data per ensemble (128,000 stacked digits: 1.2 GB a seed)


class Group(list):
    """One ensemble's jobs (a list of RunConfig); ``bases``: for an extension, per job its base record
    and member training state (``find_bases``), else None."""

    bases: list | None = None


def ensembles(configs: Iterable[RunConfig], max_size: int = MAX_ENSEMBLE,
              bases: dict | None = None, workers: int = 1) -> list[Group]:
    """Group jobs by ensemble key (and, for extensions, the budget they continue from) into ensembles
    of at most ``max_size`` members (fewer where their training data would pass MAX_ENSEMBLE_DATA),
    longest first. ``bases``: run id -> (base record, training state), from ``find_bases``. With
    fewer ensembles than ``workers``, the largest are split until every worker has one (a member's
    result does not depend on its ensemble, so splitting changes no record)."""
    bases = bases or {}

    def start(c: RunConfig) -> int:
        return bases[c.run_id][1]["iters"] if c.run_id in bases else 0

    keyed = sorted(configs, key=lambda c: (repr(c.ensemble_key()), start(c), c.modes, c.seed))
    groups = []
    for _, g in groupby(keyed, key=lambda c: (c.ensemble_key(), start(c))):
        g = list(g)
        per_member = g[0].n_train * g[0].dims().data_dim * 4  # float32
        size = max(1, min(max_size, MAX_ENSEMBLE_DATA // per_member))
        for i in range(0, len(g), size):
            group = Group(g[i:i + size])
            groups.append(group)
    while len(groups) < workers and max(len(g) for g in groups) > 1:
        big = max(groups, key=lambda g: (_cost(g), len(g)))
        groups.remove(big)
        half = (len(big) + 1) // 2
        groups += [Group(big[:half]), Group(big[half:])]
    for group in groups:
        if group[0].run_id in bases:
            group.bases = [bases[c.run_id] for c in group]
    return sorted(groups, key=_cost, reverse=True)


def find_bases(out: Path, pending: Sequence[RunConfig], records: list[dict]) -> dict:
    """For each pending job, the finished run of the same config with the largest smaller budget
    whose checkpoint holds its training state: {run id: (base record, member training state)}.
    Training continues from there and ends where training from scratch would (bit for bit)."""
    import torch

    def key(config: dict, params: dict) -> str:
        rest = {k: v for k, v in config.items() if k not in ("iters", "budget")}
        return json.dumps([rest, params], sort_keys=True)

    by_key: dict[str, list[dict]] = {}
    for r in records:
        if r.get("status") in ("ok", "diverged") and "config" in r and "variant_params" in r:
            by_key.setdefault(key(r["config"], r["variant_params"]), []).append(r)
    found = {}
    for cfg in pending:
        ident = cfg.identity()
        candidates = [r for r in by_key.get(key(ident["config"], ident["variant_params"]), [])
                      if r["config"]["iters"] < cfg.iters]
        for r in sorted(candidates, key=lambda r: -r["config"]["iters"]):
            ckpt = runs_dir(out) / f"{r['id']}.pt"
            if not ckpt.is_file():
                continue
            try:
                state = torch.load(ckpt, map_location="cpu", weights_only=True).get("train_state")
            except Exception:  # noqa: BLE001 - an unreadable checkpoint: train from scratch instead
                state = None
            if state is not None and state.get("iters") == r["config"]["iters"]:
                found[cfg.run_id] = (r, state)
                break
    return found


# --- the driver: one runner per output directory, records written as ensembles finish ------------

MAX_ATTEMPTS = 3  # tries per ensemble (a raised error or a dead worker) before its runs are recorded failed
EXECUTORS = ("local", "ray")


class StoreBusy(ValueError):
    """Another runner holds the output directory's lock."""


@contextmanager
def store_lock(out: Path) -> Iterator[None]:
    """Hold ``<out>/runs/.lock`` (an flock, released by the kernel however the holder ends) for the
    whole run, so two runners can never write the same record; a second one gets StoreBusy."""
    import fcntl

    d = runs_dir(out)
    d.mkdir(parents=True, exist_ok=True)
    fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StoreBusy(f"another ganbench run ({holder}) is writing to {d}; wait for it to finish "
                        "or give this one another --out") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {platform.node()}".encode())
        yield
    finally:
        os.close(fd)


def set_aside_corrupt(out: Path, warn: Callable[[str], None]) -> list[Path]:
    """Move every unreadable or foreign ``*.json`` in ``<out>/runs`` to ``<out>/runs/corrupt/`` (kept,
    never deleted), reporting each by name, so that its run is trained again."""
    moved = []
    for path in sorted(runs_dir(out).glob("*.json")):
        _, problem = _read_record(path)
        if problem is None:
            continue
        dest = runs_dir(out) / "corrupt" / path.name
        dest.parent.mkdir(exist_ok=True)
        n = 1
        while dest.exists():
            dest, n = dest.with_name(f"{path.stem}.{n}.json"), n + 1
        os.replace(path, dest)
        moved.append(dest)
        warn(f"set aside {path} ({problem}) as {dest}; its run will be trained again")
    return moved


def failed_record(cfg: RunConfig, error: str, attempts: int) -> dict:
    """The record of a job whose ensemble failed every attempt: kept so the report can say so, and
    retried by the next run (``finished_ids`` leaves it out)."""
    return {"schema": RECORD_SCHEMA, "id": cfg.run_id, **cfg.identity(), "status": "failed",
            "error": error, "attempts": attempts, "metrics": None, "versions": versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def one_line(error: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


class Driver:
    """What executors report to: it writes each finished ensemble's files and records (files first,
    so a record always has its checkpoint), counts them and moves the progress bar."""

    def __init__(self, out: Path, counts: dict, bar):
        self.out, self.counts, self.bar = Path(out), counts, bar

    def store(self, results: Sequence[tuple[dict, dict[str, bytes]]]) -> None:
        for rec, files in results:
            base = runs_dir(self.out) / rec["id"]
            for suffix, blob in files.items():
                write_atomic(Path(f"{base}{suffix}"), lambda f, b=blob: f.write(b), binary=True)
            write_json_atomic(Path(f"{base}.json"), rec)
            self.counts["trained"] += 1
            self.counts["diverged"] += rec["status"] == "diverged"
        self.bar.update(len(results))

    def fail(self, group: Sequence[RunConfig], error: str, attempts: int) -> None:
        self.note(f"{_describe(group)} failed {attempts} time(s), recorded as failed: {error}")
        for cfg in group:
            write_json_atomic(runs_dir(self.out) / f"{cfg.run_id}.json", failed_record(cfg, error, attempts))
        self.counts["failed"] += len(group)
        self.bar.update(len(group))

    def failed_attempt(self, group: Sequence[RunConfig], error: str, attempt: int) -> bool:
        """Attempt ``attempt`` of ``group`` failed: True to try again, or, after the last one, record
        its jobs as failed and return False."""
        if attempt >= MAX_ATTEMPTS:
            self.fail(group, error, attempt)
            return False
        self.note(f"attempt {attempt} of {MAX_ATTEMPTS} failed, trying again: {error}")
        return True

    def note(self, msg: str) -> None:
        self.bar.write(f"ganbench: {msg}", file=sys.stderr)


def _describe(group: Sequence[RunConfig]) -> str:
    c = group[0]
    return f"{c.variant} on {c.layout} ({len(group)} run(s), seeds {sorted({g.seed for g in group})})"


def run_grid(configs: Sequence[RunConfig], out: Path, jobs: int = 1, device: str | None = None,
             progress: bool = True, data_dir: str | None = None, executor: str = "local",
             address: str | None = None) -> dict:
    """Run every job of ``configs`` that has no finished record in ``out`` yet, on this machine's
    processes (``executor="local"``, ``jobs`` workers) or as Ray tasks (``"ray"``, a local instance
    with ``jobs`` CPUs or the cluster at ``address``). Returns counts."""
    from tqdm import tqdm

    from ganbench import executors

    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}: choose from {', '.join(EXECUTORS)}")
    out = Path(out)
    check_writable(out)
    counts = {"total": len(configs), "skipped": 0, "trained": 0, "diverged": 0, "failed": 0, "extended": 0}
    if not configs:
        return counts
    with store_lock(out):
        bar = tqdm(total=len(configs), desc="runs", unit="run", disable=not progress, file=sys.stderr)
        driver = Driver(out, counts, bar)
        try:
            set_aside_corrupt(out, driver.note)
            done = finished_ids(out)
            pending = [c for c in configs if c.run_id not in done]
            counts["skipped"] = len(configs) - len(pending)
            bar.update(counts["skipped"])
            if not pending:
                return counts
            if any(c.layout in ("mnist", "stacked-mnist") for c in pending):
                from ganbench.image_jobs import load_evaluator

                load_evaluator(data_dir, progress=progress)  # train it once here, not in every worker
            bases = find_bases(out, pending, load_records(out))
            counts["extended"] = len(bases)
            if bases:
                driver.note(f"extending {len(bases)} finished run(s) from their checkpoints")
            groups = ensembles(pending, bases=bases, workers=1 if executor == "local" and jobs <= 1 else jobs)
            fault = os.environ.get("GANBENCH_FAULT")  # fault injection for the reliability tests
            if executor == "ray":
                executors.run_ray(groups, driver, jobs, device, data_dir, address, fault)
            elif jobs <= 1:
                executors.run_serial(groups, driver, device, data_dir, fault)
            else:
                executors.run_pool(groups, driver, jobs, device, data_dir, fault)
        finally:
            bar.close()
    return counts


# --- drawing from a trained run --------------------------------------------------------------------

MAX_GRID = 10_000  # images in one sample grid: 100 x 100 of them, 2,800 pixels a side


def find_record(results: Path, run: str) -> Path:
    """The record file of ``run``: a path to it, or a run id (``<id>`` or ``<id>.json``) in ``<results>/runs``."""
    path = Path(run)
    if path.is_file():
        return path
    if path.parent != Path("."):
        raise ValueError(f"no record file {run}")
    path = runs_dir(results) / f"{path.name.removesuffix('.json')}.json"
    if not path.is_file():
        raise ValueError(f"no run {run} in {runs_dir(results)} (give a run id or the path to its record)")
    return path


def sample_run(results: Path, run: str, n: int, path: Path, label: int | None = None, seed: int = 0) -> Path:
    """Rebuild a run's generator from its checkpoint and write ``n`` new samples to ``path``: an image
    grid (.png) for image datasets; for mixtures the points (.csv) or a scatter plot of them over the
    true centres (.png); for Iris the flowers in centimetres (.csv). ``run``: see ``find_record``."""
    import torch

    from ganbench.train import generate

    if not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"n must be between 1 and {MAX_SAMPLES:,}, got {n:,}")
    check_output_file(path)
    rec_path = find_record(results, run)
    rec, problem = _read_record(rec_path)
    if problem:
        raise ValueError(f"{rec_path}: {problem}")
    ckpt = rec_path.with_suffix(".pt")
    if not ckpt.is_file():
        raise ValueError(f"run {rec['id']} has no checkpoint ({ckpt} is missing)")
    cfg = RunConfig(**{k: v for k, v in rec["config"].items() if k in RunConfig.__dataclass_fields__})
    variant, dims = cfg.variant_obj(), cfg.dims()
    if label is not None and not variant.conditional:
        raise ValueError(f"--class needs a conditional model; {cfg.variant} is not one")
    if label is not None and not 0 <= label < cfg.modes:
        raise ValueError(f"--class must be between 0 and {cfg.modes - 1}, got {label}")
    image = not cfg.is_mixture and dims.image is not None
    suffixes = (".png",) if image else (".csv", ".png") if cfg.is_mixture else (".csv",)
    if path.suffix not in suffixes:
        raise ValueError(f"--out must end in {' or '.join(suffixes)} for {cfg.layout} runs")
    if image and n > MAX_GRID:
        raise ValueError(f"n must be at most {MAX_GRID:,} for a grid of images, got {n:,}")
    G, _ = variant.build(member_generators_for(cfg.seed), dims)
    try:
        G.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True)["G"])
    except Exception as e:  # noqa: BLE001 - torn, foreign or another network's
        raise ValueError(f"{ckpt} is not a checkpoint of run {rec['id']} ({e.__class__.__name__})") from None
    labels = None if label is None else np.full(n, label)
    x, _ = generate(G, [seed], n, dims, variant.conditional, labels=labels, stream=1000 + seed)
    x = x[0]
    if image:
        from torchvision.utils import save_image

        imgs = torch.from_numpy(x.reshape(-1, *dims.image))
        write_atomic(path, lambda f: save_image((imgs + 1) / 2, f, nrow=int(np.ceil(np.sqrt(n))), format="png"),
                     binary=True)
    elif path.suffix == ".png":
        from ganbench.report import fig_sample_scatter

        centres = make_mixture(cfg.layout, cfg.modes, cfg.seed, cfg.n_train, cfg.std, cfg.scale).centers
        title = f"{cfg.variant}, {cfg.layout} of {cfg.modes} modes, seed {cfg.seed}: {n:,} new samples"
        write_atomic(path, lambda f: fig_sample_scatter(x, centres, title, f), binary=True)
    else:
        from ganbench.images import IRIS_FEATURES, iris_units

        iris = cfg.layout == "iris"
        header = IRIS_FEATURES if iris else [f"x{i}" for i in range(x.shape[1])]
        write_atomic(path, lambda f: np.savetxt(f, iris_units(x) if iris else x, delimiter=",", comments="",
                                                header=",".join(header)))
    return path


def member_generators_for(seed: int):
    from ganbench.nets import member_generators
    from ganbench.train import STREAM_INIT

    return member_generators([seed], STREAM_INIT)

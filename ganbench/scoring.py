"""A benchmark's protocol applied to a user's own samples: ``ganbench score`` and ``ganbench.score``.

The samples are judged exactly as a run's final samples are (``ensemble_records.mixture_record_metrics``
on 2-D mixtures, ``datasets.evaluate`` on MNIST, Stacked MNIST and Iris), against the real data a
run with the same seed and the dataset's defaults trains on, so the metrics carry a record's keys and,
for the same samples, its numbers. Bad input raises ValueError naming what is wrong and what is allowed.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganbench.constants import MAX_N_EVAL
from ganbench.data import LAYOUTS, check_layout
from ganbench.datasets import DATASETS

BENCHMARKS = ("<layout><K> for a 2-D mixture (ring8, grid25, blobs4; layouts " + ", ".join(LAYOUTS)
              + ")", *DATASETS)
MIN_SAMPLES = 10  # PRDC's 5th neighbour and KID need a few; a run evaluates thousands


@dataclass(frozen=True)
class Benchmark:
    name: str
    layout: str      # a mixture layout, or a dataset of datasets.DATASETS
    modes: int
    std: float | None = None
    scale: float | None = None

    @property
    def is_mixture(self) -> bool:
        return self.layout not in DATASETS


def parse_benchmark(name: str, std: float | None = None, scale: float | None = None) -> Benchmark:
    """``ring8`` -> the ring of 8 modes (the layout's default std, or ``std``; centres x ``scale``),
    ``mnist`` / ``stacked-mnist`` / ``iris`` -> that dataset."""
    if not isinstance(name, str):
        raise ValueError(f"benchmark must be a name such as ring8 or mnist, got {name!r}")
    for what, v in (("std", std), ("scale", scale)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            raise ValueError(f"{what} must be a number, got {v!r}")
    if name in DATASETS:
        if std is not None or scale is not None:
            raise ValueError(f"std and scale apply to 2-D mixtures, not to {name}")
        return Benchmark(name, name, DATASETS[name].classes)
    m = re.fullmatch(r"([a-z]+)(\d+)", name or "")
    if m is None or m.group(1) not in LAYOUTS:
        raise ValueError(f"unknown benchmark {name!r}: give {' or '.join(BENCHMARKS)}")
    layout, modes = m.group(1), int(m.group(2))
    check_layout(layout, modes)
    if std is not None and not 0 < std <= 100:
        raise ValueError(f"std must be in (0, 100], got {std}")
    if scale is not None and not 0 < scale <= 1000:
        raise ValueError(f"scale must be in (0, 1000], got {scale}")
    return Benchmark(name, layout, modes, std, scale)


def _as_samples(x, bench: Benchmark) -> np.ndarray:
    """Samples as the runs' generators give them: flat float32 rows in the data's own range."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"samples must be real numbers, got {x.dtype}")
    if x.ndim == 0:
        raise ValueError("samples must be an array of rows, got a single number")
    if not MIN_SAMPLES <= len(x) <= MAX_N_EVAL:
        raise ValueError(f"give between {MIN_SAMPLES} and {MAX_N_EVAL:,} samples, got {len(x):,}")
    if bench.is_mixture:
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"{bench.name} samples must be 2-D points, an (n, 2) array; got shape {x.shape}")
        return x.astype(np.float32)
    d = DATASETS[bench.layout]
    if d.image is None:  # Iris: rows of its features in centimetres, as `ganbench sample` writes them
        if x.ndim != 2 or x.shape[1] != d.data_dim:
            raise ValueError(f"{bench.name} samples must be rows of its {d.data_dim} features "
                             f"({', '.join(d.columns)}, in cm); got shape {x.shape}")
        from ganbench.images import iris_scaled

        return iris_scaled(x).astype(np.float32)
    c, h, w = d.image
    shapes = {(c * h * w,), (c, h, w)} | ({(h, w)} if c == 1 else {(h, w, c)})
    if tuple(x.shape[1:]) not in shapes:
        raise ValueError(f"{bench.name} samples must be {c} x {h} x {w} images (as (n, {c}, {h}, {w}), "
                         f"(n, {h}, {w}{'' if c == 1 else f', {c}'}) or flat (n, {c * h * w})); got shape {x.shape}")
    if c > 1 and x.shape[1:] == (h, w, c):
        x = np.moveaxis(x, -1, 1)  # channels last (PNG order) to first
    if x.dtype.kind in "biu":
        if x.min() < 0 or x.max() > 255:
            raise ValueError("integer images must be 0-255")
        x = x.astype(np.float32) / 127.5 - 1.0
    else:
        if not np.isfinite(x).all():
            raise ValueError("the images hold NaN or inf values")
        if x.min() < -1.001 or x.max() > 1.001:
            raise ValueError(f"float images must lie in [-1, 1] (a tanh generator's range), got "
                             f"[{x.min():.3g}, {x.max():.3g}]: scale 0-255 images to x / 127.5 - 1")
        if x.min() >= 0:
            raise ValueError("float images must lie in [-1, 1] with -1 as the background; these are all >= 0, "
                             "which looks like [0, 1]: give 2 x - 1 (or 0-255 integers)")
        x = x.astype(np.float32)
    return x.reshape(len(x), -1)


def load_samples(path: str | Path, bench: Benchmark) -> np.ndarray:
    """A file or folder of samples: .npy; .npz (its one array, or the one named samples / images / x);
    .csv (a header line is skipped); for images a folder of PNGs (sorted by name)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"samples {path} do not exist")
    if path.is_dir():
        return _load_pngs(path, bench)
    if path.suffix == ".npy":
        from ganbench.files import check_npy_header

        check_npy_header(path, "samples")
        return np.load(path, allow_pickle=False)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:  # a file that is no zip: ValueError below
                names = [n for n in ("samples", "images", "x") if n in z.files] or z.files
                if len(names) != 1:
                    raise ValueError(f"{path} holds {', '.join(z.files) or 'no arrays'}: name the samples "
                                     "'samples' (or give an .npz with one array)")
                return z[names[0]]
        except (OSError, EOFError) as e:  # zipfile.BadZipFile is an OSError
            raise ValueError(f"{path} is not a readable .npz archive ({e.__class__.__name__})") from None
        except ValueError as e:
            if "pickled" in str(e) or "allow_pickle" in str(e):  # numpy's words for a file that is no zip
                raise ValueError(f"{path} is not a readable .npz archive") from None
            raise
    if path.suffix == ".csv":
        text = path.read_text(errors="replace").splitlines()
        skip = 1 if text and not re.match(r"^\s*[-+0-9.]", text[0]) else 0
        if len(text) <= skip:
            raise ValueError(f"{path} holds no rows")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numpy's UserWarning for an empty file: ours says it
                return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
        except ValueError as e:
            raise ValueError(f"{path} is not a CSV of numbers ({e})") from None
    folder = "" if bench.is_mixture else " or a folder of PNGs"
    raise ValueError(f"samples must be an .npy, .npz or .csv file{folder}, got {path.name}")


def _load_pngs(folder: Path, bench: Benchmark) -> np.ndarray:
    if bench.is_mixture or DATASETS[bench.layout].image is None:
        raise ValueError(f"a folder of PNGs is for image benchmarks, not {bench.name}")
    from PIL import Image

    files = sorted(folder.glob("*.png"))
    if not files:
        raise ValueError(f"{folder} holds no .png files")
    if len(files) > MAX_N_EVAL:
        raise ValueError(f"{folder} holds {len(files):,} images, more than {MAX_N_EVAL:,}")
    mode = "L" if DATASETS[bench.layout].image[0] == 1 else "RGB"
    images = []
    for f in files:
        try:
            with Image.open(f) as im:
                images.append(np.asarray(im.convert(mode), dtype=np.uint8))
        except OSError as e:
            raise ValueError(f"{f} is not a readable PNG ({e.__class__.__name__})") from None
    if len({a.shape for a in images}) != 1:
        raise ValueError(f"the PNGs in {folder} differ in size")
    return np.stack(images)


def score(samples, benchmark: str, *, seed: int = 0, std: float | None = None,
          scale: float | None = None, data_dir=None) -> dict:
    """The benchmark's record for ``samples`` (an array, or a path as ``load_samples`` reads): its
    ``metrics`` (keyed as a run's record: modes, hq_fraction, reverse_kl, ... on mixtures; modes = classes
    seen, kl_to_uniform, ... on images), ``status`` ("ok", or "diverged" with ``divergence`` and no
    metrics, as a run whose samples are non-finite or exploded), and what it was judged against."""
    from ganbench.config import RunConfig, dataset_config
    from ganbench.ensemble_records import KID_SUBSETS, clean_json, mixture_record_metrics, sample_divergence

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= 2 ** 32 - 1:
        raise ValueError(f"seed must be a whole number from 0 to 2^32 - 1, got {seed!r}")
    seed = int(seed)

    bench = parse_benchmark(benchmark, std, scale)
    raw = load_samples(samples, bench) if isinstance(samples, (str, Path)) else samples
    x = _as_samples(raw, bench)
    if bench.is_mixture:
        cfg = RunConfig(variant="vanilla", layout=bench.layout, modes=bench.modes, seed=seed, std=std, scale=scale)
    else:
        cfg = dataset_config("vanilla", bench.layout, seed)
    out = {"benchmark": bench.name, "n_samples": len(x), "seed": seed, "status": "ok", "divergence": None}
    if bench.is_mixture:
        from ganbench.data import make_mixture
        from ganbench.metrics import kmeans_centres

        mix = make_mixture(bench.layout, bench.modes, seed=seed, n_train=cfg.n_train, std=std, scale=scale)
        out.update({"real": {"points": cfg.n_train, "mode_std": mix.std, "centers": mix.centers.tolist()}})
        reason = sample_divergence(x, mix.points)
        if reason is None:
            out["metrics"] = mixture_record_metrics(x, mix, kmeans_centres(mix.points, bench.modes), seed)
    else:
        from ganbench import datasets

        real = datasets.training_data(bench.layout, seed, cfg.n_train, data_dir)[0]
        out["real"] = {"samples": cfg.n_train}
        reason = sample_divergence(x, real)
        if reason is None:
            evaluator, info = (datasets.load_evaluator(data_dir, dataset=bench.layout)
                               if datasets.needs_evaluator([bench.layout])
                               else (None, None))
            out["metrics"] = datasets.evaluate(bench.layout, x, real, seed, KID_SUBSETS, evaluator, info)
    if reason is not None:
        out.update({"status": "diverged", "divergence": reason, "metrics": None})
    return clean_json(out)  # NaN and inf as None, as a record holds them (a reverse KL with no HQ sample)

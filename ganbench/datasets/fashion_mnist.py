"""Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 70,000 28 x 28 greyscale images of 10 kinds of
clothing, MNIST's drop-in. The whole dataset is this file: its images come from ``--data-dir`` (or
``GANBENCH_DATA``) in torchvision's layout (``<dir>/FashionMNIST/raw/``), else from torchvision's
download into ganbench's cache unless ``GANBENCH_OFFLINE`` is set (tests never download). Its evaluator
is ganbench's classifier CNN trained on its own training set (cached like MNIST's)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ganbench.datasets import DatasetDefaults, register_dataset
from ganbench.images import Digits, cache_dir


def load_fashion_mnist(data_dir: str | Path | None = None, train: bool = True) -> Digits:
    """Fashion-MNIST's training (60,000) or test (10,000) set; ValueError saying where it was looked for."""
    from torchvision.datasets import FashionMNIST

    root = data_dir or os.environ.get("GANBENCH_DATA")
    if root:
        try:
            ds = FashionMNIST(root=str(root), train=train, download=False)
        except (RuntimeError, OSError) as e:
            named = "--data-dir" if data_dir else "GANBENCH_DATA"
            raise ValueError(f"no Fashion-MNIST in torchvision's layout under {root} ({named}; "
                             f"{e.__class__.__name__}): give the directory holding FashionMNIST/raw/") from None
        source = f"torchvision layout in {root}"
    elif os.environ.get("GANBENCH_OFFLINE"):
        raise ValueError("Fashion-MNIST not found: give --data-dir (the directory holding FashionMNIST/raw/); "
                         "downloads are off (GANBENCH_OFFLINE is set)")
    else:
        root = cache_dir() / "data"
        try:
            ds = FashionMNIST(root=str(root), train=train, download=True)
        except Exception as e:  # noqa: BLE001 - no network, a proxy's refusal, ...
            raise ValueError(f"Fashion-MNIST not found: give --data-dir (the directory holding FashionMNIST/raw/); "
                             f"torchvision's download failed ({e.__class__.__name__})") from None
        source = f"torchvision download in {root}"
    return Digits(ds.data.numpy(), ds.targets.numpy().astype(np.int64), source)


# MNIST's defaults: the DCGAN-style networks, 10 classes, and MNIST's CPU budget (where its runs train;
# not measured on Fashion-MNIST)
register_dataset("fashion-mnist", DatasetDefaults(
    10, (1, 28, 28), 784, "dcgan", 100, 60_000, 10_000, 6_000,
    source="ganbench.datasets.fashion_mnist:load_fashion_mnist", source_name="Fashion-MNIST"))

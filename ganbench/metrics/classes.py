"""Scores from any classifier's output: class histogram, its entropy and KL to uniform, and an
Inception-Score-style classifier score."""
from __future__ import annotations

import math

import numpy as np

from ganbench.metrics._checks import as_features, check_int

MAX_CLASSES = 1_000_000  # Stacked MNIST has 1,000


def _labels(labels, n_classes: int) -> np.ndarray:
    check_int(n_classes, "n_classes", 1, MAX_CLASSES)
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    a = np.asarray(labels)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        if not np.issubdtype(a.dtype, np.floating) or not np.isfinite(a).all() or (a != np.round(a)).any():
            raise ValueError("labels must be whole numbers")
        a = a.astype(np.int64)
    if a.min() < 0 or a.max() >= n_classes:
        raise ValueError(f"labels must lie in 0 .. {n_classes - 1}, got {a.min()} .. {a.max()}")
    return a


def class_histogram(labels, n_classes: int) -> np.ndarray:
    """Share of samples in each class, shape (n_classes,), summing to 1."""
    a = _labels(labels, n_classes)
    return np.bincount(a, minlength=n_classes) / a.size


def class_entropy(labels, n_classes: int) -> dict:
    """Entropy (nats) of the class histogram, KL to the uniform distribution (ln C - H), and the
    number of classes seen at least once."""
    p = class_histogram(labels, n_classes)
    nz = p[p > 0]
    h = float(-(nz * np.log(nz)).sum())
    return {"entropy": h, "kl_to_uniform": max(math.log(n_classes) - h, 0.0), "classes_seen": int((p > 0).sum())}


def classifier_score(probs) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with p(y) the mean of p(y|x) (Salimans et al. 2016's Inception
    Score, for any classifier): 1 for constant predictions, C for confident and balanced ones."""
    p = as_features(probs, "probs", min_rows=1)
    if (p < 0).any() or not np.allclose(p.sum(1), 1.0, atol=1e-4):
        raise ValueError("probs must be rows of class probabilities (non-negative, summing to 1)")
    py = p.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(py)), 0.0).sum(1)
    return float(math.exp(kl.mean()))

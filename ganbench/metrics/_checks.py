"""Input checks shared by the metric functions: each failure is a ValueError naming the argument."""
from __future__ import annotations

import numpy as np


def as_features(x, name: str, min_rows: int = 1) -> np.ndarray:
    """A finite 2-D float64 array (rows = samples) from a numpy array, list or torch tensor."""
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a numeric array") from None
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {a.shape}")
    if a.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples (rows), got {a.shape[0]}")
    if a.shape[1] < 1:
        raise ValueError(f"{name} has no feature columns")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    return a


def check_same_width(real: np.ndarray, fake: np.ndarray) -> None:
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake have different widths: {real.shape[1]} and {fake.shape[1]} columns")


def check_k(k: int, n: int, name: str) -> int:
    """k nearest neighbours need k < n (a point is not its own neighbour)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be a whole number, got {k!r}")
    if not 1 <= k < n:
        raise ValueError(f"k must be between 1 and the number of {name} samples - 1 ({n - 1}), got {k}")
    return int(k)

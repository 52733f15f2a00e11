"""Input checks shared by the metric functions: each failure is a ValueError naming the argument."""
from __future__ import annotations

import numpy as np


def as_points(x, name: str, min_rows: int = 1) -> np.ndarray:
    """A finite 2-D float64 array (rows = samples) from a numpy array, list or torch tensor."""
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array") from None
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {a.shape}")
    if a.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {a.shape[0]}")
    if a.shape[1] < 1:
        raise ValueError(f"{name} has no columns")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    return a

"""Input checks shared by the metric functions: each failure is a ValueError naming the argument."""
from __future__ import annotations

import numpy as np


def as_real(x, name: str) -> np.ndarray:
    """``x`` as a float64 array; a ValueError for what is not real numbers (complex ones included,
    which numpy would silently cut to their real part)."""
    try:
        if np.iscomplexobj(x):
            raise TypeError
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a numeric array of real-valued numbers") from None


def as_features(x, name: str, min_rows: int = 1) -> np.ndarray:
    """A finite 2-D float64 array (rows = samples) from a numpy array, list or torch tensor."""
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    a = as_real(x, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {a.shape}")
    if a.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples (rows), got {a.shape[0]}")
    if a.shape[1] < 1:
        raise ValueError(f"{name} has no feature columns")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    big = float(np.abs(a).max()) if a.size else 0.0
    if big > MAX_ABS:
        raise ValueError(f"{name} has values of magnitude {big:.3g}; features up to {MAX_ABS:g} in magnitude "
                         "are allowed (rescale them)")
    return a


# Beyond this KID's cubic kernel, squared for its standard deviation (x^12), overflows float64.
MAX_ABS = 1e20


def check_same_width(real: np.ndarray, fake: np.ndarray) -> None:
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake have different widths: {real.shape[1]} and {fake.shape[1]} columns")


def check_int(value, name: str, lo: int, hi: int | None = None, what_hi: str = "") -> int:
    """``value`` as an int in ``lo .. hi`` (a bool, float or string is refused), else a ValueError
    saying what is allowed; ``what_hi`` names where the upper bound comes from."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = (f"between {lo} and {what_hi or hi}" + (f" ({hi})" if what_hi else "") if hi is not None
                 else f"at least {lo}")
        raise ValueError(f"{name} must be {bound}, got {value}")
    return int(value)


def check_k(k: int, n: int, name: str) -> int:
    """k nearest neighbours need k < n (a point is not its own neighbour)."""
    return check_int(k, "k", 1, n - 1, f"the number of {name} samples - 1")

"""Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs").

Unbiased MMD^2 with the polynomial kernel k(x, y) = (x.y / d + 1)^3, on each of ``subsets`` random
subsets of ``subset_size`` samples per side drawn without replacement; mean and (population) std over
subsets. Subsets are drawn exactly as torch-fidelity draws them (``np.random.RandomState(seed)``, one
``choice`` for the first set then one for the second, per subset), so the numbers agree with
``torch_fidelity.metric_kid.kid_features_to_metric`` for the same seed. KID can be negative.

In few dimensions (2-D mixtures, Iris) the cubic kernel is an inner product of explicit features
(``poly_features``: 1 + d + d^2 + d^3 of them), and the kernel sums MMD^2 needs are those of feature
sums: O(m (d + d^2 + d^3)) per subset instead of O(m^2 d), equal
to the kernel matrices' sums within float64 rounding.
"""
from __future__ import annotations

import numpy as np

from ganbench.metrics._checks import as_features, check_int, check_same_width


def polynomial_kernel(x: np.ndarray, y: np.ndarray, coef0: float = 1.0) -> np.ndarray:
    """(x.y / d + coef0)^3. The cube is two multiplications: numpy's ``** 3`` calls pow() per element."""
    k = x @ y.T
    k /= x.shape[1]
    k += coef0
    return k * k * k


def mmd2_unbiased(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Unbiased MMD^2: off-diagonal means within each set minus twice the mean across sets."""
    m = k_xx.shape[0]
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


def poly_features(x: np.ndarray) -> np.ndarray:
    """phi with phi(x).phi(y) = (x.y / d + 1)^3 = 1 + 3 u.v + 3 (u.v)^2 + (u.v)^3, u = x / sqrt(d):
    [1, sqrt(3) u, sqrt(3) u(x)u, u(x)u(x)u], flattened: m x (1 + d + d^2 + d^3)."""
    m, d = x.shape
    u = x / np.sqrt(d)
    uu = (u[:, :, None] * u[:, None, :]).reshape(m, d * d)
    uuu = (uu[:, :, None] * u[:, None, :]).reshape(m, d ** 3)
    return np.hstack([np.ones((m, 1)), np.sqrt(3.0) * u, np.sqrt(3.0) * uu, uuu])


def mmd2_unbiased_by_features(x: np.ndarray, y: np.ndarray) -> float:
    """``mmd2_unbiased`` of the cubic kernel's matrices, from feature sums: sum k_xx = |sum phi(x)|^2,
    trace k_xx = sum |phi(x_i)|^2, sum k_xy = sum phi(x) . sum phi(y)."""
    fx, fy = poly_features(x), poly_features(y)
    m = len(fx)
    sx, sy = fx.sum(axis=0), fy.sum(axis=0)
    within = (sx @ sx - np.einsum("ij,ij->", fx, fx) + sy @ sy - np.einsum("ij,ij->", fy, fy)) / (m * (m - 1))
    return float(within - 2 * (sx @ sy) / (m * m))


MAX_SUBSETS = 100_000  # the reference uses 100; more is a typo, not a need


def kid(real, fake, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over ``subsets`` subsets; ``subset_size`` is capped at the
    smaller number of samples."""
    r = as_features(real, "real", min_rows=2)
    f = as_features(fake, "fake", min_rows=2)
    check_same_width(r, f)
    subsets = check_int(subsets, "subsets", 1, MAX_SUBSETS)
    m = min(check_int(subset_size, "subset_size", 2), len(r), len(f))
    d = r.shape[1]
    by_features = 1 + d + d * d + d ** 3 <= m  # fewer features than samples: the cheaper way
    rng = np.random.RandomState(seed)
    mmds = np.empty(subsets)
    for i in range(subsets):
        x = r[rng.choice(len(r), m, replace=False)]
        y = f[rng.choice(len(f), m, replace=False)]
        mmds[i] = (mmd2_unbiased_by_features(x, y) if by_features else
                   mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(x, y), polynomial_kernel(y, y)))
    return float(mmds.mean()), float(mmds.std())


def kid_values(real, fake, seed: int = 0, kid_subsets: int = 100) -> dict:
    """The suite's "kid" (ganbench.metric_spec): {kid_mean, kid_std}."""
    mean, std = kid(real, fake, subsets=kid_subsets, seed=seed)
    return {"kid_mean": mean, "kid_std": std}

"""Frechet distance (FID) between Gaussians fitted to two feature sets, and FID-infinity.

FID = ||mu1 - mu2||^2 + Tr S1 + Tr S2 - 2 Tr sqrt(S1 S2)   (Heusel et al. 2017), covariances ddof = 1.

Tr sqrt(S1 S2) is the sum of the square roots of the eigenvalues of S1 S2, which are those of the
symmetric matrix F^T S2 F for any factor S1 = F F^T (a Cholesky factor, or V sqrt(W) from S1's
eigendecomposition when S1 is singular). One symmetric eigenvalue solve, no matrix square root:
never scipy.linalg.sqrtm, whose complex round-off makes pytorch-fid raise on rank-deficient input.
Tiny negative eigenvalues (round-off) are clipped at 0.

With n < d samples, S = A A^T / (n - 1) for the centred d x n data A, and the non-zero eigenvalues of
S1 S = S1 A A^T / (n - 1) are those of the n x n matrix A^T S1 A / (n - 1): exact and much cheaper.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg

from ganbench.metrics._checks import as_features, as_real, check_int, check_same_width


def feature_stats(x) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof = 1) of an (n, d) feature array, float64."""
    a = as_features(x, "features", min_rows=2)
    return a.mean(0), np.cov(a, rowvar=False, ddof=1).reshape(a.shape[1], a.shape[1])


def save_stats(path, mu, sigma) -> None:
    """Save statistics as pytorch-fid does: an ``.npz`` with keys ``mu`` and ``sigma``."""
    mu, sigma = _check_stats(mu, sigma, "stats")
    np.savez(path, mu=mu, sigma=sigma)


def load_stats(path) -> tuple[np.ndarray, np.ndarray]:
    """Load ``mu`` and ``sigma`` from an ``.npz`` (pytorch-fid's format)."""
    try:
        with np.load(path) as f:
            mu, sigma = f["mu"], f["sigma"]
    except KeyError:
        raise ValueError(f"{path}: an .npz of FID statistics needs the keys 'mu' and 'sigma'") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e.__class__.__name__})") from None
    mu, sigma = _check_stats(mu, sigma, str(path))
    _check_covariance(sigma, str(path))
    return mu, sigma


def _check_stats(mu, sigma, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu, sigma = as_real(mu, f"{name}: mu"), as_real(sigma, f"{name}: sigma")
    if mu.ndim != 1:
        raise ValueError(f"{name}: mu must be 1-D, got shape {mu.shape}")
    if sigma.shape != (len(mu), len(mu)):
        raise ValueError(f"{name}: sigma must be {len(mu)} x {len(mu)} to match mu, got shape {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError(f"{name}: mu or sigma contains NaN or inf")
    return mu, sigma


def _check_covariance(sigma: np.ndarray, name: str) -> None:
    """An untrusted file's sigma must be a covariance: symmetric and positive semi-definite within float
    rounding of its scale (a file's, not computed statistics: the check is a full eigenvalue solve)."""
    scale = max(float(np.abs(sigma).max()), 1e-300)
    if not np.allclose(sigma, sigma.T, rtol=1e-5, atol=1e-8 * scale):
        raise ValueError(f"{name}: sigma is not symmetric, so it is no covariance matrix")
    low = float(np.linalg.eigvalsh((sigma + sigma.T) / 2).min()) if len(sigma) else 0.0
    if low < -1e-6 * scale:
        raise ValueError(f"{name}: sigma has a negative eigenvalue ({low:.3g}), so it is no covariance matrix")


@dataclass(frozen=True)
class _Factor:
    """F with F F^T = sigma; ``triangular`` when F is a (lower) Cholesky factor."""

    f: np.ndarray
    triangular: bool

    def sandwich(self, s: np.ndarray) -> np.ndarray:
        """F^T s F. With a triangular F, two BLAS trmm calls do it in half the flops of two GEMMs."""
        if not self.triangular:
            return self.f.T @ s @ self.f
        f = np.asfortranarray(self.f)
        sf = linalg.blas.dtrmm(1.0, f, np.asfortranarray(s), side=1, lower=1)   # s F
        return linalg.blas.dtrmm(1.0, f, sf, side=0, lower=1, trans_a=1)          # F^T (s F)


def _factor(sigma: np.ndarray) -> _Factor:
    """Cholesky when sigma is positive definite; else V sqrt(W) from its eigendecomposition, clipped
    (singular covariances: fewer samples than dimensions, constant features)."""
    try:
        return _Factor(linalg.cholesky(sigma, lower=True, check_finite=False), True)
    except linalg.LinAlgError:
        w, v = linalg.eigh(sigma, check_finite=False)
        return _Factor(v * np.sqrt(np.clip(w, 0, None)), False)


def _trace_sqrt(m: np.ndarray) -> float:
    """Sum of the square roots of the eigenvalues of the symmetric PSD matrix m (round-off clipped)."""
    w = linalg.eigvalsh((m + m.T) / 2, check_finite=False)
    return float(np.sqrt(np.clip(w, 0, None)).sum())


def _distance(mu1, sigma1, factor1: _Factor, mu2, sigma2) -> float:
    diff = mu1 - mu2
    tr_covmean = _trace_sqrt(factor1.sandwich(sigma2))
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean, 0.0))


def _distance_low_rank(mu1, sigma1, x2: np.ndarray) -> float:
    """FID against the samples x2 (n < d) through the n x n matrix A^T S1 A / (n - 1)."""
    mu2 = x2.mean(0)
    a = (x2 - mu2).T  # d x n
    n = x2.shape[0]
    diff = mu1 - mu2
    tr_covmean = _trace_sqrt(a.T @ sigma1 @ a / (n - 1))
    tr2 = float((a * a).sum() / (n - 1))
    return float(max(diff @ diff + np.trace(sigma1) + tr2 - 2 * tr_covmean, 0.0))


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2); exact, symmetric, never NaN."""
    mu1, sigma1 = _check_stats(mu1, sigma1, "first statistics")
    mu2, sigma2 = _check_stats(mu2, sigma2, "second statistics")
    if len(mu1) != len(mu2):
        raise ValueError(f"the statistics have different widths: {len(mu1)} and {len(mu2)}")
    return _distance(mu1, sigma1, _factor(sigma1), mu2, sigma2)


@dataclass
class FIDReference:
    """Reference statistics (usually of the real data) with their factorisation computed once, for
    scoring many fake sets: each later FID costs one eigenvalue solve (d x d, or n x n for n < d)."""

    mu: np.ndarray
    sigma: np.ndarray
    _factor: _Factor | None = field(default=None, repr=False)

    @classmethod
    def from_features(cls, x) -> "FIDReference":
        return cls(*feature_stats(x))

    @classmethod
    def load(cls, path) -> "FIDReference":
        return cls(*load_stats(path))

    def __post_init__(self):
        self.mu, self.sigma = _check_stats(self.mu, self.sigma, "reference")

    @property
    def factor(self) -> _Factor:
        if self._factor is None:
            self._factor = _factor(self.sigma)
        return self._factor

    def save(self, path) -> None:
        save_stats(path, self.mu, self.sigma)

    def frechet_distance(self, mu, sigma) -> float:
        mu, sigma = _check_stats(mu, sigma, "statistics")
        if len(mu) != len(self.mu):
            raise ValueError(f"statistics have width {len(mu)}, the reference {len(self.mu)}")
        return _distance(self.mu, self.sigma, self.factor, mu, sigma)

    def fid(self, fake) -> float:
        x = as_features(fake, "fake", min_rows=2)
        if x.shape[1] != len(self.mu):
            raise ValueError(f"fake has {x.shape[1]} columns, the reference {len(self.mu)}")
        if x.shape[0] < x.shape[1]:
            return _distance_low_rank(self.mu, self.sigma, x)
        return self.frechet_distance(*feature_stats(x))


def fid(real, fake) -> float:
    """FID between two (n, d) feature arrays. ``real`` may also be an ``FIDReference`` (cached) or a
    ``(mu, sigma)`` pair. Uses the exact low-rank path when a side has fewer samples than dimensions."""
    if isinstance(real, FIDReference):
        return real.fid(fake)
    if isinstance(real, tuple) and len(real) == 2:
        return FIDReference(*real).fid(fake)
    r = as_features(real, "real", min_rows=2)
    f = as_features(fake, "fake", min_rows=2)
    check_same_width(r, f)
    if f.shape[0] >= f.shape[1] and r.shape[0] < r.shape[1]:
        r, f = f, r  # FID is symmetric: put the low-rank side second
    if f.shape[0] < f.shape[1]:
        mu1, sigma1 = feature_stats(r)
        return _distance_low_rank(mu1, sigma1, f)
    return frechet_distance(*feature_stats(r), *feature_stats(f))


def fid_values(real, fake, seed: int = 0, kid_subsets: int = 100) -> dict:
    """The suite's "fid" (ganbench.metric_spec): {fid}."""
    return {"fid": fid(real, fake)}


def fid_infinity(real, fake, n_points: int = 15, min_size: int | None = None, seed: int = 0) -> dict:
    """FID extrapolated to infinitely many fake samples (Chong & Forsyth 2020, "Effectively Unbiased
    FID and Inception Score and where to find them"): FID_n ~ FID_inf + k / n. FID of random subsets
    of ``fake`` at ``n_points`` sizes evenly spaced from ``min_size`` (default n_fake / 5) to n_fake,
    a least-squares line in 1/n, and its intercept.

    Returns ``{"fid_infinity", "slope", "sizes", "fids"}``."""
    ref = real if isinstance(real, FIDReference) else FIDReference.from_features(real)
    f = as_features(fake, "fake", min_rows=2)
    n = len(f)
    n_points = check_int(n_points, "n_points", 2, 1000)
    if n < 3:
        raise ValueError(f"fid_infinity needs at least 3 fake samples, got {n}")
    lo = max(2, n // 5) if min_size is None else check_int(min_size, "min_size", 2, n - 1,
                                                           "the number of fake samples - 1")
    sizes = np.unique(np.linspace(lo, n, n_points).astype(int))
    rng = np.random.default_rng(seed)
    fids = np.array([ref.fid(f[rng.permutation(n)[:m]]) for m in sizes])
    slope, intercept = np.polyfit(1.0 / sizes, fids, 1)
    return {"fid_infinity": float(intercept), "slope": float(slope), "sizes": sizes.tolist(),
            "fids": fids.tolist()}

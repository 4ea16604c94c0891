"""Cross-asset correlation: EWMA estimate, nearest correlation matrix, fixed point.

* :func:`ewma_correlation`: exponentially weighted (RiskMetrics) correlation of
  zero-mean daily log returns, seeded like :func:`engine.calibration.volatility.ewma_variance`.
* :func:`nearest_correlation`: the nearest (Frobenius norm) positive semi-definite
  matrix with unit diagonal, by Higham's alternating projections with Dykstra's
  correction (Higham 2002, "Computing the nearest correlation matrix").
* :func:`to_fixed_rho`: the integer matrix ``rho x SCALE`` the circuit uses (spec
  section 1): symmetric, diagonal ``SCALE``, ``|rho| <= SCALE``, positive
  semi-definite in float64 within 1e-9, padded with identity rows/columns for
  unused asset slots.

Rounding: each off-diagonal entry of the upper triangle is ``round(rho * SCALE)``
half-to-even and mirrored, so the result is exactly symmetric. Rounding can push a
matrix on the PSD boundary slightly outside it; when the smallest eigenvalue of
``rho / SCALE`` is below ``-FIXED_EIG_MARGIN`` (1e-12, far inside the spec's 1e-9
tolerance, far above float noise), every off-diagonal entry is shrunk toward 0
(``sign(r) * floor(|r| * (1 - t))``) with ``t`` doubling from 1e-6 until the check
passes (``t = 1`` gives the identity, which always does).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.errors import InputError
from engine.fixedpoint import SCALE

FloatArray = NDArray[np.float64]
PSD_TOL = 1e-9
FIXED_EIG_MARGIN = 1e-12
EWMA_SEED_OBS = 30
FixedRho = tuple[tuple[int, ...], ...]


def min_eigenvalue(m: ArrayLike) -> float:
    """Smallest eigenvalue of the symmetric matrix ``m`` (float64)."""
    a = np.asarray(m, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.linalg.eigvalsh(a)[0])


def is_psd(m: ArrayLike, tol: float = PSD_TOL) -> bool:
    """True when the symmetric matrix ``m`` has no eigenvalue below ``-tol``."""
    return min_eigenvalue(m) >= -tol


def _square(m: ArrayLike, field: str) -> FloatArray:
    a = np.asarray(m, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InputError(field, f"must be a square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(field, "every entry must be finite")
    return a


def ewma_correlation(returns_matrix: ArrayLike, lam: float = 0.94) -> FloatArray:
    """EWMA correlation of returns, shape ``(n_obs, n_assets)`` (oldest row first).

    ``C_t = lam * C_{t-1} + (1 - lam) * r_t r_t^T`` from ``C_0`` = mean outer product
    of the first ``min(30, n_obs)`` rows; the correlation is ``C_n`` scaled to a unit
    diagonal (which is exact).
    """
    r = np.asarray(returns_matrix, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 2 or r.shape[1] < 1:
        raise InputError("returns", f"needs shape (n_obs >= 2, n_assets >= 1), got {r.shape}")
    if not np.all(np.isfinite(r)):
        raise InputError("returns", "every return must be finite")
    if not 0.0 < lam < 1.0:
        raise InputError("lam", f"EWMA decay must satisfy 0 < lam < 1, got {lam}")
    n = r.shape[0]
    seed_rows = r[:EWMA_SEED_OBS]
    seed = seed_rows.T @ seed_rows / seed_rows.shape[0]
    w = (1.0 - lam) * lam ** np.arange(n - 1, -1, -1, dtype=np.float64)
    cov = lam**n * seed + (r * w[:, None]).T @ r
    sd = np.sqrt(np.diag(cov))
    if np.any(sd <= 0.0):
        bad = int(np.flatnonzero(sd <= 0.0)[0])
        raise InputError(f"returns[:, {bad}]", "asset has zero variance: no correlation")
    corr = cov / np.outer(sd, sd)
    corr = 0.5 * (corr + corr.T)
    np.fill_diagonal(corr, 1.0)
    return np.asarray(np.clip(corr, -1.0, 1.0), dtype=np.float64)


def _project_psd(a: FloatArray) -> FloatArray:
    vals, vecs = np.linalg.eigh(0.5 * (a + a.T))
    return np.asarray((vecs * np.maximum(vals, 0.0)) @ vecs.T, dtype=np.float64)


def _unit_diagonal_psd(a: FloatArray) -> FloatArray:
    """Clip eigenvalues at 0, then rescale to a unit diagonal (congruence keeps PSD)."""
    x = _project_psd(a)
    d = np.sqrt(np.maximum(np.diag(x), 1e-300))
    x = x / np.outer(d, d)
    x = 0.5 * (x + x.T)
    np.fill_diagonal(x, 1.0)
    return np.asarray(np.clip(x, -1.0, 1.0), dtype=np.float64)


def nearest_correlation(m: ArrayLike, tol: float = 1e-12, max_iter: int = 1000) -> FloatArray:
    """Nearest correlation matrix to the symmetric matrix ``m`` (Higham 2002).

    Alternates the projection onto the PSD cone (with Dykstra's correction) and onto
    matrices with unit diagonal until the iterate moves less than ``tol`` (relative),
    then cleans up so the result is exactly symmetric, has a unit diagonal and no
    eigenvalue below about -1e-15. A matrix that already is a correlation matrix is
    returned unchanged (as a copy).
    """
    a = _square(m, "correlation")
    a = 0.5 * (a + a.T)
    if a.size == 0:
        return a.copy()
    if np.allclose(np.diag(a), 1.0, rtol=0.0, atol=0.0) and np.all(np.abs(a) <= 1.0) and is_psd(a, 0.0):
        return a.copy()
    y = a.copy()
    correction = np.zeros_like(a)
    for _ in range(max_iter):
        r = y - correction
        x = _project_psd(r)
        correction = x - r
        y_next = x.copy()
        np.fill_diagonal(y_next, 1.0)
        moved = float(np.linalg.norm(y_next - y, "fro")) / max(float(np.linalg.norm(y, "fro")), 1e-300)
        y = y_next
        if moved < tol:
            break
    return _unit_diagonal_psd(y)


def _shrink(r: NDArray[np.int64], t: float) -> NDArray[np.int64]:
    """Off-diagonals moved toward 0 by the fraction ``t`` (truncating), diagonal kept."""
    out = np.sign(r) * np.floor(np.abs(r).astype(np.float64) * (1.0 - t)).astype(np.int64)
    np.fill_diagonal(out, SCALE)
    return np.asarray(out, dtype=np.int64)


def to_fixed_rho(m: ArrayLike, size: int | None = None) -> FixedRho:
    """``rho x SCALE`` as integers, padded to ``size`` x ``size`` with identity.

    ``m`` must be a correlation matrix up to float noise (unit diagonal within 1e-9,
    entries within [-1, 1] up to 1e-9, PSD within 1e-9); run
    :func:`nearest_correlation` on an estimate first. See the module docstring for
    the rounding and the PSD repair.
    """
    a = _square(m, "rho")
    n = a.shape[0]
    size = n if size is None else size
    if size < n:
        raise InputError("size", f"must be >= the matrix size {n}, got {size}")
    if np.any(np.abs(np.diag(a) - 1.0) > PSD_TOL):
        raise InputError("rho", "diagonal must be 1 (a correlation matrix)")
    if np.any(np.abs(a) > 1.0 + PSD_TOL):
        raise InputError("rho", "every |rho| must be <= 1")
    if np.any(np.abs(a - a.T) > PSD_TOL):
        raise InputError("rho", "must be symmetric")
    if not is_psd(a):
        raise InputError("rho", "must be positive semi-definite (tolerance 1e-9); use nearest_correlation")
    upper = np.triu(np.rint(np.clip(a, -1.0, 1.0) * SCALE).astype(np.int64), 1)
    fixed = np.eye(size, dtype=np.int64) * SCALE
    fixed[:n, :n] += upper + upper.T
    t = 1e-6
    candidate = fixed
    while min_eigenvalue(candidate.astype(np.float64) / SCALE) < -FIXED_EIG_MARGIN:
        candidate = _shrink(fixed, min(t, 1.0))
        t *= 2.0
    return tuple(tuple(int(x) for x in row) for row in candidate)


def ones_rho(size: int, used: int | None = None) -> FixedRho:
    """The no-history default: rho = 1 between every pair of the first ``used`` assets
    (no cross-asset credit), identity for the unused slots after them."""
    used = size if used is None else used
    out = [[SCALE if (i == j or (i < used and j < used)) else 0 for j in range(size)] for i in range(size)]
    return tuple(tuple(row) for row in out)

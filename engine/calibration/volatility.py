"""Volatility forecasts from daily closes: EWMA and GARCH(1,1) (spec section 4).

Conventions (the spec leaves them open):

* Returns are daily log returns ``ln(C_t / C_{t-1})`` taken with mean zero (the
  RiskMetrics convention; daily crypto drift is small next to its volatility).
* A return over a gap of ``g > 1`` days between two closes (a data outage: AVAX has 69
  missing days in 2020) is scaled to one day, ``ln(C_t / C_{t-1}) / sqrt(g)``, when the
  caller gives the gaps (:attr:`engine.calibration.calibrate.ClosesTable.day_gaps`); read as one
  daily return it would be a 69-day move counted as one day's.
* A GARCH fit with ``alpha`` below ``1e-4`` is *degenerate* (no volatility clustering
  found, typically a short sample: AVAX 2019-20 has 102 returns): the forecast is then
  the EWMA one, and the fit says so (``GarchFit.degenerate``).
* Annualisation is over 365 days (crypto trades every day): ``sqrt(365 * var)``.
* Both models give the *one-day-ahead* forecast, i.e. the variance for the day after
  the last close.
* The EWMA recursion ``v_t = lam * v_{t-1} + (1 - lam) * r_t**2`` starts from the mean
  square of the first ``min(30, n)`` returns.
* GARCH(1,1) ``v_t = omega + alpha * r_{t-1}**2 + beta * v_{t-1}`` is fitted by Gaussian
  maximum likelihood (``scipy.optimize.minimize``, SLSQP) with ``omega > 0``,
  ``alpha, beta >= 0`` and ``alpha + beta <= 1 - 1e-6``, from a few starting points;
  the recursion starts from the sample mean square. Returns are divided by their
  root mean square before fitting (omega is scaled back), which keeps the
  optimiser well conditioned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.signal import lfilter

from engine.errors import InputError

FloatArray = NDArray[np.float64]
DAYS_PER_YEAR = 365.0
EWMA_SEED_RETURNS = 30
GARCH_MIN_CLOSES = 30
_PERSISTENCE_CAP = 1.0 - 1e-6
DEGENERATE_ALPHA = 1e-4
_STARTS = ((0.05, 0.90), (0.10, 0.80), (0.20, 0.60), (0.03, 0.96))


@dataclass(frozen=True)
class GarchFit:
    """A fitted GARCH(1,1) on daily log returns.

    ``omega`` is a daily variance; ``forecast`` the annualised one-day-ahead
    volatility; ``log_likelihood`` the Gaussian log-likelihood at the optimum.
    """

    omega: float
    alpha: float
    beta: float
    forecast: float
    log_likelihood: float
    converged: bool

    @property
    def degenerate(self) -> bool:
        """No clustering found (``alpha < 1e-4``): the fit is a constant variance."""
        return self.alpha < DEGENERATE_ALPHA

    @property
    def persistence(self) -> float:
        """alpha + beta."""
        return self.alpha + self.beta

    @property
    def long_run_vol(self) -> float:
        """Annualised unconditional volatility ``sqrt(365 * omega / (1 - alpha - beta))``."""
        return math.sqrt(DAYS_PER_YEAR * self.omega / (1.0 - self.persistence))


def log_returns(
    closes: Sequence[float],
    min_closes: int = 2,
    field: str = "closes",
    day_gaps: Sequence[int] | None = None,
) -> FloatArray:
    """Daily log returns of ``closes`` (oldest first); every close finite and > 0.

    ``day_gaps[i]``, when given, is the number of days between close ``i`` and ``i + 1``;
    a return over more than one day is scaled to one day by ``1 / sqrt(gap)``.
    """
    c = np.asarray(closes, dtype=np.float64)
    if c.ndim != 1:
        raise InputError(field, "must be a one-dimensional sequence of closes")
    if c.size < min_closes:
        raise InputError(field, f"needs at least {min_closes} closes, got {c.size}")
    bad = np.flatnonzero(~np.isfinite(c) | (c <= 0.0))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"{field}[{i}]", f"a close must be finite and > 0, got {c[i]!r}")
    returns = np.asarray(np.diff(np.log(c)), dtype=np.float64)
    if day_gaps is None:
        return returns
    gaps = np.asarray(day_gaps, dtype=np.float64)
    if gaps.shape != returns.shape or np.any(gaps < 1):
        raise InputError(f"{field}.day_gaps", f"needs {returns.size} gaps of at least one day")
    return np.asarray(returns / np.sqrt(gaps), dtype=np.float64)


def _check_lambda(lam: float) -> None:
    if not 0.0 < lam < 1.0:
        raise InputError("lam", f"EWMA decay must satisfy 0 < lam < 1, got {lam}")


def ewma_variance(returns: FloatArray, lam: float = 0.94) -> float:
    """One-day-ahead EWMA variance of (zero-mean) daily returns."""
    _check_lambda(lam)
    r2 = returns * returns
    seed = float(np.mean(r2[:EWMA_SEED_RETURNS]))
    # v_n = lam**n * seed + (1 - lam) * sum_t lam**(n-1-t) * r_t**2, without a Python loop.
    n = r2.size
    weights = (1.0 - lam) * lam ** np.arange(n - 1, -1, -1, dtype=np.float64)
    return float(lam**n * seed + np.dot(weights, r2))


def ewma_vol(closes: Sequence[float], lam: float = 0.94, day_gaps: Sequence[int] | None = None) -> float:
    """Annualised one-day-ahead EWMA volatility (RiskMetrics, decay ``lam``)."""
    return math.sqrt(DAYS_PER_YEAR * ewma_variance(log_returns(closes, day_gaps=day_gaps), lam))


def _garch_variances(x2: FloatArray, omega: float, alpha: float, beta: float, v0: float) -> FloatArray:
    """Conditional variances v_0..v_n for squared returns x2 (v_n is the forecast)."""
    # v_t = beta * v_{t-1} + (omega + alpha * x2_{t-1}), t = 1..n: a first-order IIR filter.
    drive = omega + alpha * x2
    tail, _ = lfilter([1.0], [1.0, -beta], drive, zi=np.array([beta * v0]))
    return np.concatenate(([v0], np.asarray(tail, dtype=np.float64)))


def _neg_log_likelihood(params: FloatArray, x2: FloatArray, v0: float) -> float:
    omega, alpha, beta = (float(p) for p in params)
    v = _garch_variances(x2, omega, alpha, beta, v0)[:-1]
    if not np.all(np.isfinite(v)) or np.any(v <= 0.0):
        return 1e300
    return float(0.5 * np.sum(np.log(v) + x2 / v))


def garch_fit_returns(returns: FloatArray) -> GarchFit:
    """Fit GARCH(1,1) by maximum likelihood to daily log returns (mean zero)."""
    scale2 = float(np.mean(returns * returns))
    if not scale2 > 0.0:
        raise InputError("closes", "all returns are zero: volatility cannot be fitted")
    x2 = returns * returns / scale2
    v0 = 1.0
    bounds = [(1e-8, 10.0), (0.0, 1.0), (0.0, 1.0)]
    cons = [{"type": "ineq", "fun": lambda p: _PERSISTENCE_CAP - p[1] - p[2]}]
    best = None
    for a0, b0 in _STARTS:
        start = np.array([1.0 - a0 - b0, a0, b0])
        res = minimize(
            _neg_log_likelihood,
            start,
            args=(x2, v0),
            method="SLSQP",
            bounds=bounds,
            constraints=cons,
            options={"maxiter": 300, "ftol": 1e-10},
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    omega_s, alpha, beta = (float(p) for p in best.x)
    alpha, beta = max(alpha, 0.0), max(beta, 0.0)
    if alpha + beta > _PERSISTENCE_CAP:  # tiny constraint slack from the optimiser
        shrink = _PERSISTENCE_CAP / (alpha + beta)
        alpha, beta = alpha * shrink, beta * shrink
    forecast_s = float(_garch_variances(x2, omega_s, alpha, beta, v0)[-1])
    n = returns.size
    loglik = -float(best.fun) - 0.5 * n * (math.log(2.0 * math.pi) + math.log(scale2))
    return GarchFit(
        omega=omega_s * scale2,
        alpha=alpha,
        beta=beta,
        forecast=math.sqrt(DAYS_PER_YEAR * forecast_s * scale2),
        log_likelihood=loglik,
        converged=bool(best.success),
    )


def garch_vol(closes: Sequence[float], day_gaps: Sequence[int] | None = None) -> GarchFit:
    """GARCH(1,1) fitted to the log returns of ``closes`` (at least 30 closes)."""
    return garch_fit_returns(log_returns(closes, min_closes=GARCH_MIN_CLOSES, day_gaps=day_gaps))


def combined_forecast(ewma: float, garch: GarchFit) -> float:
    """The engine's forecast from its two models: the larger of EWMA and GARCH(1,1), or
    EWMA alone when the GARCH fit is degenerate."""
    return ewma if garch.degenerate else max(ewma, garch.forecast)

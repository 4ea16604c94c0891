"""Causal forecast paths: every forecast the engine would have made on each date of a
history, from the returns up to that date only.

Value ``i`` of a path is the forecast made at the close of date ``i`` (NaN while there is
not enough history). The engine's own estimators define the numbers:

* ``realised_path``: ``sqrt(365 * mean of the last 30 squared returns)``.
* ``ewma_path``: :func:`engine.calibration.volatility.ewma_variance` (lambda 0.94) on every prefix, as
  one recursion (equal on every prefix; tested).
* ``garch_path``: the forecast rule (:func:`engine.calibration.volatility.combined_forecast`), GARCH
  refitted by :func:`engine.calibration.volatility.garch_fit_returns` on all returns to date every
  ``refit_days`` (20) and its variance filtered daily with the latest parameters in
  between (monthly re-estimation with a daily variance update, as in production; a daily
  refit over years would take minutes).
* ``apc_forecast``: today's forecast after the anti-procyclicality tools
  (:mod:`engine.calibration.procyclicality`), which need the path because they look back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from engine.calibration.procyclicality import ApcConfig, apply_apc
from engine.calibration.volatility import (
    DAYS_PER_YEAR,
    EWMA_SEED_RETURNS,
    GARCH_MIN_CLOSES,
    GarchFit,
    combined_forecast,
    garch_fit_returns,
    log_returns,
)

FloatArray = NDArray[np.float64]
REALISED_WINDOW = 30
REFIT_DAYS = 20
LAMBDA = 0.94


def realised_path(returns: FloatArray, window: int = REALISED_WINDOW) -> FloatArray:
    """Trailing-``window`` realised volatility at each date (NaN before ``window`` returns)."""
    out = np.full(returns.size + 1, np.nan)
    csum = np.concatenate(([0.0], np.cumsum(returns * returns)))
    if returns.size >= window:
        out[window:] = np.sqrt(DAYS_PER_YEAR * (csum[window:] - csum[:-window]) / window)
    return out


def ewma_path(returns: FloatArray, lam: float = LAMBDA) -> FloatArray:
    """The engine's EWMA volatility on every prefix of at least 30 returns: the recursion
    ``v = lam * v + (1 - lam) * r**2`` from the engine's seed (mean of the first 30 squares)."""
    out = np.full(returns.size + 1, np.nan)
    if returns.size < EWMA_SEED_RETURNS:
        return out
    r2 = returns * returns
    seed = float(np.mean(r2[:EWMA_SEED_RETURNS]))
    v, _ = lfilter([1.0 - lam], [1.0, -lam], r2, zi=np.array([lam * seed]))
    out[1:] = np.sqrt(DAYS_PER_YEAR * np.asarray(v))
    out[1:EWMA_SEED_RETURNS] = np.nan
    return out


def _filter_from(fit: GarchFit, returns: FloatArray, start: int, stop: int, v_start: float) -> FloatArray:
    """Daily GARCH variances ``v`` for dates start..stop-1 (``v`` at a date = the forecast for
    the next day), from ``v_start`` (the variance forecast at date ``start``)."""
    v = np.empty(stop - start)
    v[0] = v_start
    for k in range(1, stop - start):
        r = returns[start + k - 1]
        v[k] = fit.omega + fit.alpha * r * r + fit.beta * v[k - 1]
    return v


def _fit_forecast_variance(fit: GarchFit, returns: FloatArray) -> float:
    """The daily variance forecast of ``fit`` after ``returns`` (from its annualised forecast)."""
    return fit.forecast * fit.forecast / DAYS_PER_YEAR


def garch_path(
    returns: FloatArray, ewma: FloatArray, refit_days: int = REFIT_DAYS
) -> tuple[FloatArray, int, int]:
    """The engine's forecast rule at every date (see the module docstring), the number of
    refits and of degenerate ones."""
    n_dates = returns.size + 1
    out = np.full(n_dates, np.nan)
    first = GARCH_MIN_CLOSES - 1  # the first date with 30 closes behind it
    refits = degenerate = 0
    for start in range(first, n_dates, refit_days):
        stop = min(start + refit_days, n_dates)
        fit = garch_fit_returns(returns[:start])
        refits += 1
        if fit.degenerate:
            degenerate += 1
        v = _filter_from(fit, returns, start, stop, _fit_forecast_variance(fit, returns[:start]))
        garch_vol = np.sqrt(DAYS_PER_YEAR * v)
        for k, date_index in enumerate(range(start, stop)):
            e = ewma[date_index]
            g = GarchFit(
                fit.omega, fit.alpha, fit.beta, float(garch_vol[k]), fit.log_likelihood, fit.converged
            )
            out[date_index] = combined_forecast(e, g) if not math.isnan(e) else g.forecast
    return out, refits, degenerate


def apc_path(garch: FloatArray, returns: FloatArray, apc: ApcConfig) -> FloatArray:
    """``garch`` (a path from :func:`garch_path`) through the APC tools, from its first
    defined value; the tools see the return ending on each date (none on the first)."""
    ending = np.concatenate(([0.0], returns))
    out = np.full_like(garch, np.nan)
    valid = ~np.isnan(garch)
    if valid.any():
        i0 = int(np.argmax(valid))
        out[i0:] = apply_apc(garch[i0:], ending[i0:], apc, DAYS_PER_YEAR)
    return out


def apc_forecast(closes: Sequence[float], apc: ApcConfig, day_gaps: Sequence[int] | None = None) -> float:
    """The forecast of the last close after the APC tools (at least 30 closes)."""
    returns = log_returns(closes, min_closes=GARCH_MIN_CLOSES, day_gaps=day_gaps)
    ewma = ewma_path(returns)
    garch, _, _ = garch_path(returns, ewma)
    return float(apc_path(garch, returns, apc)[-1])

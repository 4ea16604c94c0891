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
* ``charged_path``: the scan volatility charged, ``max(implied, forecast)`` through the
  anti-procyclicality tools (:mod:`engine.calibration.procyclicality`), which need the
  path because they look back.

:mod:`engine.calibration.forecast` takes one asset's value on its last date from these.
"""

from __future__ import annotations

import math

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


def _garch_block(returns: FloatArray, ewma: FloatArray, start: int, stop: int) -> tuple[GarchFit, FloatArray]:
    """The re-estimate made at date ``start`` (on every return up to it) and the forecast
    rule's values for dates start..stop-1, its variance filtered daily in between."""
    fit = garch_fit_returns(returns[:start])
    v = _filter_from(fit, returns, start, stop, _fit_forecast_variance(fit, returns[:start]))
    garch_vol = np.sqrt(DAYS_PER_YEAR * v)
    out = np.empty(stop - start)
    for k, date_index in enumerate(range(start, stop)):
        e = ewma[date_index]
        g = _at(fit, float(garch_vol[k]))
        out[k] = combined_forecast(e, g) if not math.isnan(e) else g.forecast
    return _at(fit, float(garch_vol[-1])), out


def _at(fit: GarchFit, forecast: float) -> GarchFit:
    return GarchFit(fit.omega, fit.alpha, fit.beta, forecast, fit.log_likelihood, fit.converged)


def refit_date(index: int, refit_days: int = REFIT_DAYS) -> int:
    """The date index of the latest GARCH re-estimate at or before date ``index``: every
    ``refit_days`` dates from the first with 30 closes (the 30th, 50th, 70th... close)."""
    first = GARCH_MIN_CLOSES - 1
    if index < first:
        raise ValueError(f"no GARCH fit before date index {first}")
    return first + (index - first) // refit_days * refit_days


def garch_path(
    returns: FloatArray, ewma: FloatArray, refit_days: int = REFIT_DAYS
) -> tuple[FloatArray, int, int]:
    """The engine's forecast rule at every date (see the module docstring), the number of
    refits and of degenerate ones."""
    n_dates = returns.size + 1
    out = np.full(n_dates, np.nan)
    refits = degenerate = 0
    for start in range(GARCH_MIN_CLOSES - 1, n_dates, refit_days):
        stop = min(start + refit_days, n_dates)
        fit, out[start:stop] = _garch_block(returns, ewma, start, stop)
        refits += 1
        degenerate += fit.degenerate
    return out, refits, degenerate


def garch_last(returns: FloatArray, ewma: FloatArray, refit_days: int = REFIT_DAYS) -> tuple[GarchFit, float]:
    """The last date's value of :func:`garch_path` (the same numbers) from one fit: the
    latest re-estimate (its ``forecast`` filtered to the last date) and the rule's value."""
    last = returns.size
    fit, values = _garch_block(returns, ewma, refit_date(last, refit_days), last + 1)
    return fit, float(values[-1])


def charged_path(
    forecast: FloatArray, implied: FloatArray, returns: FloatArray, apc: ApcConfig
) -> FloatArray:
    """The scan volatility charged at every date: ``max(implied, forecast)`` through the APC
    tools (:func:`engine.calibration.procyclicality.apply_apc`), from the first date where
    both are defined; the tools see the return ending on each date (none on the first)."""
    ending = np.concatenate(([np.nan], returns))
    return apply_apc(np.maximum(implied, forecast), ending, apc, DAYS_PER_YEAR)

"""Causal volatility paths and the margin models compared in the backtest.

Every path is indexed like the asset's dates: value ``i`` is the forecast made at the close
of ``dates[i]`` from the returns up to that close only (no look-ahead), NaN while there is
not enough history. The engine's own estimators define the numbers:

* ``realised30``: ``sqrt(365 * mean of the last 30 squared returns)``; also the proxy for
  the implied volatility the data lacks (options are priced with it, and it is the quote's
  ``vol`` of every engine model, so ``sigma_eff = max(implied, forecast)`` as in production).
* ``ewma``: the engine's EWMA (``engine.volatility.ewma_variance``, lambda 0.94), computed
  as one recursion over the path; equal to the engine's value on every prefix (tested).
* ``garch``: the engine's forecast rule (``combined_forecast``: the larger of EWMA and
  GARCH(1,1), EWMA alone for a degenerate fit). GARCH is refitted by the engine's
  ``garch_fit_returns`` on all returns to date every ``refit_days`` (20) days, and its
  variance is filtered daily with the latest parameters in between: re-estimating
  parameters monthly and updating the variance daily is the usual production practice,
  and a daily refit over five years would take minutes.

Models (``MODELS``): ``fixed`` (fixed-fraction initial margin, dYdX/Drift-style tiers, no
volatility at all), ``trailing30``, ``ewma``, ``garch`` (today's rule) and ``garch_apc``
(``garch`` through the anti-procyclicality tools of ``engine.procyclicality``, by default
a 10% daily speed limit) and ``garch_emir`` (``garch`` through an EMIR-compliant set: the
long look-back floor and the same speed limit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from backtest.history import AssetHistory
from engine.procyclicality import EMIR_FLOOR, ApcConfig, apply_apc
from engine.volatility import (
    DAYS_PER_YEAR,
    EWMA_SEED_RETURNS,
    GARCH_MIN_CLOSES,
    GarchFit,
    combined_forecast,
    garch_fit_returns,
)

FloatArray = NDArray[np.float64]
MODELS = ("fixed", "trailing30", "ewma", "garch", "garch_apc", "garch_emir")
ENGINE_MODELS = MODELS[1:]
REALISED_WINDOW = 30
REFIT_DAYS = 20
LAMBDA = 0.94


@dataclass(frozen=True)
class VolPaths:
    """Per-asset forecasts, one value per date of the asset (annualised)."""

    realised30: FloatArray
    ewma: FloatArray
    garch: FloatArray
    garch_apc: FloatArray
    garch_emir: FloatArray
    degenerate_fits: int  # GARCH refits that fell back to EWMA
    refits: int

    def for_model(self, model: str) -> FloatArray | None:
        """The forecast a model hands the row builder (None: the implied proxy alone)."""
        paths = {
            "ewma": self.ewma,
            "garch": self.garch,
            "garch_apc": self.garch_apc,
            "garch_emir": self.garch_emir,
        }
        return None if model == "trailing30" else paths[model]


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


def vol_paths(history: AssetHistory, apc: ApcConfig, refit_days: int = REFIT_DAYS) -> VolPaths:
    """Every model's forecast path for one asset."""
    r = history.returns
    realised = realised_path(r)
    ewma = ewma_path(r)
    garch, refits, degenerate = garch_path(r, ewma, refit_days)
    # the APC tools see the return ending on each date (none on the first date)
    ending = np.concatenate(([0.0], r))
    valid = ~np.isnan(garch)
    adjusted = {name: np.full_like(garch, np.nan) for name in ("apc", "emir")}
    if valid.any():
        i0 = int(np.argmax(valid))
        for name, config in (("apc", apc), ("emir", EMIR_FLOOR)):
            adjusted[name][i0:] = apply_apc(garch[i0:], ending[i0:], config, DAYS_PER_YEAR)
    return VolPaths(realised, ewma, garch, adjusted["apc"], adjusted["emir"], degenerate, refits)

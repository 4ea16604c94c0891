"""Anti-procyclicality (APC) tools on the charged scan volatility (EMIR RTS 153/2013 art. 28).

They are governed options of the *row builder*: they turn one asset's daily path of scan
volatilities ``x_t = sigma_eff_t = max(implied_t, forecast_t)`` into the volatility the
scan range is built from (``RowConfig.scan_vol``), so the charged margin rises less
steeply into a crash and does not collapse in calm times. The circuit never sees them: it
proves the margin of whatever rows the market holds.

Each tool works causally (day t uses days up to t only) on ``x[0..n-1]`` (annualised; NaN
before the path starts) and ``returns[t]``, the daily return ending on day t (NaN where
there is none), in this order:

* **stressed weight** (art. 28(1)(b)): ``sqrt((1 - w) x_t**2 + w s_t**2)``, ``s_t`` the
  highest 30-day realised volatility of the last ten years (3,650 returns) up to day t,
  the stressed observations; the regulation asks ``w >= 0.25``.
* **floor** (art. 28(1)(c)): at least the volatility of the returns of the last ten years
  up to day t, ``sqrt(365 * mean r**2)``.
* **buffer** (art. 28(1)(a)): ``(1 + b) x_t`` in normal times (the regulation asks
  ``b >= 0.25``); while the asset is stressed (``x_t`` above ``stress_ratio`` times its
  trailing one-year median) the buffer is released: the value stays where it was,
  ``clamp(previous, x_t, (1 + b) x_t)``, so a rise of ``x`` is absorbed until the buffer
  is used up, and the value never goes below ``x_t``.
* **speed limit**: the value may rise by at most ``speed_limit`` (a fraction) from one
  day to the next; falls are not limited.

Where the history holds less than ten years, the look-back is all of it: the length
actually used is :func:`engine.calibration.apc.lookback_years_used`, which the
calibration and the backtest's figures report.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.calibration.apc import LOOKBACK_RETURNS, ApcConfig
from engine.errors import InputError

FloatArray = NDArray[np.float64]
STRESS_WINDOW = 30
MEDIAN_WINDOW = 365

__all__ = ["ApcConfig", "apply_apc", "long_run_vol", "stressed_vol"]


def _trailing_sums(x: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Sum of the non-NaN values among the last ``window`` entries up to each index, and
    how many there were."""
    valid = ~np.isnan(x)
    csum = np.concatenate(([0.0], np.cumsum(np.where(valid, x, 0.0))))
    ccount = np.concatenate(([0], np.cumsum(valid)))
    hi = np.arange(1, x.size + 1)
    lo = np.maximum(hi - window, 0)
    return csum[hi] - csum[lo], (ccount[hi] - ccount[lo]).astype(np.float64)


def long_run_vol(
    returns: FloatArray, days_per_year: float = 365.0, window: int = LOOKBACK_RETURNS
) -> FloatArray:
    """Volatility of the last ``window`` returns up to each day (NaN before the first)."""
    total, count = _trailing_sums(returns * returns, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.sqrt(days_per_year * total / np.maximum(count, 1.0)), np.nan)


def stressed_vol(
    returns: FloatArray, days_per_year: float = 365.0, window: int = LOOKBACK_RETURNS
) -> FloatArray:
    """Highest trailing-30-day realised volatility of the last ``window`` days up to each
    day (NaN until 30 returns)."""
    total, count = _trailing_sums(returns * returns, STRESS_WINDOW)
    realised = np.where(count == STRESS_WINDOW, np.sqrt(days_per_year * total / STRESS_WINDOW), np.nan)
    out = np.full(returns.size, np.nan)
    for t in range(returns.size):
        part = realised[max(0, t - window + 1) : t + 1]
        if not np.all(np.isnan(part)):
            out[t] = np.nanmax(part)
    return out


def _trailing_median(x: FloatArray, window: int) -> FloatArray:
    out = np.empty_like(x)
    for t in range(x.size):
        out[t] = np.median(x[max(0, t - window + 1) : t + 1])
    return out


def _buffered(x: FloatArray, buffer: float, stress_ratio: float) -> FloatArray:
    stressed = x > stress_ratio * _trailing_median(x, MEDIAN_WINDOW)
    out = x * (1.0 + buffer)
    for t in range(1, x.size):
        if stressed[t]:
            out[t] = min(max(out[t - 1], x[t]), x[t] * (1.0 + buffer))
    return out


def _check(sigma: FloatArray, returns: FloatArray) -> int:
    if sigma.shape != returns.shape or sigma.ndim != 1:
        raise InputError("apc", f"needs one return per value, got {returns.size} and {sigma.size}")
    defined = ~np.isnan(sigma)
    if not defined.any():
        return sigma.size
    start = int(np.argmax(defined))
    if not defined[start:].all():
        raise InputError("apc", "the path may be undefined (NaN) only before its first value")
    return start


def apply_apc(
    sigma: FloatArray, returns: FloatArray, config: ApcConfig, days_per_year: float = 365.0
) -> FloatArray:
    """The path of ``sigma`` (NaN before its first value) through the tools of ``config``;
    ``returns[t]`` is the daily return ending on day t (NaN where none)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    returns = np.asarray(returns, dtype=np.float64)
    start = _check(sigma, returns)
    out = np.full_like(sigma, np.nan)
    if start == sigma.size:
        return out
    x = sigma[start:].copy()
    if config.stress_weight is not None:
        s = stressed_vol(returns, days_per_year)[start:]
        w = config.stress_weight
        x = np.where(np.isnan(s), x, np.sqrt((1.0 - w) * x * x + w * s * s))
    if config.floor:
        x = np.fmax(x, long_run_vol(returns, days_per_year)[start:])
    if config.buffer is not None:
        x = _buffered(x, config.buffer, config.stress_ratio)
    if config.speed_limit is not None:
        for t in range(1, x.size):
            x[t] = min(x[t], x[t - 1] * (1.0 + config.speed_limit))
    out[start:] = x
    return out

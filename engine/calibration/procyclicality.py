"""Anti-procyclicality (APC) tools for the scan-range volatility (EMIR RTS 153/2013 art. 28).

These are governed options of the *row builder*: they turn a path of volatility forecasts
into the volatility the row builder is given (``RowConfig.forecast``), so the scan range
rises less steeply into a crash and does not collapse in calm times. The circuit never
sees them: it proves the margin of whatever rows the market holds.

Each tool works on one asset's daily path ``sigma[0..n-1]`` (annualised), causally (day t
uses days up to t only):

* **stressed weight** (art. 28(1)(b)): ``sqrt((1 - w) sigma_t**2 + w s_t**2)`` where ``s_t``
  is the highest 30-day realised volatility seen up to day t (the stressed observation),
  ``w >= 0.25``.
* **floor** (art. 28(1)(c)): at least the volatility of every return up to day t (the
  long look-back; the regulation names ten years, the data here has at most five).
* **buffer** (art. 28(1)(a)): ``(1 + b) sigma_t`` in normal times, ``b >= 0.25``; released
  (``b = 0``) while the asset is stressed, i.e. while ``sigma_t`` is above ``stress_ratio``
  times its trailing one-year median.
* **speed limit**: the result may rise by at most ``speed_limit`` (a fraction) from one
  day to the next; falls are not limited.

Tools apply in that order; each is off when its setting is None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.errors import InputError

FloatArray = NDArray[np.float64]
STRESS_WINDOW = 30
MEDIAN_WINDOW = 365


@dataclass(frozen=True)
class ApcConfig:
    """Which tools apply (see the module docstring). The default is the one the backtest
    found to meet its targets at the least cost: a speed limit of 10% a day alone
    (docs/backtest.md has the comparison); :data:`EMIR_FLOOR` adds the regulation's floor."""

    stress_weight: float | None = None
    floor: bool = False
    buffer: float | None = None
    stress_ratio: float = 1.5
    speed_limit: float | None = 0.10

    def __post_init__(self) -> None:
        if self.stress_weight is not None and not 0.0 <= self.stress_weight <= 1.0:
            raise InputError("apc.stress_weight", f"must be in [0, 1], got {self.stress_weight}")
        if self.buffer is not None and not 0.0 <= self.buffer <= 1.0:
            raise InputError("apc.buffer", f"must be in [0, 1], got {self.buffer}")
        if not self.stress_ratio > 1.0:
            raise InputError("apc.stress_ratio", f"must be > 1, got {self.stress_ratio}")
        if self.speed_limit is not None and not self.speed_limit > 0.0:
            raise InputError("apc.speed_limit", f"must be > 0, got {self.speed_limit}")


#: An EMIR-compliant set: the floor of art. 28(1)(c) plus the 10% speed limit.
EMIR_FLOOR = ApcConfig(floor=True, speed_limit=0.10)


def _running_max_realised(returns: FloatArray, days_per_year: float) -> FloatArray:
    """Highest trailing-30-day realised volatility up to each day (NaN before 30 returns)."""
    r2 = returns * returns
    csum = np.concatenate(([0.0], np.cumsum(r2)))
    out = np.full(returns.size, np.nan)
    if returns.size >= STRESS_WINDOW:
        window = (csum[STRESS_WINDOW:] - csum[:-STRESS_WINDOW]) / STRESS_WINDOW
        out[STRESS_WINDOW - 1 :] = np.fmax.accumulate(np.sqrt(days_per_year * window))
    return out


def _trailing_median(x: FloatArray, window: int) -> FloatArray:
    out = np.empty_like(x)
    for t in range(x.size):
        out[t] = np.median(x[max(0, t - window + 1) : t + 1])
    return out


def apply_apc(
    sigma: FloatArray, returns: FloatArray, config: ApcConfig, days_per_year: float = 365.0
) -> FloatArray:
    """The APC-adjusted path of ``sigma``; ``returns[t]`` is the daily return ending on day t
    (the one the forecast ``sigma[t]`` has already seen)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    returns = np.asarray(returns, dtype=np.float64)
    if sigma.shape != returns.shape:
        raise InputError("apc", f"needs one return per forecast, got {returns.size} and {sigma.size}")
    out = sigma.copy()
    if config.stress_weight is not None:
        stressed = _running_max_realised(returns, days_per_year)
        w = config.stress_weight
        blended = np.sqrt((1.0 - w) * out * out + w * stressed * stressed)
        out = np.where(np.isnan(stressed), out, blended)
    if config.floor:
        long_run = np.sqrt(days_per_year * np.cumsum(returns * returns) / np.arange(1, returns.size + 1))
        out = np.maximum(out, long_run)
    if config.buffer is not None:
        median = _trailing_median(sigma, MEDIAN_WINDOW)
        stressed_now = sigma > config.stress_ratio * median
        out = np.where(stressed_now, out, out * (1.0 + config.buffer))
    if config.speed_limit is not None:
        for t in range(1, out.size):
            out[t] = min(out[t], out[t - 1] * (1.0 + config.speed_limit))
    return out

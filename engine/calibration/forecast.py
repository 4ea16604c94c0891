"""One asset's volatility forecast from its own history: the one function behind
``market build --history``, ``calibrate``, a quote's own ``history`` and the backtest.

The forecast of the last close is the value on that date of the engine's causal path
(:mod:`engine.calibration.volatility_paths`): the larger of the EWMA (0.94) and the
GARCH(1,1) volatility, GARCH re-estimated on every return to date on the 30th close and
every 20 closes after it and filtered daily in between (EWMA alone for a degenerate fit).
The backtest reads the same path on every date, so the forecast a market gets from its
history on a day is the one the backtest tested that day.

With anti-procyclicality tools, the charged scan volatility is also computed: the path of
``max(implied, forecast)`` through the tools (:func:`engine.calibration.volatility_paths.charged_path`),
the past implied volatilities stood in for by the 30-day realised volatility (the proxy the
backtest uses) and the last date's by the quote's own implied volatility.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.calibration.apc import ApcConfig, lookback_years_used
from engine.calibration.volatility import GARCH_MIN_CLOSES, GarchFit, log_returns
from engine.calibration.volatility_paths import (
    REFIT_DAYS,
    charged_path,
    ewma_path,
    garch_last,
    garch_path,
    realised_path,
)


@dataclass(frozen=True)
class AssetForecast:
    """An asset's forecast at its last close.

    ``garch`` is the latest re-estimate, its ``forecast`` filtered to the last close;
    ``charged`` the scan volatility after the tools (None without tools or without an
    implied volatility); ``lookback_years`` how much of the tools' ten-year look-back the
    history holds (less than 10 where it is shorter)."""

    n_closes: int
    ewma: float
    garch: GarchFit
    forecast: float
    charged: float | None
    lookback_years: float


def asset_forecast(
    closes: Sequence[float],
    day_gaps: Sequence[int] | None = None,
    apc: ApcConfig | None = None,
    implied: float | None = None,
    field: str = "closes",
) -> AssetForecast:
    """The forecast at the last of ``closes`` (the asset's own, oldest first, at least 30;
    ``day_gaps`` scales returns over gaps to one day), and with ``apc`` and ``implied`` (the
    quote's volatility that day) the charged scan volatility."""
    returns = log_returns(closes, min_closes=GARCH_MIN_CLOSES, field=field, day_gaps=day_gaps)
    ewma = ewma_path(returns)
    charged = None
    if apc is None or implied is None:
        fit, forecast = garch_last(returns, ewma, REFIT_DAYS)
    else:
        path, _, _ = garch_path(returns, ewma, REFIT_DAYS)
        fit, forecast = garch_last(returns, ewma, REFIT_DAYS)
        proxy = realised_path(returns)
        proxy[-1] = implied
        charged = float(charged_path(path, proxy, returns, apc)[-1])
    e = float(ewma[-1])
    return AssetForecast(
        n_closes=returns.size + 1,
        ewma=e if not np.isnan(e) else float("nan"),
        garch=fit,
        forecast=forecast,
        charged=charged,
        lookback_years=lookback_years_used(returns.size),
    )


def forecast_vol(closes: Sequence[float], day_gaps: Sequence[int] | None = None) -> float:
    """The engine's volatility forecast at the last close (:func:`asset_forecast`)."""
    return asset_forecast(closes, day_gaps).forecast

"""Forecast skill of the volatility models (issue 30's first question): how well each
model's charged volatility, made at a close, forecasts the next day's return.

For asset ``a`` and close ``i`` the model's charged annualised volatility ``s_i`` (the
proxy alone for ``trailing30``, ``max(proxy, forecast)`` for ``ewma`` and ``garch``, the
APC-charged path for ``garch_apc`` and ``garch_emir``: what the scan range uses) gives
the daily variance forecast ``h = s_i**2 / 365`` of ``r``, the log return ending on close
``i + 1``. Losses, pooled over the assets and days, lower better:

* ``qlike = ln h + r**2 / h`` (Patton's robust loss up to a constant);
* ``mse = (r**2 - h)**2`` (daily variance units, reported x 1e6).

A breach is a day with ``|r| > z * sqrt(h)`` (``z`` the params' scan multiple). A breach
is *beyond every forecast* when ``|r|`` exceeded ``z`` times every model's forecast
made the close before: ``beyond_share`` is the share of a model's breaches no model
foresaw. Each figure is given over all days and over the crash windows' days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backtest.stats import CRASHES
from backtest.walk import Walk

FloatArray = NDArray[np.float64]
SKILL_MODELS = ("trailing30", "ewma", "garch", "garch_apc", "garch_emir")


def charged(walk: Walk, asset: str, model: str) -> FloatArray:
    p = walk.paths[asset]
    scan = p.scan_vol_for(model)
    if scan is not None:
        return np.asarray(scan, dtype=np.float64)
    forecast = p.for_model(model)
    return p.realised30 if forecast is None else np.maximum(p.realised30, forecast)


def forecast_skill(walk: Walk, z: float, models: Sequence[str] = SKILL_MODELS) -> dict[str, Any]:
    r_all: list[FloatArray] = []
    h_all: dict[str, list[FloatArray]] = {m: [] for m in models}
    crash_all: list[NDArray[np.bool_]] = []
    for a in walk.asset_order:
        h = walk.history[a]
        dates = h.dates[1:]  # returns[i] ends on dates[i + 1]
        forecasts = {m: charged(walk, a, m)[:-1] for m in models}
        ok = np.isfinite(h.returns)
        for f in forecasts.values():
            ok &= np.isfinite(f) & (f > 0)
        r_all.append(h.returns[ok])
        for m in models:
            h_all[m].append((forecasts[m][ok] ** 2) / 365.0)
        crash_all.append(np.array([any(x <= d <= y for x, y in CRASHES.values()) for d in dates])[ok])
    r = np.concatenate(r_all)
    crash = np.concatenate(crash_all)
    var = {m: np.concatenate(h_all[m]) for m in models}
    bound_all = np.max([z * np.sqrt(v) for v in var.values()], axis=0)
    beyond = np.abs(r) > bound_all
    out: dict[str, Any] = {"z": z, "days": int(r.size), "crash_days": int(crash.sum()), "models": {}}
    for m in models:
        v = var[m]
        qlike = np.log(v) + r**2 / v
        mse = (r**2 - v) ** 2 * 1e6
        breach = np.abs(r) > z * np.sqrt(v)
        row: dict[str, Any] = {}
        for label, keep in (("all", np.ones_like(crash)), ("crash", crash)):
            b = breach & keep
            row[label] = {
                "qlike": float(qlike[keep].mean()) if keep.any() else math.nan,
                "mse_x1e6": float(mse[keep].mean()) if keep.any() else math.nan,
                "breaches": int(b.sum()),
                "breach_rate": float(b.sum() / max(1, keep.sum())),
                "beyond_share": float((b & beyond).sum() / b.sum()) if b.any() else 0.0,
            }
        out["models"][m] = row
    return out

"""Daily closes per asset for the backtest, each asset on its own dates.

The engine's reader (:func:`engine.calibration.calibrate.load_closes_table`) checks every value; it
is run once per asset so an asset that starts later (SOL in 2020) or has a gap (AVAX: 69
days missing in 2020) does not cut the other assets' history. A return over a gap is
scaled to one day (``engine.calibration.volatility``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from engine.calibration.calibrate import load_closes_table
from engine.calibration.volatility import log_returns
from engine.errors import InputError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class AssetHistory:
    """One asset's closes on its own dates, and the daily returns ending on each date
    (``returns[i]`` ends on ``dates[i + 1]``, scaled to one day over a gap)."""

    name: str
    dates: tuple[dt.date, ...]
    closes: FloatArray
    returns: FloatArray
    gaps: tuple[tuple[dt.date, dt.date], ...]  # (last close before, first close after) per gap

    def index(self) -> dict[dt.date, int]:
        return {d: i for i, d in enumerate(self.dates)}


def load_history(path: str | Path, assets: Sequence[str], min_closes: int = 3) -> dict[str, AssetHistory]:
    """The closes of ``assets`` from the CSV (``date,<asset>,...``), validated by the engine."""
    if not assets:
        raise InputError("assets", "name at least one asset")
    out: dict[str, AssetHistory] = {}
    for name in assets:
        table = load_closes_table(path, assets=[name])
        closes = np.asarray(table.closes[name], dtype=np.float64)
        if closes.size < min_closes:
            raise InputError(
                f"{path}.{name}", f"needs at least {min_closes} closes for a backtest, got {closes.size}"
            )
        gaps = table.day_gaps
        returns = log_returns(table.closes[name], field=f"{path}.{name}", day_gaps=gaps)
        out[name] = AssetHistory(
            name=name,
            dates=table.dates,
            closes=closes,
            returns=returns,
            gaps=tuple((a, b) for a, b, g in zip(table.dates, table.dates[1:], gaps, strict=False) if g > 1),
        )
    return out

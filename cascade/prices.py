"""Price paths of a cascade run and the price-impact laws.

* A crash path: the daily closes of a window (``backtest.stats.CRASHES``) interpolated
  into ``steps_per_day`` intraday steps on a geometric bridge: between two closes the log
  price moves on a straight line, plus (``bridge_vol`` > 0) a Brownian bridge pinned at
  both closes whose daily standard deviation is ``bridge_vol`` times the asset's trailing
  30-day daily volatility (seeded).
* A hypothetical shock: synthetic daily closes appended after the last real close (a joint
  move of ``shock`` spread over ``shock_days`` days, then two flat days), so the models'
  forecasts see the shock's closes as they would see real ones.
* Impact: the net quote notional ``Q`` sold (negative) or bought into an asset's book of
  depth ``D`` moves its log price by ``-Y * sigma_day * sign(Q) * sqrt(|Q| / D)``
  (square-root law) or ``lambda * Q / D`` (linear law); the log impact decays with a
  half-life.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from backtest.history import AssetHistory
from engine.errors import InputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
LAWS = ("sqrt", "linear")
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class PricePath:
    """The exogenous path of one window: ``spots[k, a]`` at step ``k`` (``steps + 1`` rows),
    and ``info[k]``, the index in ``dates`` of the last close a model may use at step ``k``
    (the close before the step's day: no look-ahead)."""

    window: str
    assets: tuple[str, ...]
    dates: tuple[dt.date, ...]  # the window's closes, first to last
    steps_per_day: int
    spots: FloatArray  # (steps + 1, A)
    info: IntArray  # (steps + 1,)

    @property
    def steps(self) -> int:
        return int(self.spots.shape[0]) - 1

    @property
    def step_seconds(self) -> float:
        return 86_400.0 / self.steps_per_day


def crash_path(
    history: dict[str, AssetHistory],
    assets: tuple[str, ...],
    window: str,
    first: dt.date,
    last: dt.date,
    steps_per_day: int,
    bridge_vol: float = 0.0,
    seed: int = 0,
) -> PricePath:
    """The window's closes of ``assets`` (dates on which every one has a close) on the bridge."""
    if steps_per_day < 1:
        raise InputError("steps_per_day", f"must be >= 1, got {steps_per_day}")
    indexes = {a: history[a].index() for a in assets}
    dates = tuple(
        d for d in sorted(indexes[assets[0]]) if first <= d <= last and all(d in indexes[a] for a in assets)
    )
    if len(dates) < 2:
        raise InputError("window", f"{window}: fewer than two common closes between {first} and {last}")
    closes = np.array([[history[a].closes[indexes[a][d]] for a in assets] for d in dates], dtype=np.float64)
    logs = np.log(closes)
    n_days, n_assets = logs.shape[0] - 1, logs.shape[1]
    frac = np.arange(1, steps_per_day + 1, dtype=np.float64) / steps_per_day  # (S,)
    path = logs[:-1, None, :] + frac[None, :, None] * (logs[1:] - logs[:-1])[:, None, :]  # (days, S, A)
    if bridge_vol > 0.0:
        rng = np.random.default_rng(seed)
        sigma = _daily_vol(history, assets, dates) * bridge_vol  # (days, A)
        steps = rng.standard_normal((n_days, steps_per_day, n_assets)) * np.sqrt(1.0 / steps_per_day)
        walk = np.cumsum(steps, axis=1)
        bridge = walk - frac[None, :, None] * walk[:, -1:, :]  # pinned at both closes
        path = path + sigma[:, None, :] * bridge
    spots = np.exp(np.concatenate((logs[:1], path.reshape(-1, n_assets)), axis=0))
    info = np.concatenate(([0], np.repeat(np.arange(n_days), steps_per_day))).astype(np.int64)
    return PricePath(window, assets, dates, steps_per_day, spots, info)


def _daily_vol(
    history: dict[str, AssetHistory], assets: tuple[str, ...], dates: tuple[dt.date, ...]
) -> FloatArray:
    """Trailing 30-day standard deviation of daily log returns before each day of the window."""
    out = np.zeros((len(dates) - 1, len(assets)))
    for a, name in enumerate(assets):
        h = history[name]
        index = h.index()
        for j, d in enumerate(dates[:-1]):
            i = index[d]
            r = h.returns[max(0, i - 30) : i]
            out[j, a] = float(np.std(r)) if r.size > 1 else 0.0
    return out


def with_shock(
    history: dict[str, AssetHistory], shock: float, shock_days: int, flat_days: int = 2
) -> tuple[dict[str, AssetHistory], dt.date, dt.date]:
    """``history`` with synthetic closes after its last common date: a joint log move of
    ``ln(1 + shock)`` spread evenly over ``shock_days`` days, then ``flat_days`` unchanged
    days. Returns the histories and the hypothetical window's first and last day."""
    if not -0.95 <= shock <= 1.0 or shock == 0.0:
        raise InputError("shock", f"must be a non-zero fraction in [-0.95, 1], got {shock}")
    if not 1 <= shock_days <= 30:
        raise InputError("shock_days", f"must be in 1..30, got {shock_days}")
    base = min(h.dates[-1] for h in history.values())
    step = math.log1p(shock) / shock_days
    moves = [step] * shock_days + [0.0] * flat_days
    new_dates = tuple(base + dt.timedelta(days=i + 1) for i in range(len(moves)))
    out: dict[str, AssetHistory] = {}
    for name, h in history.items():
        i = h.index().get(base)
        if i is None:
            continue
        dates = (*h.dates[: i + 1], *new_dates)
        closes = np.concatenate((h.closes[: i + 1], h.closes[i] * np.exp(np.cumsum(moves))))
        returns = np.concatenate((h.returns[:i], np.asarray(moves)))
        out[name] = AssetHistory(name, dates, closes, returns, h.gaps)
    return out, base, new_dates[-1]


# ---------------------------------------------------------------------- impact


def log_impact(
    flow: FloatArray, depth: FloatArray, sigma_day: FloatArray, law: str, coefficient: FloatArray
) -> FloatArray:
    """The log price move of each asset from the net notional ``flow`` traded into its book
    (negative: sold). ``coefficient`` is ``Y`` (square-root law) or ``lambda`` (linear)."""
    share = flow / depth
    if law == "sqrt":
        return np.asarray(coefficient * sigma_day * np.sign(share) * np.sqrt(np.abs(share)), dtype=np.float64)
    if law == "linear":
        return np.asarray(coefficient * share, dtype=np.float64)
    raise InputError("impact_law", f"must be one of {', '.join(LAWS)}, got {law!r}")


def decay_factor(step_seconds: float, half_life_hours: float) -> float:
    """The share of the log impact left after one step."""
    return 0.5 ** (step_seconds / (3600.0 * half_life_hours))


def interpolate(now: FloatArray, later: FloatArray, frac: FloatArray) -> FloatArray:
    """Spots at a share ``frac`` (per row) of the way from ``now`` to ``later``, geometrically:
    rows of ``frac``, columns of the assets."""
    return np.asarray(now[None, :] * (later / now)[None, :] ** frac[:, None], dtype=np.float64)

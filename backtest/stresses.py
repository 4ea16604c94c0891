"""Hypothetical stresses beyond history, each portfolio revalued by the engine's row
builder (``engine.market_builder.build_rows``, the pricer the walk uses) on every
margined day, and the stressed loss set against that day's IM.

* ``joint_-50%``: every asset's spot halves at once (options keep their vol).
* ``joint_+50%``: every asset's spot rises by half at once: the short books' crash (a
  squeeze), which the -50% move turns into a gain.
* ``corr_0`` and ``corr_-0.5`` (portfolios of two assets or more: the pair, the basket):
  the hedge fails. One asset, the leader, moves by its scan range ``m_a`` (the default
  model's, at the portfolio's liquidity horizon) up or down; every other asset ``b``
  moves by ``rho* x m_b`` in the leader's direction, ``rho*`` the stressed correlation
  (0: the others stand still; -0.5: they move half their range the other way). The
  stressed loss is the worst over the leaders and both directions.
* ``vol_x3``: spots unchanged, every option revalued with three times its implied
  (proxy) volatility; a portfolio without options loses nothing.

The loss is the portfolio's value on the day minus its stressed value (quote units).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from backtest.portfolios import Portfolio
from backtest.walk import MarketDay, Series, Walk, loss_over
from engine.market_builder import asset_scan_ranges, build_rows
from engine.model import AssetQuote, InstrumentSpec

JOINT_MOVES = {"joint_-50%": -0.5, "joint_+50%": 0.5}
STRESSED_CORRELATIONS = (0.0, -0.5)
VOL_FACTOR = 3.0
STRESSES = ("joint_-50%", "joint_+50%", "corr_0", "corr_-0.5", "vol_x3")


def _marks(
    walk: Walk, day: MarketDay, quotes: Sequence[AssetQuote], specs: Sequence[InstrumentSpec]
) -> dict[int, int]:
    config = walk.row_config(day, "trailing30", 1)
    rows = build_rows(walk.profile, list(quotes), list(specs), config, day.t)
    return {iid: row.mark for iid, row in rows.items()}


def _moved(day: MarketDay, moves: Mapping[str, float]) -> list[AssetQuote]:
    """The day's quotes with each named asset's spot times ``1 + move``."""
    return [dataclasses.replace(q, spot=q.spot * (1.0 + moves.get(q.name, 0.0))) for q in day.quotes]


def _loss(
    walk: Walk, day: MarketDay, portfolio: Portfolio, now: Mapping[int, int], later: Mapping[int, int]
) -> float:
    return loss_over(walk.account(day, portfolio), now, later)


def day_stresses(
    walk: Walk, day: MarketDay, portfolios: Sequence[Portfolio], model: str, horizon: Mapping[str, int]
) -> dict[str, dict[str, float | None]]:
    """Stressed loss of every portfolio on one day: ``{portfolio: {stress: loss}}``
    (None where a stress does not apply: the correlation ones on a single asset)."""
    specs = list(day.specs.values())
    now = _marks(walk, day, day.quotes, specs)
    joint = {
        name: _marks(walk, day, _moved(day, {a: move for a in day.assets}), specs)
        for name, move in JOINT_MOVES.items()
    }
    vol_specs = [dataclasses.replace(s, vol=VOL_FACTOR * s.vol) if s.vol is not None else s for s in specs]
    vol_quotes = [dataclasses.replace(q, vol=VOL_FACTOR * q.vol) for q in day.quotes]
    vol = _marks(walk, day, vol_quotes, vol_specs)
    out: dict[str, dict[str, float | None]] = {}
    for p in portfolios:
        res: dict[str, float | None] = {
            name: _loss(walk, day, p, now, marks) for name, marks in joint.items()
        }
        res["vol_x3"] = _loss(walk, day, p, now, vol)
        assets = p.assets
        ranges = dict(
            zip(
                day.assets,
                asset_scan_ranges(day.quotes, walk.row_config(day, model, horizon[p.name])),
                strict=True,
            )
        )
        for rho in STRESSED_CORRELATIONS:
            key = f"corr_{rho:g}"
            if len(assets) < 2:
                res[key] = None
                continue
            worst = -np.inf
            for leader in assets:
                for sign in (1.0, -1.0):
                    moves = {b: sign * (ranges[b] if b == leader else rho * ranges[b]) for b in assets}
                    worst = max(worst, _loss(walk, day, p, now, _marks(walk, day, _moved(day, moves), specs)))
            res[key] = float(worst)
        out[p.name] = res
    return out


@dataclass(frozen=True)
class StressResult:
    """One stress on one portfolio over the stressed days."""

    days: int
    worst_loss: float
    worst_date: dt.date
    worst_ratio: float  # stressed loss / IM on the worst day (by ratio)
    worst_ratio_date: dt.date
    mean_ratio: float

    def as_dict(self) -> dict[str, object]:
        return {
            "days": self.days,
            "worst_loss": self.worst_loss,
            "worst_loss_date": self.worst_date.isoformat(),
            "worst_loss_over_im": self.worst_ratio,
            "worst_loss_over_im_date": self.worst_ratio_date.isoformat(),
            "mean_loss_over_im": self.mean_ratio,
        }


def run_stresses(
    walk: Walk,
    series: Mapping[tuple[str, str], Series],
    model: str,
    horizon: Mapping[str, int],
    every: int = 1,
) -> dict[str, dict[str, StressResult | None]]:
    """Every stress of every portfolio on every ``every``-th day the model margined it at
    its horizon, against that day's IM: ``{portfolio: {stress: result}}``."""
    per: dict[str, dict[str, list[tuple[dt.date, float, float]]]] = {
        p.name: {s: [] for s in STRESSES} for p in walk.file.portfolios
    }
    im_of: dict[str, dict[dt.date, float]] = {}
    for p in walk.file.portfolios:
        s = series.get((model, p.name))
        h = horizon[p.name]
        im_of[p.name] = dict(zip(s.dates, s.im[h], strict=True)) if s is not None and h in s.im else {}
    dates = sorted({d for m in im_of.values() for d in m})[::every]
    for t in dates:
        todo = [p for p in walk.file.portfolios if t in im_of[p.name]]
        day = MarketDay(walk, t, walk.active(t))
        for name, losses in day_stresses(walk, day, todo, model, horizon).items():
            im = im_of[name][t]
            for stress, loss in losses.items():
                if loss is not None and im > 0:
                    per[name][stress].append((t, loss, loss / im))
    out: dict[str, dict[str, StressResult | None]] = {}
    for name, by_stress in per.items():
        out[name] = {}
        for stress, rows in by_stress.items():
            if not rows:
                out[name][stress] = None
                continue
            worst = max(rows, key=lambda r: r[1])
            worst_ratio = max(rows, key=lambda r: r[2])
            out[name][stress] = StressResult(
                len(rows),
                worst[1],
                worst[0],
                worst_ratio[2],
                worst_ratio[0],
                float(np.mean([r[2] for r in rows])),
            )
    return out

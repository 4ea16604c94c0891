"""The venue's margin at one step: the engine's market for a day's information and the
step's spots, and each model's IM and MM of every account.

The day's information is the backtest's (``backtest.walk``): a ``MarketDay`` of the walk at the
close before the step (spots replaced by the step's), the model's forecast and charged
scan volatility (``Walk.row_config``), the day's EWMA correlation and ``kappa``
(``Walk.risk_params``). The instruments are a spot (id ``2a``) and a perp (id ``2a + 1``)
on every asset of the window; the book depth ``D_a`` of the portfolio file times the run's
depth factor is the depth both the liquidity add-on and the price impact use. The
``fixed`` model is the backtest's fixed fraction of notional (``Walk.fixed_fraction``'s
rule for spot and perp legs). ``margin_status`` gives one step's status of the open
accounts, the engine margining those the screen cannot prove healthy."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backtest.walk import MarketDay, Walk
from cascade.ledger import ints
from cascade.population import SLOTS
from cascade.screen import Screen
from engine.fixedpoint import SCALE
from engine.margin_arrays import AccountBatch, BatchResult, MarketTables
from engine.margin_batch import compute_margins
from engine.market_builder import build_market
from engine.model import AssetQuote, InstrumentSpec, Market, RiskParams, RowConfig
from engine.profiles import Profile
from engine.status import Status

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class Venue:
    """Markets and margins for one window's assets under one depth factor."""

    def __init__(self, walk: Walk, assets: tuple[str, ...], depth_factor: float) -> None:
        self.walk = walk
        self.assets = assets
        self.depth = np.array([walk.file.assets[a].depth * depth_factor for a in assets], dtype=np.float64)
        depth = 1
        while 4**depth < 2 * len(assets):
            depth += 1
        self.profile = Profile("cascade", assets=walk.profile.assets, slots=SLOTS, depth=depth)
        self.specs = [
            InstrumentSpec(2 * a + k, f"{name}-{kind}", name, kind)  # type: ignore[arg-type]
            for a, name in enumerate(assets)
            for k, kind in enumerate(("spot", "perp"))
        ]
        self.im_fraction = np.array([walk.file.assets[a].im_fraction for a in assets])
        self.mm_fraction = np.array([walk.file.assets[a].mm_fraction for a in assets])
        self._day = lru_cache(maxsize=4)(self._day_uncached)
        self._config = lru_cache(maxsize=16)(self._config_uncached)

    def _day_uncached(self, t: dt.date) -> tuple[MarketDay, RiskParams]:
        day = MarketDay(self.walk, t, list(self.assets))
        return day, self.walk.risk_params(day)

    def _config_uncached(self, t: dt.date, model: str) -> RowConfig:
        return self.walk.row_config(self._day(t)[0], model, 1)

    def proxy(self, t: dt.date) -> FloatArray:
        """The implied-volatility proxy (trailing 30-day realised, annualised) per asset."""
        day = self._day(t)[0]
        return np.array([day.proxy[a] for a in self.assets])

    def market(self, t: dt.date, model: str, spots: FloatArray, epoch: int) -> tuple[Market, RiskParams]:
        """The engine's market at ``spots`` with the information of the close of ``t``."""
        day, params = self._day(t)
        quotes = [
            AssetQuote(a, float(spots[i]), day.proxy[a], float(self.depth[i]))
            for i, a in enumerate(self.assets)
        ]
        return build_market(self.profile, epoch, quotes, self.specs, self._config(t, model), t), params

    def margins(
        self,
        t: dt.date,
        model: str,
        spots: FloatArray,
        epoch: int,
        ids: IntArray,
        q: IntArray,
        cash: NDArray[np.object_],
    ) -> BatchResult:
        """The engine's section-3 numbers of the accounts (``ids``, ``q``, ``cash``)."""
        market, params = self.market(t, model, spots, epoch)
        batch = AccountBatch(ids=ids, q=q, cash=cash)
        return compute_margins(market, params, batch, tables=MarketTables.from_market(market))

    def fixed(self, asset: IntArray, q: IntArray, spots: FloatArray) -> tuple[FloatArray, FloatArray]:
        """IM and MM of the fixed model (quote units): a rate of every leg's notional."""
        held = asset >= 0
        a = np.maximum(asset, 0)
        notional = np.where(held, np.abs(q) / SCALE * spots[a], 0.0)
        im = (notional * self.im_fraction[a]).sum(axis=1)
        mm = (notional * self.mm_fraction[a]).sum(axis=1)
        return np.asarray(im, dtype=np.float64), np.asarray(mm, dtype=np.float64)

    def rho(self, t: dt.date) -> FloatArray:
        """The day's correlation matrix as floats (the engine's fixed-point one / SCALE)."""
        return np.array(self._day(t)[1].rho, dtype=np.float64) / SCALE


def margin_status(
    venue: Venue,
    screen: Screen | None,
    model: str,
    info: Any,
    spots: FloatArray,
    marks: IntArray,
    epoch: int,
    ids: IntArray,
    asset: IntArray,
    q: IntArray,
    cash: NDArray[np.object_],
    idx: IntArray,
    restore: float,
) -> tuple[NDArray[np.int8], NDArray[np.object_], FloatArray]:
    """Status of the open accounts ``idx``, the deposit that lifts E to ``(1 + restore) * IM``
    (x SCALE, exact for the engine's models) and E / IM."""
    m = idx.size
    if model == "fixed":
        im, mm = venue.fixed(asset[idx], q[idx], spots)
        e = np.array([int(c) for c in cash[idx].tolist()], dtype=np.float64) / SCALE
        e = e + (np.where(asset[idx] >= 0, q[idx] / SCALE * spots[np.maximum(asset[idx], 0)], 0.0)).sum(
            axis=1
        )
        status = np.full(m, Status.HEALTHY, dtype=np.int8)
        status[e < im] = Status.RESTRICTED
        status[e < mm] = Status.LIQUIDATABLE
        status[e < 0] = Status.INSOLVENT
        short = ints(np.ceil(np.maximum((1 + restore) * im - e, 0) * SCALE).astype(np.int64).tolist())
        return status, short + 1, np.where(im > 0, e / np.where(im > 0, im, 1), 1.0)
    status = np.full(m, Status.HEALTHY, dtype=np.int8)
    gap: NDArray[np.object_] = np.zeros(m, dtype=object)
    ratio = np.ones(m)
    todo = np.arange(m) if screen is None else screen.needs(idx, info, spots, cash, q, marks, asset)
    if todo.size:
        res = venue.margins(info, model, spots, epoch, ids[idx[todo]], q[idx[todo]], cash[idx[todo]])
        status[todo] = res.status
        target = res.IM + (res.IM * round(restore * SCALE)) // SCALE
        gap[todo] = np.maximum(target - res.E, 0)
        im_f = np.array([float(v) for v in res.IM.tolist()])
        e_f = np.array([float(v) for v in res.E.tolist()])
        ratio[todo] = np.where(im_f > 0, e_f / np.where(im_f > 0, im_f, 1.0), 1.0)
        if screen is not None:
            screen.update(idx[todo], info, spots, res, venue.rho(info))
    return status, gap, ratio

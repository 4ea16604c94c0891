"""The walk forward: each day, every model's margin of every portfolio, and the loss over
the margin period of risk that follows.

On day t (a date with a close for every asset of the portfolio) the market is built from
closes up to t only: spots are the day's closes, the implied-volatility proxy is the
trailing 30-day realised volatility (``backtest.models``), each engine model hands the
row builder its forecast (``RowConfig.forecast``), the correlation is the engine's EWMA
correlation of the last 250 common returns made PSD, and options are opened at the day's
spot times their strike fraction with their tenor. The engine's own row builder
(``build_market``) and margin (``compute_margin``) compute IM and MM. The loss is the
portfolio's value at t minus its value at t + MPOR days, every instrument revalued by the
same row builder with the closes and volatility proxy of t + MPOR (options a day or two
closer to expiry); funding and fees are left out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backtest.history import AssetHistory
from backtest.models import ENGINE_MODELS, MODELS, VolPaths, vol_paths
from backtest.portfolios import Leg, Portfolio, PortfolioFile
from engine.calibration.correlation import ewma_correlation, nearest_correlation, to_fixed_rho
from engine.calibration.procyclicality import ApcConfig
from engine.fixedpoint import SCALE
from engine.formats.params import ParamsFile
from engine.margin import compute_margin
from engine.market_builder import build_market, build_rows
from engine.model import EMPTY_SLOT, Account, AssetQuote, InstrumentSpec, Market, RiskParams, RowConfig, Slot
from engine.profiles import Profile
from engine.validate import validate_params

FloatArray = NDArray[np.float64]
CORRELATION_WINDOW = 250
WARMUP_CLOSES = 60  # closes an asset needs before its first margined day


@dataclass
class Series:
    """One portfolio under one model: per evaluated day and per MPOR, IM and MM (quote
    units, with the scan horizon ``h_days`` set to the MPOR) and the loss over the
    following MPOR days (NaN where t + MPOR has no close)."""

    dates: list[dt.date]
    im: dict[int, list[float]]
    mm: dict[int, list[float]]
    loss: dict[int, list[float]]

    def arrays(self, mpor: int) -> tuple[list[dt.date], FloatArray, FloatArray, FloatArray]:
        """Days with a loss at ``mpor``: dates, IM, MM, loss."""
        loss = np.asarray(self.loss[mpor])
        keep = ~np.isnan(loss)
        dates = [d for d, k in zip(self.dates, keep, strict=True) if k]
        return dates, np.asarray(self.im[mpor])[keep], np.asarray(self.mm[mpor])[keep], loss[keep]


@dataclass
class BacktestRun:
    models: tuple[str, ...]
    mpors: tuple[int, ...]
    portfolios: tuple[Portfolio, ...]
    series: dict[tuple[str, str], Series]  # (model, portfolio name)
    paths: dict[str, VolPaths]
    history: dict[str, AssetHistory]
    apc: ApcConfig = dataclasses.field(default_factory=ApcConfig)
    seconds: float = 0.0
    horizons: dict[str, int] = dataclasses.field(default_factory=dict)  # liquidity horizon per portfolio
    asset_horizons: dict[str, int] = dataclasses.field(default_factory=dict)
    stresses: dict[str, Any] = dataclasses.field(default_factory=dict)  # backtest.stresses.run_stresses
    z_fit: dict[str, Any] | None = None  # backtest.fit_z.fit_z's evidence, when run
    z: float = 3.0  # the scan range's standard deviations of the run


def _instrument_ids(portfolios: Sequence[Portfolio]) -> dict[tuple[str, str, float | None, int | None], int]:
    keys = dict.fromkeys(leg.key for p in portfolios for leg in p.legs)
    return {key: i for i, key in enumerate(keys)}


def backtest_profile(n_assets: int, n_instruments: int) -> Profile:
    """A profile wide enough for the file: every asset, 16 slots, a tree for every instrument."""
    depth = 1
    while 4**depth < n_instruments:
        depth += 1
    return Profile("backtest", assets=n_assets, slots=16, depth=depth)


class MarketDay:
    """Everything about one date that no model changes."""

    def __init__(self, w: Walk, t: dt.date, assets: list[str]) -> None:
        self.t = t
        self.assets = assets
        self.spot = {a: float(w.history[a].closes[w.index[a][t]]) for a in assets}
        self.proxy = {a: float(w.paths[a].realised30[w.index[a][t]]) for a in assets}
        self.quotes = [AssetQuote(a, self.spot[a], self.proxy[a], w.file.assets[a].depth) for a in assets]
        self.specs: dict[tuple[str, str, float | None, int | None], InstrumentSpec] = {}
        for key, iid in w.ids.items():
            asset, kind, strike, tenor = key
            if asset not in self.spot:
                continue
            if kind in ("call", "put"):
                assert strike is not None and tenor is not None
                spec = InstrumentSpec(
                    iid,
                    f"{asset}-{kind}-{strike:g}-{tenor}d",
                    asset,
                    kind,  # type: ignore[arg-type]
                    strike=self.spot[asset] * strike,
                    expiry=t + dt.timedelta(days=tenor),
                    vol=self.proxy[asset],
                )
            else:
                spec = InstrumentSpec(iid, f"{asset}-{kind}", asset, kind)  # type: ignore[arg-type]
            self.specs[key] = spec


def loss_over(account: Account, marks_now: Mapping[int, int], marks_later: Mapping[int, int]) -> float:
    """The portfolio's loss from one day to a later one, in quote units: its value then
    minus its value later, every instrument at its mark (funding and fees left out)."""
    change = sum(
        s.q * (marks_later[s.instrument_id] - marks_now[s.instrument_id]) for s in account.slots if s.q
    )
    return -change / SCALE**2


@dataclass(frozen=True)
class WalkDay:
    """A margined date of the walk: its epoch, what no model changes, the portfolios whose
    assets all trade that day, the marks MPOR days later (None without closes then) and
    the day's risk parameters."""

    epoch: int
    day: MarketDay
    todo: list[Portfolio]
    later: dict[int, dict[int, int] | None]
    params: RiskParams


class Walk:
    def __init__(
        self,
        history: dict[str, AssetHistory],
        file: PortfolioFile,
        params: ParamsFile,
        apc: ApcConfig,
        mpors: Sequence[int],
        models: Sequence[str] = MODELS,
    ) -> None:
        self.history = history
        self.file = file
        self.params = params
        self.mpors = tuple(mpors)
        self.models = tuple(models)
        self.index = {a: h.index() for a, h in history.items()}
        self.paths = {a: vol_paths(h, apc) for a, h in history.items()}
        self.ids = _instrument_ids(file.portfolios)
        self.asset_order = [a for a in file.assets if a in history]
        self.profile = backtest_profile(len(self.asset_order), len(self.ids))
        self._returns_by_date = {
            a: dict(zip(h.dates[1:], h.returns.tolist(), strict=True)) for a, h in history.items()
        }

    # ---------------------------------------------------------------- per day

    def active(self, t: dt.date) -> list[str]:
        """Assets with a close on t, enough history and every forecast defined."""
        out = []
        for a in self.asset_order:
            i = self.index[a].get(t)
            if i is None or i + 1 < WARMUP_CLOSES:
                continue
            p = self.paths[a]
            if any(np.isnan(x[i]) for x in (p.realised30, p.ewma, p.garch, p.garch_apc, p.garch_emir)):
                continue
            out.append(a)
        return out

    def rho(self, day: MarketDay) -> tuple[tuple[int, ...], ...]:
        names = day.assets
        common = set(self._returns_by_date[names[0]])
        for a in names[1:]:
            common &= set(self._returns_by_date[a])
        dates = sorted(d for d in common if d <= day.t)[-CORRELATION_WINDOW:]
        if len(names) == 1 or len(dates) < 2:
            corr = np.eye(len(names))
        else:
            m = np.array([[self._returns_by_date[a][d] for a in names] for d in dates])
            corr = nearest_correlation(ewma_correlation(m, 0.94))
        return to_fixed_rho(corr, size=self.profile.assets)

    def risk_params(self, day: MarketDay) -> RiskParams:
        kappa_map = self.params.kappa
        if isinstance(kappa_map, dict):
            kappa = [kappa_map.get(a, 0) for a in day.assets]
        else:
            kappa = [kappa_map[self.asset_order.index(a)] for a in day.assets]
        kappa += [0] * (self.profile.assets - len(kappa))
        params = RiskParams(self.params.mm_factor, tuple(kappa), self.rho(day))
        validate_params(params, self.profile)
        return params

    def row_config(self, day: MarketDay, model: str, mpor: int = 1) -> RowConfig:
        """The params' row settings with the model's forecasts (and an APC model's charged
        scan volatilities), the scan horizon set to the MPOR, and per-asset settings of the
        day's assets only."""
        base = self.params.row_config
        keep = set(day.assets)
        forecast: dict[str, float] = {}
        scan_vol: dict[str, float] = {}
        for a in day.assets:
            i = self.index[a][day.t]
            path = self.paths[a].for_model(model)
            if path is not None:
                forecast[a] = float(path[i])
            charged = self.paths[a].scan_vol_for(model)
            if charged is not None:
                scan_vol[a] = float(charged[i])
        return dataclasses.replace(
            base,
            haircut={k: v for k, v in base.haircut.items() if k in keep},
            borrow={k: v for k, v in base.borrow.items() if k in keep},
            forecast=forecast,
            scan_vol=scan_vol,
            h_days=float(mpor),
        )

    def market(self, day: MarketDay, model: str, epoch: int, mpor: int) -> Market:
        return build_market(
            self.profile,
            epoch,
            day.quotes,
            list(day.specs.values()),
            self.row_config(day, model, mpor),
            day.t,
        )

    def marks_later(self, day: MarketDay, later: dt.date) -> dict[int, int] | None:
        """Every instrument of ``day`` revalued on ``later`` (None without closes then)."""
        quotes = []
        for q in day.quotes:
            i = self.index[q.name].get(later)
            if i is None:
                return None
            h, p = self.history[q.name], self.paths[q.name]
            vol = float(p.realised30[i]) if not np.isnan(p.realised30[i]) else q.vol
            quotes.append(AssetQuote(q.name, float(h.closes[i]), vol, q.depth))
        config = self.row_config(day, "trailing30", 1)
        rows = build_rows(self.profile, quotes, list(day.specs.values()), config, later)
        return {iid: row.mark for iid, row in rows.items()}

    # ------------------------------------------------------------- portfolios

    def units(self, day: MarketDay, leg: Leg) -> int:
        """The leg's size x SCALE on the day (notional / spot units)."""
        return round(leg.notional / day.spot[leg.asset] * SCALE)

    def account(self, day: MarketDay, portfolio: Portfolio) -> Account:
        slots = [Slot(day.specs[leg.key].instrument_id, self.units(day, leg)) for leg in portfolio.legs]
        slots = sorted((s for s in slots if s.q != 0), key=lambda s: s.instrument_id)
        return Account(0, 0, 0, 0, tuple(slots) + (EMPTY_SLOT,) * (self.profile.slots - len(slots)))

    def fixed_fraction(
        self, day: MarketDay, portfolio: Portfolio, marks: dict[int, int]
    ) -> tuple[float, float]:
        """The fixed-fraction model's IM and MM (quote units): a rate times the notional of
        every spot and perp leg; an option bought needs its premium, one sold its premium
        plus the rate times the underlying's notional (no netting between legs)."""
        im = mm = 0.0
        for leg in portfolio.legs:
            rates = self.file.assets[leg.asset]
            units = self.units(day, leg) / SCALE
            value = abs(units) * marks[day.specs[leg.key].instrument_id] / SCALE
            underlying = abs(units) * day.spot[leg.asset]
            if leg.kind in ("spot", "perp"):
                im += underlying * rates.im_fraction
                mm += underlying * rates.mm_fraction
            elif units > 0:
                im += value
                mm += value
            else:
                im += value + underlying * rates.im_fraction
                mm += value + underlying * rates.mm_fraction
        return im, mm

    # -------------------------------------------------------------------- run

    def calendar(self, start: dt.date | None, end: dt.date | None) -> list[dt.date]:
        days = sorted({d for a in self.asset_order for d in self.history[a].dates})
        return [d for d in days if (start is None or d >= start) and (end is None or d <= end)]

    def days(
        self, start: dt.date | None, end: dt.date | None, progress: Callable[[int], None] | None = None
    ) -> Iterator[WalkDay]:
        """Every margined date from ``start`` to ``end``: one with a portfolio whose assets
        all trade and a close at least one MPOR later (``progress`` counts calendar days)."""
        for epoch, t in enumerate(self.calendar(start, end)):
            if progress is not None:
                progress(1)
            assets = self.active(t)
            todo = [p for p in self.file.portfolios if assets and set(p.assets) <= set(assets)]
            if not todo:
                continue
            day = MarketDay(self, t, assets)
            later = {h: self.marks_later(day, t + dt.timedelta(days=h)) for h in self.mpors}
            if all(v is None for v in later.values()):
                continue
            yield WalkDay(epoch, day, todo, later, self.risk_params(day))

    def run(
        self,
        start: dt.date | None = None,
        end: dt.date | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> dict[tuple[str, str], Series]:
        series = {
            (m, p.name): Series(
                [], {h: [] for h in self.mpors}, {h: [] for h in self.mpors}, {h: [] for h in self.mpors}
            )
            for m in self.models
            for p in self.file.portfolios
        }
        for wd in self.days(start, end, progress):
            epoch, day, params = wd.epoch, wd.day, wd.params
            t = day.t
            markets = {
                (m, h): self.market(day, m, epoch, h)
                for m in self.models
                if m in ENGINE_MODELS
                for h in self.mpors
            }
            any_market = next(iter(markets.values())) if markets else self.market(day, "trailing30", epoch, 1)
            marks_now = {iid: row.mark for iid, row in any_market.rows.items()}
            for p in wd.todo:
                account = self.account(day, p)
                losses = {
                    h: float("nan") if marks is None else loss_over(account, marks_now, marks)
                    for h, marks in wd.later.items()
                }
                for m in self.models:
                    s = series[(m, p.name)]
                    s.dates.append(t)
                    for h in self.mpors:
                        if m == "fixed":
                            im, mm = self.fixed_fraction(day, p, marks_now)
                        else:
                            r = compute_margin(markets[(m, h)], params, account)
                            im, mm = r.IM / SCALE, r.MM / SCALE
                        s.im[h].append(im)
                        s.mm[h].append(mm)
                        s.loss[h].append(losses[h])
        return series

"""Synthetic, reproducible data for ``zkmargin demo``: a price history, quotes with
spot, perps and an options chain, risk parameters, and accounts of every status.

Everything is drawn from a seeded generator so two runs of the demo show the same
numbers. Prices are made-up but shaped like crypto markets (fat-tailed, clustered
volatility, high correlation between coins).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.calibration.calibrate import Calibration, calibrate
from engine.calibration.correlation import nearest_correlation, to_fixed_rho
from engine.calibration.forecast import forecast_vol
from engine.fixedpoint import SCALE
from engine.margin import compute_margin
from engine.market_builder import build_market
from engine.model import Account, AssetQuote, InstrumentSpec, Market, RiskParams, RowConfig, Slot
from engine.profiles import Profile

STATUS_TARGETS = (0, 1, 2, 3)
DEMO_AS_OF = dt.date(2026, 11, 20)


@dataclass(frozen=True)
class DemoAsset:
    name: str
    start: float  # reference price: the generated history ends here
    daily_vol: float  # long-run daily volatility of the generator
    implied_vol: float  # ATM implied vol quoted at the end
    depth: float  # book depth, quote notional
    unit: float  # a typical position size in units
    kappa: float  # liquidity factor


DEMO_ASSETS = (
    DemoAsset("BTC", 30_000.0, 0.035, 0.65, 60_000_000.0, 1.0, 0.5),
    DemoAsset("ETH", 2_000.0, 0.045, 0.80, 30_000_000.0, 15.0, 0.5),
    DemoAsset("SOL", 40.0, 0.060, 1.05, 6_000_000.0, 600.0, 0.5),
)
DEMO_CORRELATION = np.array([[1.0, 0.82, 0.71], [0.82, 1.0, 0.76], [0.71, 0.76, 1.0]])
MONEYNESS = (0.9, 1.0, 1.1)
EXPIRIES_DAYS = (7, 30)
MM_FACTOR = 0.75


def synthetic_history(days: int = 400, seed: int = 1) -> dict[str, list[float]]:
    """Daily closes with GARCH(1,1) volatility clustering and correlated Student-t shocks."""
    rng = np.random.default_rng(seed)
    n = len(DEMO_ASSETS)
    chol = np.linalg.cholesky(DEMO_CORRELATION)
    alpha, beta = 0.08, 0.90
    var = np.array([a.daily_vol**2 for a in DEMO_ASSETS])
    omega = var * (1.0 - alpha - beta)
    price = np.array([a.start for a in DEMO_ASSETS])
    closes = [price.copy()]
    dof = 5.0
    for _ in range(days - 1):
        t = rng.standard_t(dof, size=n) / math.sqrt(dof / (dof - 2.0))
        shock = chol @ t
        ret = np.sqrt(var) * shock
        price = price * np.exp(ret)
        closes.append(price.copy())
        var = omega + alpha * ret**2 + beta * var
    series = np.array(closes)
    # Scale each path so that it ends at the asset's reference price: the demo's
    # market then sits at familiar levels whatever the random path did.
    series = series * (np.array([a.start for a in DEMO_ASSETS]) / series[-1])
    return {a.name: [float(x) for x in series[:, i]] for i, a in enumerate(DEMO_ASSETS)}


def demo_quotes(history: dict[str, list[float]], n_assets: int = len(DEMO_ASSETS)) -> list[AssetQuote]:
    """Quotes of the first ``n_assets`` demo assets at the end of the history (spot = last close)."""
    return [
        AssetQuote(
            name=a.name,
            spot=_round_price(history[a.name][-1]),
            vol=a.implied_vol,
            depth=a.depth,
            history=tuple(history[a.name]),
        )
        for a in DEMO_ASSETS[:n_assets]
    ]


def demo_instruments(
    quotes: Sequence[AssetQuote], as_of: dt.date, capacity: int = 4**3
) -> list[InstrumentSpec]:
    """Per asset: spot, perp, and calls and puts at 3 strikes for 2 expiries (14 each),
    or for the 30-day expiry only (8 each) when the tree holds fewer instruments."""
    per_asset = 2 + 2 * len(MONEYNESS) * len(EXPIRIES_DAYS)
    expiries = EXPIRIES_DAYS if per_asset * len(quotes) <= capacity else EXPIRIES_DAYS[-1:]
    specs: list[InstrumentSpec] = []
    next_id = 0
    for quote in quotes:
        specs.append(InstrumentSpec(next_id, f"{quote.name}", quote.name, "spot"))
        specs.append(InstrumentSpec(next_id + 1, f"{quote.name}-PERP", quote.name, "perp"))
        next_id += 2
        for days in expiries:
            expiry = as_of + dt.timedelta(days=days)
            for m in MONEYNESS:
                strike = _round_price(quote.spot * m)
                for kind in ("call", "put"):
                    tag = "C" if kind == "call" else "P"
                    name = f"{quote.name}-{expiry:%d%b%y}-{_fmt_strike(strike)}-{tag}".upper()
                    skew = 1.0 + 0.25 * abs(math.log(m))  # a little smile
                    specs.append(
                        InstrumentSpec(next_id, name, quote.name, kind, strike, expiry, vol=quote.vol * skew)
                    )
                    next_id += 1
    return specs


def demo_row_config(history: dict[str, list[float]]) -> RowConfig:
    """Spec defaults, per-asset charges by liquidity, and vol forecasts from the history."""
    haircut = {name: h for name, h in {"BTC": 0.02, "ETH": 0.03, "SOL": 0.08}.items() if name in history}
    return RowConfig(
        haircut=haircut,
        borrow=haircut,
        forecast={name: forecast_vol(closes) for name, closes in history.items()},
    )


def demo_params(profile: Profile, correlation: np.ndarray) -> RiskParams:
    """Governed parameters: MM = 75 % of IM, kappa per asset, calibrated correlation."""
    kappa = [round(a.kappa * SCALE) for a in DEMO_ASSETS[: len(correlation)]]
    kappa += [0] * (profile.assets - len(kappa))
    return RiskParams(
        mm_factor=round(MM_FACTOR * SCALE),
        kappa=tuple(kappa),
        rho=to_fixed_rho(nearest_correlation(correlation), size=profile.assets),
    )


def demo_accounts(
    market: Market, params: RiskParams, count: int = 36, seed: int = 11
) -> tuple[list[Account], list[int]]:
    """``count`` accounts cycling through the four statuses.

    A random portfolio is drawn first (directional perps, spot holdings, covered
    calls, short strangles, protective puts ...), then the cash is set so that the
    equity lands in the band of the target status. Returns the accounts and the
    status each was built for.
    """
    rng = np.random.default_rng(seed)
    k = market.profile.slots
    by_asset: dict[int, list[int]] = {}
    for iid, row in market.rows.items():
        by_asset.setdefault(row.asset, []).append(iid)
    accounts: list[Account] = []
    targets: list[int] = []
    for n in range(count):
        target = STATUS_TARGETS[n % len(STATUS_TARGETS)]
        positions: dict[int, int] = {}
        for _ in range(int(rng.integers(1, k + 1))):
            asset = int(rng.integers(0, len(by_asset)))
            iid = int(rng.choice(by_asset[asset]))
            unit = DEMO_ASSETS[asset].unit
            size = unit * float(rng.choice([0.25, 0.5, 1.0, 2.0, 4.0])) * float(rng.choice([-1.0, 1.0]))
            positions[iid] = positions.get(iid, 0) + round(size * 1000) * (SCALE // 1000)
        slots = [Slot(i, q) for i, q in sorted(positions.items()) if q != 0]
        slots += [Slot(0, 0)] * (k - len(slots))
        base = Account(
            account_id=1000 + n,
            nonce=1,
            salt=int(rng.integers(1, 2**62)) * 2**190 + n,
            cash=0,
            slots=tuple(slots),
        )
        result = compute_margin(market, params, base)
        cash = _cash_for(target, result.E, result.IM, result.MM, rng)
        account = replace(base, cash=cash)
        if compute_margin(market, params, account).status != target:
            # the bands are exact, so this only happens for degenerate portfolios
            # (for example IM = MM = 0); keep the account with its real status
            target = compute_margin(market, params, account).status
        accounts.append(account)
        targets.append(target)
    return accounts, targets


def shocked_quotes(
    quotes: Sequence[AssetQuote], moves: dict[str, float], vol_multiplier: float
) -> list[AssetQuote]:
    """The market after a crash: spot moved by ``moves[name]``, implied vols scaled."""
    return [
        replace(q, spot=_round_price(q.spot * (1.0 + moves.get(q.name, 0.0))), vol=q.vol * vol_multiplier)
        for q in quotes
    ]


def _cash_for(target: int, e0: int, im: int, mm: int, rng: np.random.Generator) -> int:
    """Cash that puts equity ``e0 + cash`` inside the band of ``target``."""
    if target == 0:
        equity = im + max(im // 2, SCALE) + int(rng.integers(0, max(im, 1)))
    elif target == 1:
        equity = mm + max((im - mm) // 2, 0)
    elif target == 2:
        equity = max(mm // 2, 1)
    else:
        equity = -max(mm // 10, SCALE)
    return equity - e0


def _round_price(x: float) -> float:
    """Prices to a sensible tick: 2 decimals, or 4 below 10."""
    return round(x, 4 if x < 10 else 2)


def _fmt_strike(strike: float) -> str:
    return f"{strike:.0f}" if strike >= 10 else f"{strike:.2f}"


@dataclass(frozen=True)
class DemoMarket:
    """Everything the demo's market is made of, for one profile."""

    history: dict[str, list[float]]
    calibration: Calibration
    quotes: list[AssetQuote]
    instruments: list[InstrumentSpec]
    config: RowConfig
    params: RiskParams
    market: Market


def demo_market(profile: Profile, epoch: int = 1, as_of: dt.date = DEMO_AS_OF) -> DemoMarket:
    """The demo's market for ``profile``: as many of BTC, ETH, SOL as the profile has
    asset slots, the options chain that fits its tree, calibrated parameters."""
    n_assets = min(len(DEMO_ASSETS), profile.assets)
    full = synthetic_history()
    history = {name: full[name] for name in list(full)[:n_assets]}
    calibration = calibrate(history)
    quotes = demo_quotes(history, n_assets)
    instruments = demo_instruments(quotes, as_of, profile.capacity)
    config = demo_row_config(history)
    params = demo_params(profile, calibration.correlation)
    market = build_market(profile, epoch, quotes, instruments, config, as_of)
    return DemoMarket(history, calibration, quotes, instruments, config, params, market)

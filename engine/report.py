"""The margin explained for people (spec section 3, "the engine also reports").

Nothing here is proven. It gives:

* :func:`explain`: per asset the worst loss ``W`` and the scenario that produced it
  (in words), the liquidity add-on, static charges, margins, equity, the margin
  ratio ``E / MM`` and the status name;
* :func:`liquidation_price` / :func:`liquidation_prices`: per asset, the spot (the
  other assets held) at which the account first becomes liquidatable, found by
  full repricing of the market at each trial spot;
* :func:`what_if`: the account's margin before and after a hypothetical trade.

Amounts inside the dataclasses are the engine's integers (x ``SCALE``); spots of
the liquidation search are real prices (floats) because they are oracle inputs
to ``engine.market_builder.build_market``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from engine.errors import InputError
from engine.fixedpoint import SCALE
from engine.margin import MarginResult, compute_margin
from engine.model import Account, AssetQuote, InstrumentSpec, Market, RiskParams, RowConfig, Slot
from engine.scenarios import SCENARIOS, Scenario
from engine.status import Status
from engine.validate import canonicalize_positions

#: A full repricing: (asset index, spot of that asset) -> the market at that spot.
Repricer = Callable[[int, float], Market]


# ---------------------------------------------------------------- formatting


_SCALE_DIGITS = len(str(SCALE)) - 1


def format_amount(x: int, decimals: int = 2) -> str:
    """An integer x SCALE as a decimal string with thousands separators, rounded half up."""
    decimals = min(decimals, _SCALE_DIGITS)
    step = 10 ** (_SCALE_DIGITS - decimals)
    units = (abs(x) + step // 2) // step
    whole, frac = divmod(units, 10**decimals)
    sign = "-" if x < 0 and units else ""
    return f"{sign}{whole:,}" + (f".{frac:0{decimals}d}" if decimals else "")


def describe_scenario(s: int) -> str:
    """Scenario ``s`` in words, e.g. ``"spot -1/3 scan, vol up"``."""
    sc: Scenario = SCENARIOS[s]
    move = Fraction(sc.move).limit_denominator(3)
    spot = "spot unchanged" if move == 0 else f"spot {'+' if move > 0 else '-'}{abs(move)} scan"
    text = f"{spot}, vol {'unchanged' if sc.vol == 'none' else sc.vol}"
    return text + " (extreme, weighted by w_ext)" if sc.extreme else text


# ------------------------------------------------------------------- explain


@dataclass(frozen=True)
class AssetRisk:
    """One asset's part of the margin."""

    asset: int
    name: str
    held: bool  # the account has a position on this asset
    worst_loss: int  # W[a]
    directional: int  # S[a]: the signed part the correlations combine (> 0 long)
    non_directional: int  # U[a] = W[a] - |S[a]|: added in full
    worst_scenario: int  # first scenario attaining the minimum scenario sum
    scenario: str  # that scenario in words
    net_delta_notional: int  # N[a]
    liquidity_addon: int  # LQ[a]


@dataclass(frozen=True)
class Explanation:
    """The margin of one account, for people."""

    result: MarginResult
    assets: tuple[AssetRisk, ...]
    margin_ratio: float | None  # E / MM; None when MM = 0
    liquidation: tuple[LiquidationPrice, ...] = ()

    @property
    def status(self) -> str:
        return Status(self.result.status).label

    def to_text(self) -> str:
        r = self.result
        lines = [f"status: {self.status}"]
        lines.append(f"equity E = {format_amount(r.E)}")
        lines.append(
            f"initial margin IM = {format_amount(r.IM)}, maintenance margin MM = {format_amount(r.MM)}"
        )
        ratio = "n/a (MM = 0)" if self.margin_ratio is None else f"{self.margin_ratio:.4f}"
        lines.append(f"margin ratio E / MM = {ratio}; shortfall = {format_amount(r.shortfall)}")
        lines.append(
            f"scenario risk R = {format_amount(r.R)} (directional, correlated: {format_amount(r.R_dir)}; "
            f"non-directional: {format_amount(sum(r.U))}); static charges SC = {format_amount(r.SC)}"
        )
        for a in self.assets:
            if not a.held:
                continue
            loss = (
                f"worst loss {format_amount(a.worst_loss)} in scenario {a.worst_scenario} ({a.scenario})"
                if a.worst_loss
                else "no loss in any scenario"
            )
            lines.append(
                f"  {a.name}: {loss} (directional {format_amount(a.directional)}, "
                f"non-directional {format_amount(a.non_directional)}); "
                f"net delta notional {format_amount(a.net_delta_notional)}, "
                f"liquidity add-on {format_amount(a.liquidity_addon)}"
            )
        lines.extend(f"  {lp.describe()}" for lp in self.liquidation)
        return "\n".join(lines)


def asset_name(market: Market, a: int) -> str:
    return market.asset_names[a] if a < len(market.asset_names) else f"asset{a}"


def held_assets(market: Market, account: Account) -> set[int]:
    """Asset indices on which the account holds a non-zero position."""
    return {
        market.rows[s.instrument_id].asset
        for s in account.slots
        if s.q != 0 and s.instrument_id in market.rows
    }


def explain(
    market: Market,
    params: RiskParams,
    account: Account,
    liquidation: Sequence[LiquidationPrice] = (),
) -> Explanation:
    """The section-3 computation with per-asset detail; ``liquidation`` is attached as given."""
    r = compute_margin(market, params, account)
    held = held_assets(market, account)
    assets = tuple(
        AssetRisk(
            asset=a,
            name=asset_name(market, a),
            held=a in held,
            worst_loss=r.W[a],
            directional=r.S[a],
            non_directional=r.U[a],
            worst_scenario=r.worst_scenario[a],
            scenario=describe_scenario(r.worst_scenario[a]),
            net_delta_notional=r.N[a],
            liquidity_addon=r.LQ[a],
        )
        for a in range(market.profile.assets)
    )
    ratio = None if r.MM == 0 else r.E / r.MM
    return Explanation(result=r, assets=assets, margin_ratio=ratio, liquidation=tuple(liquidation))


# ---------------------------------------------------------- liquidation price


@dataclass(frozen=True)
class LiquidationPrice:
    """Where moving one asset's spot (others held) first makes the account liquidatable.

    ``below`` / ``above``: the first spot found in that direction at which
    ``E < MM``, or ``None`` if there is none within ``[lo, hi]``. Precision: the
    true switching spot lies in ``[below, below * (1 + rel_tol)]`` (``above``:
    ``[above / (1 + rel_tol), above]``). Windows of liquidation narrower than one
    grid step (``(hi / spot) ** (1 / grid)``) can be missed. ``already``: the
    account is liquidatable at the current spot (then ``below = above = spot``).
    """

    asset: int
    name: str
    spot: float
    below: float | None
    above: float | None
    lo: float
    hi: float
    rel_tol: float
    held: bool = True  # False: no position on this asset, its spot cannot matter
    already: bool = False  # liquidatable (or insolvent) at the current spot

    def describe(self) -> str:
        head = f"{self.name} (spot {self.spot:.6g}): "
        if not self.held:
            return head + "no position on this asset"
        if self.already:
            return head + "already liquidatable at the current spot"
        down = (
            f"{self.below:.6g}" if self.below is not None else f"not within [{self.lo:.6g}, {self.spot:.6g}]"
        )
        up = f"{self.above:.6g}" if self.above is not None else f"not within [{self.spot:.6g}, {self.hi:.6g}]"
        return head + f"liquidatable at spot <= {down} or >= {up} (relative precision {self.rel_tol:g})"


def _is_liquidatable(result: MarginResult) -> bool:
    return Status(result.status).opens_liquidation


def _first_crossing(
    liquidatable: Callable[[float], bool], spot: float, end: float, grid: int, rel_tol: float
) -> float | None:
    """Walk a geometric grid from ``spot`` (not liquidatable) to ``end``; at the first
    liquidatable point, bisect (geometrically) down to ``rel_tol``; return the
    liquidatable end of the final bracket, or None."""
    ratio = (end / spot) ** (1.0 / grid)
    safe = spot
    for i in range(1, grid + 1):
        trial = end if i == grid else spot * ratio**i
        if liquidatable(trial):
            bad = trial
            while max(safe, bad) / min(safe, bad) - 1.0 > rel_tol:
                mid = math.sqrt(safe * bad)
                if liquidatable(mid):
                    bad = mid
                else:
                    safe = mid
            return bad
        safe = trial
    return None


def liquidation_price(
    params: RiskParams,
    account: Account,
    asset: int,
    spot: float,
    reprice: Repricer,
    *,
    name: str = "",
    lo_factor: float = 0.01,
    hi_factor: float = 100.0,
    grid: int = 64,
    rel_tol: float = 1e-6,
) -> LiquidationPrice:
    """Liquidation spots of one asset, searched in ``[lo_factor * spot, hi_factor * spot]``.

    ``reprice(asset, s)`` must return the full market with that asset's spot at ``s``
    (everything else unchanged); each trial runs ``compute_margin`` on it. Both
    directions are searched: a long account liquidates as the spot falls, a short
    one as it rises, an option book possibly either way.
    """
    if not 0 < lo_factor < 1 < hi_factor or grid < 1 or not 0 < rel_tol < 1:
        raise ValueError("need 0 < lo_factor < 1 < hi_factor, grid >= 1 and 0 < rel_tol < 1")

    def liquidatable(s: float) -> bool:
        return _is_liquidatable(compute_margin(reprice(asset, s), params, account))

    lo, hi = spot * lo_factor, spot * hi_factor
    already = liquidatable(spot)
    return LiquidationPrice(
        asset=asset,
        name=name or f"asset{asset}",
        spot=spot,
        below=spot if already else _first_crossing(liquidatable, spot, lo, grid, rel_tol),
        above=spot if already else _first_crossing(liquidatable, spot, hi, grid, rel_tol),
        lo=lo,
        hi=hi,
        rel_tol=rel_tol,
        already=already,
    )


def market_repricer(
    profile_market: Market,
    quotes: Sequence[AssetQuote],
    instruments: Sequence[InstrumentSpec],
    config: RowConfig,
    as_of: dt.date,
) -> Repricer:
    """Full repricing with ``engine.market_builder.build_market``: the quotes with one
    asset's spot replaced (asset index = position in ``quotes``), the same
    instruments, configuration, profile and epoch as ``profile_market``."""
    from engine.market_builder import build_market

    def reprice(asset: int, spot: float) -> Market:
        shifted = [dataclasses.replace(q, spot=spot) if a == asset else q for a, q in enumerate(quotes)]
        return build_market(profile_market.profile, profile_market.epoch, shifted, instruments, config, as_of)

    return reprice


def liquidation_prices(
    market: Market,
    params: RiskParams,
    account: Account,
    quotes: Sequence[AssetQuote],
    instruments: Sequence[InstrumentSpec],
    config: RowConfig,
    as_of: dt.date,
    *,
    lo_factor: float = 0.01,
    hi_factor: float = 100.0,
    grid: int = 64,
    rel_tol: float = 1e-6,
) -> tuple[LiquidationPrice, ...]:
    """:func:`liquidation_price` for every quoted asset, repricing with ``build_market``.

    Only the instruments the account holds are rebuilt at each trial spot (a row
    depends on its own instrument and its asset's quote only), so a trial costs
    one small ``build_market`` and one ``compute_margin``. The search options are
    those of :func:`liquidation_price`.
    """
    held_ids = {s.instrument_id for s in account.slots if s.q != 0}
    specs = [spec for spec in instruments if spec.instrument_id in held_ids]
    missing = held_ids - {spec.instrument_id for spec in specs}
    if missing:
        raise InputError("instruments", f"no instrument spec for held instrument ids {sorted(missing)}")
    reprice = market_repricer(market, quotes, specs, config, as_of)
    held = held_assets(market, account)
    out = []
    for a, quote in enumerate(quotes):
        if a not in held:
            out.append(
                LiquidationPrice(
                    a, quote.name, quote.spot, None, None, quote.spot, quote.spot, 0.0, held=False
                )
            )
            continue
        out.append(
            liquidation_price(
                params,
                account,
                a,
                quote.spot,
                reprice,
                name=quote.name,
                lo_factor=lo_factor,
                hi_factor=hi_factor,
                grid=grid,
                rel_tol=rel_tol,
            )
        )
    return tuple(out)


# ------------------------------------------------------------------- what-if


def merge_trade(account: Account, trade: Sequence[Slot], k: int, cash_delta: int = 0) -> Account:
    """The account after ``trade``: sizes added per instrument, re-canonicalised
    (non-zero first, ids increasing); ``InputError`` if more than ``k`` positions remain."""
    sizes: dict[int, int] = {}
    for s in (*account.slots, *trade):
        if s.q != 0:
            sizes[s.instrument_id] = sizes.get(s.instrument_id, 0) + s.q
    slots = canonicalize_positions(list(sizes.items()), k, field="trade")
    return dataclasses.replace(account, slots=slots, cash=account.cash + cash_delta)


def what_if(
    market: Market, params: RiskParams, account: Account, trade: Sequence[Slot], cash_delta: int = 0
) -> tuple[MarginResult, MarginResult]:
    """Pre-trade check: ``(before, after)`` margin results of ``account`` and of the
    account with ``trade`` merged in (``cash_delta`` added to cash, e.g. the premium paid)."""
    before = compute_margin(market, params, account)
    after = compute_margin(market, params, merge_trade(account, trade, market.profile.slots, cash_delta))
    return before, after

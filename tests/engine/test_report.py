"""The human report: explanations, liquidation prices and the pre-trade check."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from engine.errors import InputError
from engine.fixedpoint import SCALE
from engine.margin import compute_margin
from engine.market_builder import build_market
from engine.model import AssetQuote, InstrumentSpec, Market, RowConfig, Slot
from engine.profiles import PROFILES
from engine.report import (
    Repricer,
    describe_scenario,
    explain,
    format_amount,
    liquidation_price,
    liquidation_prices,
    market_repricer,
    merge_trade,
    what_if,
)
from tests.engine.strategies import make_account, make_market, make_params, make_row
from tests.engine.test_margin import worked_example

TEST = PROFILES["test"]
U = SCALE


@pytest.mark.parametrize(
    ("s", "text"),
    [
        (0, "spot unchanged, vol up"),
        (1, "spot unchanged, vol down"),
        (4, "spot -1/3 scan, vol up"),
        (7, "spot +2/3 scan, vol down"),
        (11, "spot +1 scan, vol down"),
        (12, "spot -1 scan, vol up"),
        (14, "spot +3 scan, vol unchanged (extreme, weighted by w_ext)"),
        (15, "spot -3 scan, vol unchanged (extreme, weighted by w_ext)"),
    ],
)
def test_describe_scenario(s: int, text: str) -> None:
    assert describe_scenario(s) == text


@pytest.mark.parametrize(
    ("x", "decimals", "text"),
    [
        (0, 2, "0.00"),
        (1_234_567_891, 2, "1,234.57"),
        (-1_234_565_000, 2, "-1,234.57"),
        (-4_000, 2, "0.00"),
        (5_000, 2, "0.01"),
        (-1, 6, "-0.000001"),
        (7 * U, 0, "7"),
    ],
)
def test_format_amount(x: int, decimals: int, text: str) -> None:
    assert format_amount(x, decimals) == text


def test_explain_worked_example() -> None:
    market, params, account = worked_example()
    ex = explain(market, params, account)
    r = compute_margin(market, params, account)
    assert ex.result == r
    a0, a1 = ex.assets
    assert (a0.held, a0.worst_loss, a0.worst_scenario, a0.liquidity_addon) == (True, 70 * U, 15, 20 * U)
    assert a0.scenario == "spot -3 scan, vol unchanged (extreme, weighted by w_ext)"
    assert (a1.worst_loss, a1.worst_scenario, a1.scenario) == (12 * U, 2, "spot +1/3 scan, vol up")
    assert a1.net_delta_notional == 60 * U
    assert (a0.directional, a0.non_directional, a1.directional, a1.non_directional) == (
        60 * U,
        10 * U,
        0,
        12 * U,
    )
    assert ex.margin_ratio == pytest.approx(85 * U / 68_820_000)
    assert ex.status == "restricted"
    text = ex.to_text()
    assert "status: restricted" in text
    assert "worst loss 70.00 in scenario 15" in text
    assert "(directional 60.00, non-directional 10.00)" in text
    assert "scenario risk R = 82.00 (directional, correlated: 60.00; non-directional: 22.00)" in text
    assert "margin ratio E / MM = 1.2351" in text


def test_explain_without_positions_has_no_ratio() -> None:
    market = make_market(TEST, [(U, U)], [make_row(1, 0)])
    ex = explain(market, make_params(TEST), make_account(TEST, {}, cash=3))
    assert ex.margin_ratio is None
    assert not any(a.held for a in ex.assets)
    assert "n/a (MM = 0)" in ex.to_text()


# ---------------------------------------------------------- liquidation price


def linear_repricer(m: float = 0.1) -> Repricer:
    """One linear instrument on asset 0 worth the spot; it loses m x spot in s = 0
    and gains m x spot in s = 1. With rho = I and kappa = 0: IM = W = m S |q|."""

    def reprice(asset: int, spot: float) -> Market:
        assert asset == 0
        s = round(spot * SCALE)
        loss = round(m * spot * SCALE)
        row = make_row(1, 0, mark=s, delta=U, ra={0: -loss, 1: loss})
        return make_market(TEST, [(s, 10**6 * U)], [row])

    return reprice


def test_long_liquidates_as_spot_falls() -> None:
    # E = cash + S, MM = 0.5 x 0.1 x S: E < MM  <=>  S < 50 / 0.95
    params = make_params(TEST, mm_factor=500_000)
    account = make_account(TEST, {1: U}, cash=-50 * U)
    lp = liquidation_price(params, account, 0, 100.0, linear_repricer(), rel_tol=1e-7)
    assert lp.above is None
    assert lp.below is not None
    assert lp.below == pytest.approx(50 / 0.95, rel=2e-7)
    assert not lp.already
    assert "not within [100, 10000]" in lp.describe()


def test_short_liquidates_as_spot_rises() -> None:
    # E = cash - S, MM = 0.05 S: E < MM  <=>  S > 150 / 1.05
    params = make_params(TEST, mm_factor=500_000)
    account = make_account(TEST, {1: -U}, cash=150 * U)
    lp = liquidation_price(params, account, 0, 100.0, linear_repricer())
    assert lp.below is None
    assert lp.above is not None
    assert lp.above == pytest.approx(150 / 1.05, rel=2e-6)
    assert lp.above >= 150 / 1.05 * (1 - 1e-8)  # the reported spot is on the liquidatable side


def test_no_liquidation_within_range_and_already_liquidatable() -> None:
    params = make_params(TEST, mm_factor=500_000)
    rich = make_account(TEST, {1: U}, cash=10**6 * U)
    lp = liquidation_price(params, rich, 0, 100.0, linear_repricer(), lo_factor=0.5, hi_factor=2.0)
    assert (lp.below, lp.above, lp.already) == (None, None, False)
    assert "not within [50, 100]" in lp.describe() and "not within [100, 200]" in lp.describe()
    poor = make_account(TEST, {1: U}, cash=-99 * U)  # E = 1 < MM = 5
    lp = liquidation_price(params, poor, 0, 100.0, linear_repricer())
    assert lp.already
    assert "already liquidatable" in lp.describe()


def test_bad_search_options() -> None:
    with pytest.raises(ValueError, match="lo_factor"):
        liquidation_price(make_params(TEST), make_account(TEST, {}), 0, 1.0, linear_repricer(), lo_factor=2.0)


AS_OF = dt.date(2026, 11, 20)
QUOTES = (
    AssetQuote("BTC", spot=60_000.0, vol=0.55, depth=50_000_000.0),
    AssetQuote("ETH", spot=3_000.0, vol=0.70, depth=20_000_000.0),
)
SPECS = (
    InstrumentSpec(0, "BTC", "BTC", "spot"),
    InstrumentSpec(1, "ETH-PERP", "ETH", "perp"),
    InstrumentSpec(2, "BTC-C-60000", "BTC", "call", strike=60_000.0, expiry=AS_OF + dt.timedelta(days=30)),
)


def test_liquidation_prices_with_full_repricing() -> None:
    market = build_market(TEST, 3, QUOTES, SPECS, RowConfig(), AS_OF)
    params = make_params(TEST, mm_factor=600_000, kappa=(U, U), rho=((U, U), (U, U)))
    # long 1 BTC and short 2 BTC calls, financed with 45,000 of debt
    account = make_account(TEST, {0: U, 2: -2 * U}, cash=-45_000 * U)
    assert compute_margin(market, params, account).status < 2
    lps = liquidation_prices(
        market, params, account, QUOTES, SPECS, RowConfig(), AS_OF, grid=32, rel_tol=1e-6
    )
    btc, eth = lps
    assert not eth.held and "no position" in eth.describe()
    assert btc.held and btc.below is not None and btc.below < 60_000.0
    reprice = market_repricer(market, QUOTES, SPECS, RowConfig(), AS_OF)
    at = compute_margin(reprice(0, btc.below), params, account)
    just_above = compute_margin(reprice(0, btc.below * (1 + 2e-6)), params, account)
    assert at.status >= 2
    assert just_above.status < 2
    assert "BTC (spot 60000)" in btc.describe()


# ------------------------------------------------------------------- what-if


def _four_rows() -> Market:
    rows = [make_row(i, 0, mark=10 * U, ra={0: -U}) for i in range(1, 7)]
    return make_market(TEST, [(10 * U, U)], rows)


def test_merge_trade_recanonicalises() -> None:
    account = make_account(TEST, {1: 5, 3: -2}, cash=9)
    merged = merge_trade(account, [Slot(3, 2), Slot(2, 7), Slot(1, 1)], TEST.slots, cash_delta=-4)
    assert merged.slots == (Slot(1, 6), Slot(2, 7), Slot(0, 0), Slot(0, 0))
    assert merged.cash == 5
    assert (merged.account_id, merged.nonce, merged.salt) == (account.account_id, account.nonce, account.salt)


def test_merge_trade_beyond_k_slots() -> None:
    account = make_account(TEST, {1: 1, 2: 1, 3: 1, 4: 1})
    with pytest.raises(InputError) as err:
        merge_trade(account, [Slot(5, 1)], TEST.slots)
    assert err.value.field == "trade"
    # closing one first makes room
    merged = merge_trade(account, [Slot(2, -1), Slot(5, 1)], TEST.slots)
    assert [s.instrument_id for s in merged.slots] == [1, 3, 4, 5]


def test_what_if_before_and_after() -> None:
    market, params = _four_rows(), make_params(TEST, mm_factor=500_000)
    account = make_account(TEST, {1: 3 * U, 2: U}, cash=-35 * U)
    before, after = what_if(market, params, account, [Slot(2, -U), Slot(5, 2 * U)], cash_delta=-20 * U)
    assert before == compute_margin(market, params, account)
    expected = dataclasses.replace(
        account, cash=-55 * U, slots=(Slot(1, 3 * U), Slot(5, 2 * U), Slot(0, 0), Slot(0, 0))
    )
    assert after == compute_margin(market, params, expected)
    assert (before.IM, after.IM) == (4 * U, 5 * U)
    _, closed = what_if(market, params, account, [Slot(1, -3 * U), Slot(2, -U)])
    assert (closed.IM, closed.E) == (0, -35 * U)

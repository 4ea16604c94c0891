"""Instrument rows and the asset table from quotes (engine/market_builder.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.black76 import delta as b76_delta
from engine.black76 import price as b76_price
from engine.errors import InputError
from engine.fixedpoint import SCALE
from engine.market_builder import (
    asset_scan_ranges,
    build_market,
    build_rows,
    to_fixed,
    value_at_spots,
)
from engine.model import AssetEntry, AssetQuote, InstrumentSpec, Market, RowConfig
from engine.profiles import PROFILES
from engine.scenarios import MOVES, scan_range
from engine.validate import validate_quotes

TEST = PROFILES["test"]
STANDARD = PROFILES["standard"]
AS_OF = dt.date(2022, 11, 1)
CFG = RowConfig()
BTC = AssetQuote("BTC", 20_000.0, 0.6, 5e7)
ETH = AssetQuote("ETH", 1_500.0, 0.8, 2e7)
EXPIRY = AS_OF + dt.timedelta(days=30)


def _instruments() -> list[InstrumentSpec]:
    return [
        InstrumentSpec(0, "BTC", "BTC", "spot"),
        InstrumentSpec(1, "BTC-PERP", "BTC", "perp", mark=20_010.0),
        InstrumentSpec(5, "BTC-C-22000", "BTC", "call", strike=22_000.0, expiry=EXPIRY),
        InstrumentSpec(3, "ETH-P-1400", "ETH", "put", strike=1_400.0, expiry=EXPIRY, vol=0.9),
        InstrumentSpec(4, "ETH", "ETH", "spot"),
        InstrumentSpec(9, "ETH-C-old", "ETH", "call", strike=1_000.0, expiry=AS_OF - dt.timedelta(days=3)),
    ]


def _market() -> Market:
    return build_market(TEST, 7, [BTC, ETH], _instruments(), CFG, AS_OF)


def test_market_shape_and_asset_table() -> None:
    market = build_market(PROFILES["demo"], 7, [BTC, ETH], _instruments(), CFG, AS_OF)
    assert market.epoch == 7
    assert market.assets == (
        AssetEntry(20_000 * SCALE, 5 * 10**7 * SCALE),
        AssetEntry(1_500 * SCALE, 2 * 10**7 * SCALE),
        AssetEntry(0, 1),
        AssetEntry(0, 1),
    )
    assert list(market.rows) == [0, 1, 3, 4, 5, 9]
    assert market.asset_names == ("BTC", "ETH")
    assert market.instrument_names[5] == "BTC-C-22000"
    for iid, row in market.rows.items():
        assert row.instrument_id == iid and len(row.ra) == 16
        assert all(isinstance(x, int) for x in (row.mark, row.delta, row.c_long, row.c_short, *row.ra))


def test_spot_and_perp_rows() -> None:
    rows = _market().rows
    m = scan_range(0.6, CFG)
    spot, perp = rows[0], rows[1]
    assert (spot.asset, spot.mark, spot.delta) == (0, 20_000 * SCALE, SCALE)
    assert (perp.mark, perp.delta) == (20_010 * SCALE, SCALE)
    weights = [1.0] * 14 + [0.35, 0.35]
    for s in range(16):
        expected = MOVES[s] * m * 20_000.0 * weights[s] * SCALE
        assert abs(spot.ra[s] - expected) <= 1
    assert perp.ra == spot.ra  # same absolute move on the mark
    assert (spot.c_long, spot.c_short) == (400 * SCALE, 400 * SCALE)  # 2 % default
    assert (perp.c_long, perp.c_short) == (200 * SCALE, 200 * SCALE)  # perp_charge 1 %


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.01, max_value=1e6), st.floats(min_value=0.01, max_value=5.0))
def test_spot_ra_is_linear_in_move(spot: float, vol: float) -> None:
    quote = AssetQuote("X", spot, vol, 1e6)
    rows = build_rows(TEST, [quote], [InstrumentSpec(2, "X", "X", "spot")], CFG, AS_OF)
    ra = rows[2].ra
    m = scan_range(vol, CFG)
    assert ra[0] == ra[1] == 0
    for s in range(14):  # RA[s] = move_s * m * S, one rounding
        assert ra[s] == to_fixed(MOVES[s] * m * spot) or abs(ra[s] - MOVES[s] * m * spot * SCALE) <= 1
    assert abs(2 * ra[2] - ra[6]) <= 2 and abs(3 * ra[2] - ra[10]) <= 3
    assert ra[3] == ra[2] and ra[12] == -ra[10]
    if m <= 1 / 3:
        assert abs(ra[14] - round(0.35 * 3 * m * spot * SCALE)) <= 1


def test_extreme_down_move_is_floored_at_a_tiny_positive_spot() -> None:
    quote = AssetQuote("X", 10.0, 4.0, 1e6)  # m = 0.5: -3 m would be -150 %
    rows = build_rows(TEST, [quote], [InstrumentSpec(0, "X", "X", "spot")], CFG, AS_OF)
    assert scan_range(4.0, CFG) == 0.5
    assert rows[0].ra[15] == round(0.35 * (10.0 * 1e-6 - 10.0) * SCALE)
    assert rows[0].ra[14] == round(0.35 * 1.5 * 10.0 * SCALE)


def test_option_rows_match_scalar_black76() -> None:
    rows = _market().rows
    t = 30 / 365
    call = rows[5]
    assert call.mark == to_fixed(b76_price("call", 20_000.0, 22_000.0, t, 0.6))
    assert call.delta == to_fixed(b76_delta("call", 20_000.0, 22_000.0, t, 0.6))
    assert (call.c_long, call.c_short) == (0, 200 * SCALE)  # short_option_min 1 % of spot
    put = rows[3]  # own vol 0.9, ETH scan range from 0.8
    assert put.asset == 1
    assert put.mark == to_fixed(b76_price("put", 1_500.0, 1_400.0, t, 0.9))
    assert -SCALE < put.delta < 0
    m = scan_range(0.8, CFG)
    up, down = 0.9 * 1.45, 0.9 * 0.75  # g = 1 at 30 days
    base = b76_price("put", 1_500.0, 1_400.0, t, 0.9)
    for s, vol in ((0, up), (1, down), (12, up), (13, down), (14, 0.9)):
        shocked = b76_price("put", 1_500.0 * (1 + MOVES[s] * m), 1_400.0, t, vol)
        w = 0.35 if s >= 14 else 1.0
        assert abs(put.ra[s] - w * (shocked - base) * SCALE) <= 1


def test_expired_option_is_intrinsic_in_every_scenario() -> None:
    row = _market().rows[9]  # ETH call K = 1000, expired three days ago
    m = scan_range(0.8, CFG)
    assert row.mark == 500 * SCALE and row.delta == SCALE
    for s in range(16):
        w = 0.35 if s >= 14 else 1.0
        shocked = max(1_500.0 * (1 + MOVES[s] * m), 1_500.0 * 1e-6)
        assert abs(row.ra[s] - w * (max(shocked - 1_000.0, 0.0) - 500.0) * SCALE) <= 1


def test_value_at_spots_agrees_with_rows() -> None:
    specs = {s.instrument_id: s for s in _instruments()}
    rows = _market().rows
    m = scan_range(0.6, CFG)
    for iid in (0, 1, 5):
        v = value_at_spots(specs[iid], BTC, AS_OF, np.array([20_000.0, 20_000.0 * (1 + 3 * m)]))
        assert abs(v[0] * SCALE - rows[iid].mark) <= 1
        assert abs(0.35 * (v[1] - v[0]) * SCALE - rows[iid].ra[14]) <= 1


def test_forecast_widens_scan_range() -> None:
    assert asset_scan_ranges([BTC], CFG) == (scan_range(0.6, CFG),)
    calm = dataclasses.replace(CFG, forecast={"BTC": 0.3})
    assert asset_scan_ranges([BTC], calm) == (scan_range(0.6, CFG),)  # max(sigma, forecast)
    wild = dataclasses.replace(CFG, forecast={"BTC": 1.2})
    assert asset_scan_ranges([BTC], wild) == (scan_range(1.2, CFG),)
    spot = [InstrumentSpec(0, "BTC", "BTC", "spot")]
    assert (
        build_rows(TEST, [BTC], spot, wild, AS_OF)[0].ra[10]
        > build_rows(TEST, [BTC], spot, CFG, AS_OF)[0].ra[10]
    )


def test_history_feeds_the_forecast() -> None:
    rng = np.random.default_rng(3)
    closes = tuple(20_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.08, 200))))  # ~150 % a year
    quote = dataclasses.replace(BTC, history=closes)
    (m,) = asset_scan_ranges([quote], CFG)
    assert m > scan_range(1.0, CFG)
    with pytest.raises(InputError) as err:
        asset_scan_ranges([dataclasses.replace(BTC, history=(1.0, 2.0, -3.0) * 20)], CFG)
    assert err.value.field.startswith("quotes[0].history")


def test_custom_charges() -> None:
    cfg = dataclasses.replace(CFG, haircut={"ETH": 0.1}, borrow={"ETH": 0.05}, short_option_min=0.02)
    rows = build_rows(TEST, [BTC, ETH], _instruments(), cfg, AS_OF)
    assert (rows[4].c_long, rows[4].c_short) == (150 * SCALE, 75 * SCALE)
    assert (rows[3].c_long, rows[3].c_short) == (0, 30 * SCALE)


def _ties(k_range: range) -> list[float]:
    """Reals x whose float64 product x * SCALE is exactly an integer plus one half."""
    out = []
    for k in k_range:
        x = (k + 0.5) / SCALE
        if x * SCALE == k + 0.5:
            out.append(x)
    return out


def test_rounding_is_half_to_even() -> None:
    ties = _ties(range(0, 40))
    assert len(ties) >= 4  # the test must see real ties, both parities
    for x in ties:
        k = math.floor(x * SCALE)
        assert to_fixed(x) == (k if k % 2 == 0 else k + 1)
    assert {math.floor(x * SCALE) % 2 for x in ties} == {0, 1}
    depth = ties[1]
    market = build_market(TEST, 0, [dataclasses.replace(BTC, depth=depth)], [], CFG, AS_OF)
    assert market.assets[0].depth == to_fixed(depth) == round(depth * SCALE)
    # Through the vectorised row path: c_long = spot * haircut with spot 1.
    one = AssetQuote("ONE", 1.0, 0.5, 1.0)
    for h in ties[:6]:
        cfg = dataclasses.replace(CFG, haircut={"ONE": h})
        row = build_rows(TEST, [one], [InstrumentSpec(0, "ONE", "ONE", "spot")], cfg, AS_OF)[0]
        k = math.floor(h * SCALE)
        assert row.c_long == (k if k % 2 == 0 else k + 1)


def _err(fn: Callable[..., object], *args: object) -> InputError:
    with pytest.raises(InputError) as err:
        fn(*args)
    return err.value


@pytest.mark.parametrize(
    ("quote", "field"),
    [
        (dataclasses.replace(ETH, spot=0.0), "quotes[1].spot"),
        (dataclasses.replace(ETH, spot=float("inf")), "quotes[1].spot"),
        (dataclasses.replace(ETH, spot=3e8), "quotes[1].spot"),  # 3e14 >= 2**48
        (dataclasses.replace(ETH, spot=1e-7), "quotes[1].spot"),  # rounds to 0
        (dataclasses.replace(ETH, vol=0.0), "quotes[1].vol"),
        (dataclasses.replace(ETH, vol=float("nan")), "quotes[1].vol"),
        (dataclasses.replace(ETH, depth=-1.0), "quotes[1].depth"),
        (dataclasses.replace(ETH, depth=2e13), "quotes[1].depth"),  # 2e19 >= 2**64
        (dataclasses.replace(ETH, name="BTC"), "quotes[1].name"),
    ],
)
def test_bad_quotes_name_the_field(quote: AssetQuote, field: str) -> None:
    err = _err(build_market, TEST, 0, [BTC, quote], [], CFG, AS_OF)
    assert err.field == field


def test_too_many_quotes() -> None:
    err = _err(build_market, TEST, 0, [BTC, ETH, AssetQuote("SOL", 30.0, 1.0, 1e5)], [], CFG, AS_OF)
    assert err.field == "quotes" and "A = 2" in err.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"instrument_id": 16}, "instruments[3].instrument_id"),  # 4**2 = 16
        ({"instrument_id": -1}, "instruments[3].instrument_id"),
        ({"instrument_id": 0}, "instruments[3].instrument_id"),  # duplicate of instruments[0]
        ({"strike": None}, "instruments[3].strike"),
        ({"strike": -5.0}, "instruments[3].strike"),
        ({"expiry": None}, "instruments[3].expiry"),
        ({"vol": 0.0}, "instruments[3].vol"),
        ({"asset": "DOGE"}, "instruments[3].asset"),
        ({"kind": "future"}, "instruments[3].kind"),
        ({"mark": 100.0}, "instruments[3].mark"),  # only perps take a mark
        # a strike of 2.9e8 breaks the input bound 2**48 / SCALE itself (one validator for
        # files and builder: refused at the strike, before a put worth ~2.9e8 is priced)
        ({"strike": 2.9e8}, "instruments[3].strike"),
    ],
)
def test_bad_instruments_name_the_field(change: dict[str, object], field: str) -> None:
    specs = _instruments()
    specs[3] = dataclasses.replace(specs[3], **change)  # type: ignore[arg-type]
    err = _err(build_market, TEST, 0, [BTC, ETH], specs, CFG, AS_OF)
    assert err.field == field
    assert err.message


def test_bad_epoch_and_config() -> None:
    assert _err(build_market, TEST, -1, [BTC], [], CFG, AS_OF).field == "epoch"
    assert _err(build_market, TEST, 2**64, [BTC], [], CFG, AS_OF).field == "epoch"
    bad = dataclasses.replace(CFG, haircut={"BTC": 1.5})
    assert _err(build_market, TEST, 0, [BTC], [], bad, AS_OF).field == "config.haircut.BTC"
    assert (
        _err(build_market, TEST, 0, [BTC], [], dataclasses.replace(CFG, m_min=0.0), AS_OF).field
        == "config.m_min"
    )


def test_standard_profile_vectorised_rows_match_scalar_pricing() -> None:
    quotes = [BTC, ETH, AssetQuote("SOL", 14.0, 1.2, 1e6), AssetQuote("BNB", 280.0, 0.7, 5e6)]
    specs = []
    for iid in range(STANDARD.capacity):
        q = quotes[iid % 4]
        kind = ("spot", "perp", "call", "put")[(iid // 4) % 4]
        if kind in ("spot", "perp"):
            specs.append(InstrumentSpec(iid, f"i{iid}", q.name, kind))  # type: ignore[arg-type]
        else:
            strike = q.spot * (0.5 + (iid % 41) / 40.0)
            expiry = AS_OF + dt.timedelta(days=(iid % 120) - 10)
            specs.append(InstrumentSpec(iid, f"i{iid}", q.name, kind, strike=strike, expiry=expiry))  # type: ignore[arg-type]
    market = build_market(STANDARD, 1, quotes, specs, CFG, AS_OF)
    assert len(market.rows) == 1024
    for spec in specs[::37]:
        if spec.kind not in ("call", "put"):
            continue
        q = quotes[spec.instrument_id % 4]
        assert spec.expiry is not None and spec.strike is not None
        t = (spec.expiry - AS_OF).days / 365
        row = market.rows[spec.instrument_id]
        assert row.mark == to_fixed(b76_price(spec.kind, q.spot, spec.strike, t, q.vol))
        assert row.delta == to_fixed(b76_delta(spec.kind, q.spot, spec.strike, t, q.vol))


def test_builder_and_quotes_file_share_one_validator() -> None:
    """A vol of 12.0 (1200 %) is refused by the row builder exactly as by a quotes file,
    and a spot that rounds to 0 at 10**-6 is refused by both."""
    err = _err(build_market, TEST, 0, [BTC, dataclasses.replace(ETH, vol=12.0)], [], CFG, AS_OF)
    assert err.field == "quotes[1].vol" and "vol <= 10" in err.message
    err = _err(validate_quotes, AS_OF, [BTC, dataclasses.replace(ETH, vol=12.0)], [], TEST)
    assert err.field == "quotes.assets[1].vol" and "vol <= 10" in err.message
    for check in (
        lambda q: build_market(TEST, 0, [q], [], CFG, AS_OF),
        lambda q: validate_quotes(AS_OF, [q], [], TEST),
    ):
        with pytest.raises(InputError, match="spot"):
            check(dataclasses.replace(BTC, spot=4e-7))

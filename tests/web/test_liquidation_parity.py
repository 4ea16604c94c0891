"""The page's liquidation prices (web/src/pricing.js: section 4 in float64 JavaScript, and
web/src/liquidation.js: the search) agree with the engine's (engine/market_builder.py,
engine/report.py): the repriced rows integer for integer (within one unit, the tolerance of
`zkmargin market check`, and nearly all exactly; all of them, so far) on the demo's markets
and on random ones, at spots from 1/100 to 100 times the quote; and on the demo's markets
every liquidation price of every account, with the text the CLI prints."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import random
from pathlib import Path
from typing import Any, Protocol

import pytest

from engine.calibration.forecast import forecast_vol
from engine.formats.account import LabeledAccount, dump_account
from engine.formats.market import dump_market, make_market_file
from engine.formats.params import ParamsFile, dump_risk_params
from engine.formats.quotes import QuotesFile
from engine.margin import compute_margin
from engine.market_builder import build_market, build_rows
from engine.model import Account, AssetQuote, InstrumentSpec, Market, RiskParams, RowConfig, Slot
from engine.pipeline import price_market
from engine.profiles import PROFILES
from engine.report import LiquidationPrice, liquidation_prices
from tests.web.node import run_mjs
from zkmargin.cli.render import spot_text
from zkmargin.demo.data import DEMO_AS_OF, DemoMarket, demo_accounts, demo_market
from zkmargin.web_audit import profiles_json

SPOT_FACTORS = (0.01, 0.05, 0.3, 0.7, 0.93, 1.0, 1.07, 1.5, 4.0, 25.0, 100.0)


class Book(Protocol):
    """A priced market with what it was built from (DemoMarket, RandomBook)."""

    market: Market
    quotes: list[AssetQuote]
    instruments: list[InstrumentSpec]
    config: RowConfig
    params: RiskParams


@dataclasses.dataclass
class RandomBook:
    market: Market
    quotes: list[AssetQuote]
    instruments: list[InstrumentSpec]
    config: RowConfig
    params: RiskParams


def _random_book(seed: int) -> RandomBook:
    """Random quotes, row settings and a full tree of instruments (demo profile): tiny and
    large spots, vols from 5 % to 300 %, scan ranges at either clamp, options deep in and out
    of the money, expired, expiring today or in two years, own vols, perps with own marks."""
    rng = random.Random(seed)
    profile = PROFILES["demo"]
    names = [f"X{a}" for a in range(rng.randint(1, profile.assets))]
    quotes = [
        AssetQuote(
            n, spot=10 ** rng.uniform(-2, 5), vol=rng.uniform(0.05, 3.0), depth=10 ** rng.uniform(3, 9)
        )
        for n in names
    ]

    def some(lo: float, hi: float) -> dict[str, float]:
        return {n: rng.uniform(lo, hi) for n in names if rng.random() < 0.6}

    config = RowConfig(
        z=rng.uniform(1.0, 5.0),
        h_days=rng.choice([1.0, 2.0, 10.0]),
        m_min=rng.uniform(0.01, 0.1),
        m_max=rng.uniform(0.15, 0.9),
        v_up=rng.uniform(0.0, 1.0),
        v_dn=rng.uniform(0.0, 0.95),
        v_floor=rng.uniform(0.05, 0.6),
        w_ext=rng.uniform(0.0, 1.0),
        perp_charge=rng.uniform(0.0, 0.05),
        short_option_min=rng.uniform(0.0, 0.05),
        haircut=some(0.0, 0.3),
        borrow=some(0.0, 0.3),
        forecast=some(0.01, 3.0),
    )
    instruments = []
    for iid in range(profile.capacity):
        q = rng.choice(quotes)
        kind = rng.choice(["spot", "perp", "call", "put", "call", "put"])
        if kind in ("call", "put"):
            days = rng.choice([-3, 0, 1, rng.randint(2, 800)])
            spec = InstrumentSpec(
                iid,
                f"O{iid}",
                q.name,
                kind,
                strike=q.spot * 10 ** rng.uniform(-0.8, 0.8),
                expiry=DEMO_AS_OF + dt.timedelta(days=days),
                vol=rng.uniform(0.05, 3.0) if rng.random() < 0.4 else None,
            )
        else:
            mark = q.spot * rng.uniform(0.9, 1.1) if kind == "perp" and rng.random() < 0.5 else None
            spec = InstrumentSpec(iid, f"L{iid}", q.name, kind, mark=mark)
        instruments.append(spec)
    market = build_market(profile, 1, quotes, instruments, config, DEMO_AS_OF)
    size = profile.assets
    identity = tuple(tuple(10**6 if a == b else 0 for b in range(size)) for a in range(size))
    params = RiskParams(mm_factor=750_000, kappa=(0,) * size, rho=identity)
    return RandomBook(market, quotes, instruments, config, params)


def _edge_accounts(dm: DemoMarket) -> list[Account]:
    """One-sided and two-sided books, nothing held, out of range, already liquidatable."""
    market, params = dm.market, dm.params
    k = market.profile.slots
    ids = {spec.name: spec.instrument_id for spec in dm.instruments}
    btc_calls = [s.instrument_id for s in dm.instruments if s.asset == "BTC" and s.kind == "call"]
    btc_puts = [s.instrument_id for s in dm.instruments if s.asset == "BTC" and s.kind == "put"]

    def account(n: int, positions: dict[int, int], cash_for: Any) -> Account:
        slots = [Slot(i, q) for i, q in sorted(positions.items())] + [Slot(0, 0)] * (k - len(positions))
        base = Account(account_id=5000 + n, nonce=1, salt=77 + n, cash=0, slots=tuple(slots))
        r = compute_margin(market, params, base)
        return dataclasses.replace(base, cash=cash_for(r))

    one = 10**6
    return [
        account(0, {ids["BTC"]: one}, lambda r: r.MM - r.E + r.MM // 2),  # long spot: falls
        account(1, {ids["BTC-PERP"]: -2 * one}, lambda r: r.IM - r.E),  # short perp: rises
        account(2, {btc_calls[-1]: -one, btc_puts[0]: -one}, lambda r: r.IM * 2 - r.E),  # strangle
        account(3, {}, lambda r: 10**9),  # nothing held
        account(4, {ids["BTC"]: one // 100}, lambda r: 10**15),  # never within [1/100, 100]
        account(5, {ids["ETH-PERP"]: 5 * one}, lambda r: r.MM // 2 - r.E),  # liquidatable now
    ]


def _python_prices(dm: Book, account: Account) -> tuple[LiquidationPrice, ...]:
    return liquidation_prices(dm.market, dm.params, account, dm.quotes, dm.instruments, dm.config, DEMO_AS_OF)


def _market_doc(dm: Book) -> dict[str, Any]:
    quotes = QuotesFile(DEMO_AS_OF, tuple(dm.quotes), tuple(dm.instruments))
    return dump_market(make_market_file(dm.market, quotes, dm.config, None))


def _run_page(dm: Book, accounts: list[Account], tmp_path: Path, **more: Any) -> Any:
    case = {
        "profiles": profiles_json(),
        "market": _market_doc(dm),
        "params": {"format": "zkmargin/params@2", "model": "ZKPM-2", **dump_risk_params(dm.params)},
        "accounts": [dump_account(LabeledAccount(a)) for a in accounts],
        "spots": [],
        **more,
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    return run_mjs("liquidation_cases.mjs", path)


def _python_rows(dm: Book, asset: int, spot: float) -> list[dict[str, Any]]:
    quotes = [dataclasses.replace(q, spot=spot) if a == asset else q for a, q in enumerate(dm.quotes)]
    name = dm.quotes[asset].name
    specs = [s for s in dm.instruments if s.asset == name]
    rows = build_rows(dm.market.profile, quotes, specs, dm.config, DEMO_AS_OF)
    return [
        {
            "id": str(r.instrument_id),
            "mark": str(r.mark),
            "delta": str(r.delta),
            "ra": [str(v) for v in r.ra],
            "c_long": str(r.c_long),
            "c_short": str(r.c_short),
        }
        for r in rows.values()
    ]


def _values(row: dict[str, Any]) -> list[int]:
    return [
        int(row["mark"]),
        int(row["delta"]),
        *map(int, row["ra"]),
        int(row["c_long"]),
        int(row["c_short"]),
    ]


def _assert_rows_agree(book: Book, spots: list[list[float]], page_rows: list[Any]) -> int:
    """Every value of every repriced row within one unit of the engine's, and nearly all
    equal; returns how many values were compared."""
    exact = total = 0
    for (asset, spot), got in zip(spots, page_rows, strict=True):
        want = _python_rows(book, int(asset), spot)
        assert [r["id"] for r in got] == [r["id"] for r in want]
        for g, w in zip(got, want, strict=True):
            for x, y in zip(_values(g), _values(w), strict=True):
                assert abs(x - y) <= 1, (asset, spot, g["id"], x, y)
                exact += x == y
                total += 1
    assert total and exact / total > 0.999, f"{exact} of {total} values equal"
    return total


@pytest.mark.parametrize("profile", ["demo", "test"])
def test_page_liquidation_prices_are_the_engines(profile: str, tmp_path: Path) -> None:
    dm = demo_market(PROFILES[profile])
    accounts = demo_accounts(dm.market, dm.params, count=16 if profile == "demo" else 8, seed=5)[0]
    if profile == "demo":
        accounts += _edge_accounts(dm)
    rng = random.Random(3)
    numbers = [0.0123456789, 1e-5, 9.87654e-5, 1.0, 100.0, 999_999.4, 999_999.6, 1234.5678, 5e7]
    numbers += [10 ** rng.uniform(-6, 9) for _ in range(200)]
    spots = [[a, q.spot * f] for a, q in enumerate(dm.quotes) for f in SPOT_FACTORS]
    page = _run_page(dm, accounts, tmp_path, spots=spots, numbers=numbers)

    assert page["texts"] == [spot_text(x) for x in numbers]

    _assert_rows_agree(dm, spots, page["rows"])

    seen = {"below": 0, "above": 0, "none in range": 0, "now": 0, "not held": 0}
    for account, got in zip(accounts, page["prices"], strict=True):
        want = _python_prices(dm, account)
        assert [p["name"] for p in got] == [p.name for p in want]
        for g, w in zip(got, want, strict=True):
            where = (account.account_id, w.name)
            assert g["error"] is None, where
            assert (g["held"], g["already"]) == (w.held, w.already), where
            for side in ("below", "above"):
                mine, theirs = g[side], getattr(w, side)
                assert (mine is None) == (theirs is None), (where, side, mine, theirs)
                if theirs is not None:
                    assert abs(mine / theirs - 1) <= 2 * w.rel_tol, (where, side, mine, theirs)
                if w.held and not w.already:
                    seen[side if theirs is not None else "none in range"] += 1
            seen["now"] += w.already
            seen["not held"] += not w.held
            if w.held and not w.already:
                assert g["text"] == [spot_text(w.below), spot_text(w.above)], where
    assert all(seen.values()), f"every outcome is covered: {seen}"


def test_the_page_names_what_it_cannot_reprice(tmp_path: Path) -> None:
    """No source, a history without its forecast, a row that does not follow from the
    quotes, a bad instrument id: each is said, for the asset or the whole table."""
    dm = demo_market(PROFILES["demo"])
    accounts = _edge_accounts(dm)[:3]  # BTC: long spot, short perp, short strangle
    good = _market_doc(dm)

    def broken(change: Any) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(json.dumps(good))
        change(doc["source"])
        return doc

    def no_btc_forecast(src: dict[str, Any]) -> None:
        src["assets"][0]["history"] = [29_000.0, 30_000.0]
        del src["row_config"]["forecast"]["BTC"]

    def strike_moved(src: dict[str, Any]) -> None:
        option = next(i for i in src["instruments"] if i["asset"] == "BTC" and i["kind"] == "put")
        option["strike"] *= 1.01

    def bad_id(src: dict[str, Any]) -> None:
        src["instruments"][0]["id"] = 1.5

    markets = [
        {k: v for k, v in good.items() if k != "source"},
        broken(no_btc_forecast),
        broken(strike_moved),
        broken(bad_id),
    ]
    page = _run_page(dm, accounts, tmp_path, broken=markets)
    assert all(isinstance(p, list) and p[0]["error"] is None for p in page["prices"])
    no_source, no_forecast, moved, bad = page["refused"]
    assert all("market.source: missing" in p["thrown"] for p in no_source)
    assert all("market.source.instruments[0].id: must be an integer" in p["thrown"] for p in bad)
    for prices in no_forecast:
        assert "BTC: its quote has a price history but the market records no forecast" in prices[0]["error"]
        assert prices[0]["below"] is None and prices[0]["above"] is None
    strangle = moved[2][0]
    assert "does not follow from its quotes" in strangle["error"]
    assert moved[0][0]["error"] is None  # the long spot holds no moved option


@pytest.mark.parametrize("seed", range(6))
def test_page_rows_are_the_engines_on_random_markets(seed: int, tmp_path: Path) -> None:
    book = _random_book(seed)
    spots = [[a, q.spot * f] for a, q in enumerate(book.quotes) for f in SPOT_FACTORS]
    page = _run_page(book, [], tmp_path, spots=spots)
    assert _assert_rows_agree(book, spots, page["rows"]) == 64 * len(SPOT_FACTORS) * 20


def test_a_market_of_single_histories_records_its_forecasts(tmp_path: Path) -> None:
    """Histories of unequal length are not calibrated together: the pipeline fits each
    asset's forecast to its own history, and the market file records it, so the page
    reprices that market like any other (no 'the market records no forecast')."""
    dm = demo_market(PROFILES["demo"])
    rng = random.Random(4)
    quotes = []
    for n, q in enumerate(dm.quotes):
        closes = [q.spot]
        for _ in range(60 + 25 * n):
            closes.append(closes[-1] * math.exp(rng.gauss(0.0, 0.04)))
        quotes.append(dataclasses.replace(q, history=tuple(reversed(closes))))
    bare = dataclasses.replace(dm.config, forecast={})
    params = ParamsFile(dm.params.mm_factor, dm.params.kappa, dm.params.rho, bare)
    priced = price_market(
        QuotesFile(DEMO_AS_OF, tuple(quotes), tuple(dm.instruments)), params, PROFILES["demo"], 1
    )
    assert priced.calibration is None
    assert priced.file.config.forecast == {q.name: forecast_vol(q.history) for q in quotes}
    unrecorded = build_market(PROFILES["demo"], 1, quotes, dm.instruments, bare, DEMO_AS_OF)
    assert priced.market.rows == unrecorded.rows  # recording the forecasts changes no row

    book = RandomBook(priced.market, quotes, list(dm.instruments), priced.file.config, priced.risk)
    accounts = demo_accounts(book.market, book.params, count=8, seed=9)[0]
    page = _run_page(book, accounts, tmp_path)
    for account, got in zip(accounts, page["prices"], strict=True):
        want = _python_prices(book, account)
        for g, w in zip(got, want, strict=True):
            assert g["error"] is None, g
            for side in ("below", "above"):
                mine, theirs = g[side], getattr(w, side)
                assert (mine is None) == (theirs is None)
                assert mine is None or abs(mine / theirs - 1) <= 2 * w.rel_tol

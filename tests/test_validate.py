"""engine.validate: each bound of spec section 1 accepts its edge and rejects one past it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from engine.errors import InputError
from engine.fixedpoint import FIELD_P, SCALE
from engine.model import (
    EMPTY_SLOT,
    Account,
    AssetEntry,
    AssetQuote,
    InstrumentRow,
    InstrumentSpec,
    Market,
    RiskParams,
    Slot,
)
from engine.profiles import get_profile
from engine.validate import (
    canonicalize_positions,
    validate_account,
    validate_market,
    validate_params,
    validate_quotes,
)

TEST = get_profile("test")  # A = 2, k = 4, d = 2
AS_OF = dt.date(2022, 11, 15)


def _params(**changes: object) -> RiskParams:
    base = RiskParams(mm_factor=600_000, kappa=(100_000, 0), rho=((SCALE, 500_000), (500_000, SCALE)))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _row(iid: int = 0, **changes: object) -> InstrumentRow:
    base = InstrumentRow(
        instrument_id=iid,
        asset=0,
        mark=100 * SCALE,
        delta=SCALE,
        ra=tuple([-SCALE] * 16),
        c_long=0,
        c_short=0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _market(
    assets: tuple[AssetEntry, ...] | None = None, rows: dict[int, InstrumentRow] | None = None
) -> Market:
    return Market(
        profile=TEST,
        epoch=1,
        assets=assets if assets is not None else (AssetEntry(100 * SCALE, 10**6 * SCALE), AssetEntry(0, 1)),
        rows=rows if rows is not None else {0: _row(0), 3: _row(3)},
    )


def _account(slots: tuple[Slot, ...] | None = None, **changes: object) -> Account:
    base = Account(
        account_id=1,
        nonce=0,
        salt=12345,
        cash=0,
        slots=slots or (Slot(0, SCALE), Slot(3, -SCALE), EMPTY_SLOT, EMPTY_SLOT),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _fails(fn: object, field: str, words: str) -> None:
    assert callable(fn)
    with pytest.raises(InputError) as info:
        fn()
    assert info.value.field == field
    assert words in info.value.message


# ------------------------------------------------------------------- params


def test_params_valid() -> None:
    validate_params(_params(), TEST)
    validate_params(_params(mm_factor=SCALE, kappa=(2**32 - 1, 0)), TEST)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"mm_factor": 0}, "params.mm_factor", "0 < mm_factor <= 10**6"),
        ({"mm_factor": SCALE + 1}, "params.mm_factor", "0 < mm_factor <= 10**6"),
        ({"mm_factor": 0.5}, "params.mm_factor", "integer"),
        ({"kappa": (2**32, 0)}, "params.kappa[0]", "kappa < 2**32"),
        ({"kappa": (0, -1)}, "params.kappa[1]", "0 <= kappa"),
        ({"kappa": (0,)}, "params.kappa", "A = 2"),
        ({"rho": ((SCALE, 0),)}, "params.rho", "2 x 2"),
        ({"rho": ((SCALE, 0), (0, SCALE - 1))}, "params.rho[1][1]", "diagonal must equal 10**6"),
        ({"rho": ((SCALE, 10), (20, SCALE))}, "params.rho[0][1]", "symmetric"),
        ({"rho": ((SCALE, SCALE + 1), (SCALE + 1, SCALE))}, "params.rho[0][1]", "|rho| must be <= 10**6"),
        ({"rho": ((SCALE, True), (True, SCALE))}, "params.rho[0][1]", "integer"),
    ],
)
def test_params_bounds(changes: dict[str, object], field: str, words: str) -> None:
    _fails(lambda: validate_params(_params(**changes), TEST), field, words)


def test_rho_not_psd() -> None:
    three = get_profile("demo")  # A = 4
    r = 900_000
    rho = ((SCALE, r, -r, 0), (r, SCALE, r, 0), (-r, r, SCALE, 0), (0, 0, 0, SCALE))
    params = RiskParams(mm_factor=SCALE, kappa=(0, 0, 0, 0), rho=rho)
    _fails(lambda: validate_params(params, three), "params.rho", "positive semi-definite")


def test_rho_psd_boundary_is_accepted() -> None:
    # rho = 1 everywhere is singular (eigenvalue 0) but PSD.
    validate_params(_params(rho=((SCALE, SCALE), (SCALE, SCALE))), TEST)


# ------------------------------------------------------------------- market


def test_market_valid() -> None:
    validate_market(_market())


@pytest.mark.parametrize(
    ("assets", "field", "words"),
    [
        ((AssetEntry(2**48, SCALE), AssetEntry(0, 1)), "market.assets[0].spot", "0 < S < 2**48"),
        ((AssetEntry(-1, SCALE), AssetEntry(0, 1)), "market.assets[0].spot", "0 < S < 2**48"),
        ((AssetEntry(SCALE, 0), AssetEntry(0, 1)), "market.assets[0].depth", "0 < D < 2**64"),
        ((AssetEntry(SCALE, 2**64), AssetEntry(0, 1)), "market.assets[0].depth", "0 < D < 2**64"),
        ((AssetEntry(SCALE, SCALE), AssetEntry(0, 2)), "market.assets[1].depth", "depth 1"),
        ((AssetEntry(SCALE, SCALE),), "market.assets", "A = 2"),
    ],
)
def test_market_asset_bounds(assets: tuple[AssetEntry, ...], field: str, words: str) -> None:
    _fails(lambda: validate_market(_market(assets=assets)), field, words)


def test_market_edges_accepted() -> None:
    validate_market(_market(assets=(AssetEntry(2**48 - 1, 2**64 - 1), AssetEntry(0, 1))))
    edge = _row(0, mark=-(2**48 - 1), delta=-16 * SCALE, ra=tuple([2**48 - 1] * 16), c_long=2**48 - 1)
    validate_market(_market(rows={0: edge}))


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"mark": 2**48}, "market.rows[id=0].mark", "|M| must be < 2**48"),
        ({"delta": 16 * SCALE + 1}, "market.rows[id=0].delta", "16 * 10**6"),
        ({"ra": tuple([0] * 15)}, "market.rows[id=0].ra", "16 scenario values"),
        ({"ra": tuple([0] * 15 + [-(2**48)])}, "market.rows[id=0].ra[15]", "|RA[s]| must be < 2**48"),
        ({"c_long": -1}, "market.rows[id=0].c_long", "0 <= c_long < 2**48"),
        ({"c_short": 2**48}, "market.rows[id=0].c_short", "c_short < 2**48"),
        ({"asset": 2}, "market.rows[id=0].asset", "asset < A = 2"),
        ({"asset": 1}, "market.rows[id=0].asset", "unused"),
        ({"instrument_id": 5}, "market.rows[id=0].instrument_id", "key 0"),
    ],
)
def test_market_row_bounds(changes: dict[str, object], field: str, words: str) -> None:
    _fails(lambda: validate_market(_market(rows={0: _row(0, **changes)})), field, words)


def test_market_row_id_beyond_tree() -> None:
    _fails(lambda: validate_market(_market(rows={16: _row(16)})), "market.rows[id=16].instrument_id", "4**2")


# ------------------------------------------------------------------ account


def test_account_valid() -> None:
    validate_account(_account(), _market())
    validate_account(
        _account(account_id=2**64 - 1, nonce=2**64 - 1, salt=FIELD_P - 1, cash=-(2**80 - 1)), TEST
    )


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"account_id": 2**64}, "account.account_id", "account_id < 2**64"),
        ({"account_id": -1}, "account.account_id", "0 <= account_id"),
        ({"nonce": 2**64}, "account.nonce", "nonce < 2**64"),
        ({"salt": FIELD_P}, "account.salt", "salt < p"),
        ({"cash": 2**80}, "account.cash", "|cash| must be < 2**80"),
        ({"cash": 1.0}, "account.cash", "integer"),
    ],
)
def test_account_scalar_bounds(changes: dict[str, object], field: str, words: str) -> None:
    _fails(lambda: validate_account(_account(None, **changes), TEST), field, words)


@pytest.mark.parametrize(
    ("slots", "field", "words"),
    [
        ((Slot(0, 2**48), EMPTY_SLOT, EMPTY_SLOT, EMPTY_SLOT), "account.slots[0].q", "|q| must be < 2**48"),
        (
            (Slot(3, 1), Slot(0, 1), EMPTY_SLOT, EMPTY_SLOT),
            "account.slots[1].instrument_id",
            "strictly increasing",
        ),
        (
            (Slot(3, 1), Slot(3, 1), EMPTY_SLOT, EMPTY_SLOT),
            "account.slots[1].instrument_id",
            "strictly increasing",
        ),
        ((EMPTY_SLOT, Slot(3, 1), EMPTY_SLOT, EMPTY_SLOT), "account.slots[1].q", "before every empty slot"),
        (
            (Slot(0, 1), Slot(2, 0), EMPTY_SLOT, EMPTY_SLOT),
            "account.slots[1].instrument_id",
            "instrument id 0",
        ),
        ((Slot(0, 1), EMPTY_SLOT, EMPTY_SLOT), "account.slots", "k = 4"),
        ((Slot(16, 1), EMPTY_SLOT, EMPTY_SLOT, EMPTY_SLOT), "account.slots[0].instrument_id", "4**2"),
    ],
)
def test_account_slot_rules(slots: tuple[Slot, ...], field: str, words: str) -> None:
    _fails(lambda: validate_account(_account(slots=slots), TEST), field, words)


def test_account_unknown_instrument_needs_market() -> None:
    account = _account(slots=(Slot(2, 1), EMPTY_SLOT, EMPTY_SLOT, EMPTY_SLOT))
    validate_account(account, TEST)  # the profile alone cannot know which ids are listed
    _fails(
        lambda: validate_account(account, _market()), "account.slots[0].instrument_id", "unknown instrument 2"
    )


# ---------------------------------------------------------------- canonical


def test_canonicalize_sorts_drops_zero_and_pads() -> None:
    slots = canonicalize_positions([(9, 5), (2, -1), (4, 0)], 4)
    assert slots == (Slot(2, -1), Slot(9, 5), EMPTY_SLOT, EMPTY_SLOT)
    validate_account(_account(slots=slots), TEST)


def test_canonicalize_rejects_duplicates_and_overflow() -> None:
    _fails(
        lambda: canonicalize_positions([(1, 1), (2, 1), (1, 3)], 4),
        "account.positions[2].instrument_id",
        "duplicate",
    )
    too_many = [(i, 1) for i in range(5)]
    _fails(lambda: canonicalize_positions(too_many, 4), "account.positions", "at most k = 4")
    _fails(
        lambda: canonicalize_positions([(1, -(2**48))], 4), "account.positions[0].q", "|q| must be < 2**48"
    )
    assert len(canonicalize_positions([(i, 1) for i in range(4)] + [(7, 0)], 4)) == 4


# ------------------------------------------------------------------- quotes


def _quotes(**changes: object) -> list[AssetQuote]:
    return [dataclasses.replace(AssetQuote("BTC", 16_000.0, 0.7, 4e7), **changes)]  # type: ignore[arg-type]


def _call(**changes: object) -> list[InstrumentSpec]:
    spec = InstrumentSpec(1, "C", "BTC", "call", strike=18_000.0, expiry=AS_OF, vol=0.7)
    return [dataclasses.replace(spec, **changes)]  # type: ignore[arg-type]


def test_quotes_valid_and_expiry_today_allowed() -> None:
    validate_quotes(AS_OF, _quotes(), _call(), TEST)


@pytest.mark.parametrize(
    ("quotes", "specs", "field", "words"),
    [
        (_quotes(depth=0.0), [], "quotes.assets[0].depth", "must be > 0"),
        (_quotes(spot=float("nan")), [], "quotes.assets[0].spot", "finite"),
        (_quotes(spot=3e8), [], "quotes.assets[0].spot", "2**48"),
        (_quotes(vol=60.0), [], "quotes.assets[0].vol", "0 < vol <= 10"),
        (_quotes(history=(1.0, -2.0)), [], "quotes.assets[0].history[1]", "> 0"),
        (_quotes() * 3, [], "quotes.assets", "at most A = 2"),
        (_quotes() * 2, [], "quotes.assets[1].name", "duplicate"),
        (
            _quotes(),
            _call(expiry=AS_OF - dt.timedelta(days=1)),
            "quotes.instruments[0].expiry",
            "on or after as_of",
        ),
        (_quotes(), _call(asset="ETH"), "quotes.instruments[0].asset", "unknown asset"),
        (_quotes(), _call(strike=None), "quotes.instruments[0].strike", "required"),
        (_quotes(), _call(instrument_id=16), "quotes.instruments[0].id", "4**2"),
        (_quotes(), _call(mark=1.0), "quotes.instruments[0].mark", "only a perp"),
        (_quotes(), _call() * 2, "quotes.instruments[1].id", "duplicate"),
    ],
)
def test_quotes_rules(quotes: list[AssetQuote], specs: list[InstrumentSpec], field: str, words: str) -> None:
    _fails(lambda: validate_quotes(AS_OF, quotes, specs, TEST), field, words)

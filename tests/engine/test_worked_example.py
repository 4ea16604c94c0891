"""The worked example of docs/margin-model.md, number for number."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.margin import compute_margin
from engine.model import Account, AssetEntry, InstrumentRow, Market, RiskParams, Slot
from engine.profiles import PROFILES

S = 10**6
MOVES = (0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1)


def perp_ra(spot: int, m: float) -> tuple[int, ...]:
    """Scenario P&L of one long perp unit, rounded half-to-even like the engine's rows."""
    main = [round(x * m * spot * S) for x in MOVES]
    return (*main, round(0.35 * 3 * m * spot * S), round(-0.35 * 3 * m * spot * S))


BTC = InstrumentRow(1, 0, 20_000 * S, S, perp_ra(20_000, 0.10), 200 * S, 200 * S)
ETH = InstrumentRow(2, 1, 1_500 * S, S, perp_ra(1_500, 0.15), 15 * S, 15 * S)
MARKET = Market(
    PROFILES["test"],
    1,
    (AssetEntry(20_000 * S, 50_000_000 * S), AssetEntry(1_500 * S, 20_000_000 * S)),
    {1: BTC, 2: ETH},
)
PARAMS = RiskParams(750_000, (500_000, 500_000), ((S, 800_000), (800_000, S)))
ACCOUNT = Account(7, 1, 12345, 5_000 * S, (Slot(1, S), Slot(2, -10 * S), Slot(0, 0), Slot(0, 0)))


def test_rows_are_the_documented_ones() -> None:
    assert BTC.ra[2] == 666_666_667 and BTC.ra[14:] == (2_100 * S, -2_100 * S)
    assert ETH.ra[10] == 225 * S and ETH.ra[14:] == (236_250_000, -236_250_000)


def test_worked_example_numbers() -> None:
    r = compute_margin(MARKET, PARAMS, ACCOUNT)
    both_long = compute_margin(
        MARKET, PARAMS, replace(ACCOUNT, slots=(Slot(1, S), Slot(2, 10 * S), *ACCOUNT.slots[2:]))
    )
    assert both_long.R == 4_032_679_010 + 212_500_000  # the same legs both long: no credit
    assert r.W == (2_100_000_000, 2_362_500_000)
    assert r.worst_scenario == (15, 14)
    assert r.D_sum == (8_000 * S * S, -9_000 * S * S)
    assert (r.Dir, r.S) == ((2_000 * S, -2_250 * S), (2_000 * S, -2_250 * S))
    assert r.U == (100 * S, 112_500_000)
    assert r.X == 1_862_500_000_000_000_000
    assert (r.R_dir, r.R) == (1_364_734_406, 1_577_234_406)
    assert r.N == (20_000_000_000, 15_000_000_000)
    assert r.LQ == (4_000_000, 5_625_000)
    assert r.SC == 350_000_000
    assert r.IM == 1_936_859_406
    assert r.MM == 1_452_644_554
    assert r.E == 10_000_000_000
    assert (r.status, r.shortfall) == (0, 0)


@pytest.mark.parametrize(
    ("equity", "status", "shortfall"),
    [
        (1_936_859_406, 0, 0),  # E = IM
        (1_936_859_405, 1, 0),  # one unit below IM
        (1_452_644_554, 1, 0),  # E = MM
        (1_452_644_553, 2, 1),  # one unit below MM
        (0, 2, 1_452_644_554),  # E = 0 is not yet insolvent
        (-1, 3, 1_452_644_555),
    ],
)
def test_status_boundaries(equity: int, status: int, shortfall: int) -> None:
    account = replace(ACCOUNT, cash=equity - 5_000 * S)
    r = compute_margin(MARKET, PARAMS, account)
    assert (r.E, r.status, r.shortfall) == (equity, status, shortfall)

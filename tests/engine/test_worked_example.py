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
    assert r.W == (2_100_000_000, 2_362_500_000)
    assert r.worst_scenario == (15, 14)
    assert r.X == 17_929_406_250_000_000_000
    assert r.R == 4_234_312_960
    assert r.N == (20_000_000_000, 15_000_000_000)
    assert r.LQ == (4_000_000, 5_625_000)
    assert r.SC == 350_000_000
    assert r.IM == 4_593_937_960
    assert r.MM == 3_445_453_470
    assert r.E == 10_000_000_000
    assert (r.status, r.shortfall) == (0, 0)


@pytest.mark.parametrize(
    ("equity", "status", "shortfall"),
    [
        (4_593_937_960, 0, 0),  # E = IM
        (4_593_937_959, 1, 0),  # one unit below IM
        (3_445_453_470, 1, 0),  # E = MM
        (3_445_453_469, 2, 1),  # one unit below MM
        (0, 2, 3_445_453_470),  # E = 0 is not yet insolvent
        (-1, 3, 3_445_453_471),
    ],
)
def test_status_boundaries(equity: int, status: int, shortfall: int) -> None:
    account = replace(ACCOUNT, cash=equity - 5_000 * S)
    r = compute_margin(MARKET, PARAMS, account)
    assert (r.E, r.status, r.shortfall) == (equity, status, shortfall)

"""The cascade's parts alone: the keeper's queue, the impact laws, the ledger, the
population and the price path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cascade.keeper import Keeper
from cascade.ledger import Ledger, ints
from cascade.population import SLOTS, generate, load_population
from cascade.prices import decay_factor, log_impact
from engine.errors import InputError
from tests.cascade.conftest import World


def test_the_keeper_settles_k_at_a_time_at_its_rate_after_its_latency() -> None:
    keeper = Keeper(proofs_per_s=1.0, k=8, latency_s=2.0)
    keeper.enqueue(np.arange(20))
    settled, times = keeper.due(0.0, 3.5)  # batches start at 0, 1, 2: settle at 2, 3, 4
    assert settled.tolist() == list(range(16)) and times.tolist() == [2.0] * 8 + [3.0] * 8
    settled, times = keeper.due(3.5, 10.0)
    assert settled.tolist() == list(range(16, 20)) and times.tolist() == [4.0] * 4
    assert keeper.pending == 0
    keeper.enqueue(np.array([30]))
    settled, times = keeper.due(10.0, 20.0)  # idle keeper: starts at once
    assert settled.tolist() == [30] and times.tolist() == [12.0]


def test_instant_settlement_settles_everything_now() -> None:
    keeper = Keeper(instant=True)
    keeper.enqueue(np.arange(1000))
    settled, times = keeper.due(5.0, 6.0)
    assert settled.size == 1000 and set(times.tolist()) == {5.0}


@given(
    st.floats(-1e9, 1e9, allow_nan=False),
    st.floats(1e3, 1e9),
    st.floats(0.001, 0.2),
    st.floats(0.0, 5.0),
)
def test_impact_laws_sign_size_and_depth(flow: float, depth: float, sigma: float, coef: float) -> None:
    for law in ("sqrt", "linear"):
        move = float(
            log_impact(np.array([flow]), np.array([depth]), np.array([sigma]), law, np.array([coef]))[0]
        )
        deeper = float(
            log_impact(np.array([flow]), np.array([2 * depth]), np.array([sigma]), law, np.array([coef]))[0]
        )
        assert move * flow >= 0  # selling (negative flow) moves the price down
        assert abs(deeper) <= abs(move) + 1e-15
    sqrt = log_impact(np.array([-4.0 * depth]), np.array([depth]), np.array([sigma]), "sqrt", np.array([1.0]))
    assert sqrt[0] == pytest.approx(-2.0 * sigma)


def test_decay_halves_over_the_half_life() -> None:
    assert decay_factor(3600.0, 1.0) == pytest.approx(0.5)
    assert decay_factor(3600.0, 6.0) ** 6 == pytest.approx(0.5)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-(10**15), 10**15), min_size=3, max_size=12),
    st.integers(0, 10**14),
    st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=4),
    st.integers(1, 10**9),
)
def test_the_ledger_conserves_cash_and_units(cash: list[int], fund: int, dq: list[int], price: int) -> None:
    n = len(cash)
    units0 = np.zeros(2, dtype=np.int64)
    ledger = Ledger(ints(cash), fund, units0)
    accounts = np.arange(min(len(dq), n), dtype=np.int64)
    m = accounts.size
    d = np.array(dq[:m], dtype=np.int64).reshape(m, 1)
    ledger.trade(accounts, np.zeros((m, 1), dtype=np.int64), d, np.full((m, 1), price, dtype=np.int64), 10**6)
    ledger.deposit(accounts[:1], ints([12345]))
    closed = accounts[:2]
    payers = np.arange(2, n, dtype=np.int64)
    weights = ints([max(int(c), 0) for c in ledger.cash[payers]])
    bad = ledger.absorb(closed, weights, payers)
    q_sum = np.array([int(d.sum()), 0], dtype=np.int64)
    assert ledger.residuals(q_sum) == (0, 0)
    assert bad == ledger.fund_draw + ledger.socialised + ledger.uncovered
    assert all(int(c) >= 0 for c in ledger.cash[closed]) or ledger.uncovered > 0


def test_generated_accounts_are_seeded_and_canonical() -> None:
    a, b = generate(500, ("BTC", "ETH", "SOL"), seed=7), generate(500, ("BTC", "ETH", "SOL"), seed=7)
    assert np.array_equal(a.notional, b.notional) and np.array_equal(a.u, b.u)
    assert not np.array_equal(a.notional, generate(500, ("BTC", "ETH", "SOL"), seed=8).notional)
    ids = np.where(a.asset >= 0, a.instrument_ids(), 10**9)
    assert (np.diff(ids, axis=1) > 0).all() or (np.diff(ids, axis=1) >= 0).all()
    held = a.asset >= 0
    assert held[:, 0].all() and a.asset.shape[1] == SLOTS
    assert (held.sum(axis=1) >= 1).all() and (a.notional[held] != 0).all()
    assert (a.notional[(a.kind == 0) & held] > 0).all()  # spot is held long
    with pytest.raises(InputError, match="accounts"):
        generate(0, ("BTC",), seed=1)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"format": "x"}, "format"),
        ({"accounts": []}, "accounts"),
        (
            {"accounts": [{"equity": -1, "legs": [{"asset": "BTC", "kind": "perp", "notional": 1}]}]},
            "accounts[0].equity",
        ),
        (
            {"accounts": [{"equity": 10, "legs": [{"asset": "XRP", "kind": "perp", "notional": 1}]}]},
            "accounts[0].legs[0].asset",
        ),
        (
            {"accounts": [{"equity": 10, "legs": [{"asset": "BTC", "kind": "call", "notional": 1}]}]},
            "accounts[0].legs[0].kind",
        ),
        (
            {
                "accounts": [
                    {"equity": 10, "legs": [{"asset": "BTC", "kind": "perp", "notional": float("nan")}]}
                ]
            },
            "accounts[0].legs[0].notional",
        ),
    ],
)
def test_a_bad_accounts_file_names_the_field(doc: dict[str, object], field: str, tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"format": "zkmargin/cascade-accounts@1", **doc}))
    with pytest.raises(InputError) as err:
        load_population(path, ("BTC", "ETH"), seed=1)
    assert err.value.field.endswith(field)


def test_the_path_meets_every_close_and_uses_only_earlier_closes(world: World) -> None:
    path = world.path(steps_per_day=6)
    index = {a: world.history[a].index() for a in path.assets}
    for j, d in enumerate(path.dates):
        closes = [world.history[a].closes[index[a][d]] for a in path.assets]
        assert np.allclose(path.spots[6 * j], closes, rtol=1e-12)
    for k in range(1, path.steps + 1):
        assert path.dates[int(path.info[k])] < path.dates[(k + 5) // 6]  # the close before the step's day


def test_forecast_skill_pools_every_asset_and_counts_breaches(world: World) -> None:
    from cascade.skill import forecast_skill

    skill = forecast_skill(world.walk, 2.5)
    assert set(skill["models"]) == {"trailing30", "ewma", "garch", "garch_apc", "garch_emir"}
    assert 0 < skill["crash_days"] < skill["days"]
    for row in skill["models"].values():
        assert np.isfinite(row["all"]["qlike"]) and row["all"]["mse_x1e6"] > 0
        assert 0 <= row["crash"]["breaches"] <= row["all"]["breaches"]
        assert 0.0 <= row["all"]["beyond_share"] <= 1.0
    # the larger charged volatility never breaches more: garch charges max(proxy, garch)
    assert skill["models"]["garch"]["all"]["breaches"] <= skill["models"]["trailing30"]["all"]["breaches"]


def test_a_hypothetical_shock_appends_closes_the_forecasts_can_see(world: World) -> None:
    from cascade.prices import with_shock

    shocked, first, last = with_shock(world.history, -0.3, 2)
    for name, h in shocked.items():
        old = world.history[name]
        i = old.index()[first]
        assert h.dates[: i + 1] == old.dates[: i + 1] and (last - first).days == 4
        assert h.closes[i + 2] == pytest.approx(old.closes[i] * 0.7)  # the whole move after two days
        assert h.closes[-1] == pytest.approx(h.closes[i + 2])  # then flat
        assert h.returns.size == h.closes.size - 1
    with pytest.raises(InputError, match="shock"):
        with_shock(world.history, 0.0, 1)

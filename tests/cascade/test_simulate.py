"""The cascade's rules on a small population through the May 2021 crash: conservation in
every step, no look-ahead, the engine's liquidated set without impact, the screen's
soundness, and amplification falling as the books deepen."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from cascade.population import generate, units
from cascade.simulate import CascadeParams, simulate
from cascade.venue import Venue
from engine.margin import compute_margin
from engine.model import EMPTY_SLOT, Account, Slot
from engine.status import Status
from tests.cascade.conftest import World

THIN = CascadeParams(
    model="garch", depth_factor=0.02, fund_share=0.00001, k=1, proofs_per_s=0.01, latency_s=600.0
)


def test_value_is_conserved_in_every_step_through_a_bad_cascade(world: World) -> None:
    path = world.path()
    pop = generate(300, path.assets, seed=3, median_notional=200_000.0)
    run = simulate(world.walk, path, pop, THIN)
    f = run.figures
    assert f["liquidated_accounts"] > 10 and f["bad_debt"] > 0  # the waterfall is exercised
    assert f["insurance_draw"] > 0 and f["socialised_loss"] > 0
    assert run.steps["residual_cash"] == [0] * (path.steps + 1)
    assert run.steps["residual_units"] == [0] * (path.steps + 1)
    assert f["conserved"]
    assert f["bad_debt"] == pytest.approx(f["insurance_draw"] + f["socialised_loss"] + f["uncovered"])
    assert f["amplification"] > 1.0


def test_no_look_ahead_changing_prices_after_a_step_changes_nothing_before_it(world: World) -> None:
    path = world.path(days=8)
    pop = generate(200, path.assets, seed=5, median_notional=100_000.0)
    params = dataclasses.replace(THIN, depth_factor=0.1)
    before = simulate(world.walk, path, pop, params)
    cut = path.steps // 2
    spots = path.spots.copy()
    spots[cut + 1 :] *= 0.5  # a far worse future
    after = simulate(world.walk, dataclasses.replace(path, spots=spots), pop, params)
    for key in ("found", "index", "calls", "topup"):
        assert before.steps[key][: cut + 1] == after.steps[key][: cut + 1], key
    for key in ("settled", "liquidated_notional", "bad_debt", "reduced_notional"):
        assert before.steps[key][:cut] == after.steps[key][:cut], key
    early = (before.liquidated_at >= 0) & (before.liquidated_at <= cut)
    assert np.array_equal(before.liquidated_at[early], after.liquidated_at[early])
    assert after.figures["liquidated_accounts"] > before.figures["liquidated_accounts"]


def _engine_liquidated(world: World, model: str, pop_size: int) -> tuple[set[int], set[int]]:
    """The simulation's liquidated set without impact or responses, and the engine's own on
    the historical path, account by account with ``compute_margin``."""
    path = world.path(steps_per_day=2, days=6)
    pop = generate(pop_size, path.assets, seed=11, median_notional=50_000.0)
    params = CascadeParams(model=model, impact_y=0.0, instant=True, topup_share=0.0, reduce_share=0.0)
    run = simulate(world.walk, path, pop, params)
    venue = Venue(world.walk, path.assets, 1.0)
    ids, q = pop.instrument_ids(), units(pop, path.spots[0])
    # the opening cash the run gave each account: E at the first step equals its equity
    first_cash = _opening_cash(world, path, pop, model)
    accounts = [
        Account(i, 0, 0, first_cash[i], tuple(Slot(int(a), int(b)) for a, b in zip(ids[i], q[i], strict=True) if b)
                + (EMPTY_SLOT,) * int((q[i] == 0).sum()))
        for i in range(pop_size)
    ]  # fmt: skip
    found: set[int] = set()
    for k in range(path.steps + 1):
        market, rp = venue.market(path.dates[int(path.info[k])], model, path.spots[k], k)
        for i, acc in enumerate(accounts):
            if i not in found and compute_margin(market, rp, acc).status >= Status.LIQUIDATABLE:
                found.add(i)
    return set(np.flatnonzero(run.liquidated_at >= 0).tolist()), found


def _opening_cash(world: World, path, pop, model: str) -> list[int]:  # type: ignore[no-untyped-def]
    from cascade.ledger import ints
    from cascade.population import opening_equity
    from cascade.simulate import _marks, _value
    from engine.fixedpoint import SCALE

    venue = Venue(world.walk, path.assets, 1.0)
    ids, q = pop.instrument_ids(), units(pop, path.spots[0])
    res = venue.margins(path.dates[0], model, path.spots[0], 0, ids, q, ints([0] * len(pop)))
    im0 = np.array([v / SCALE for v in res.IM.tolist()])
    equity = opening_equity(pop, im0)
    cash = ints(np.rint(equity * SCALE).astype(np.int64).tolist()) - _value(
        q, pop.asset, _marks(path.spots[0])
    )
    return [int(c) for c in cash]


def test_without_impact_the_liquidated_set_is_the_engines_on_the_historical_path(world: World) -> None:
    ours, engine = _engine_liquidated(world, "garch_apc", 40)
    assert ours == engine and len(engine) > 0


def test_the_screen_changes_nothing(world: World) -> None:
    path = world.path(days=6)
    pop = generate(250, path.assets, seed=2, median_notional=100_000.0)
    params = dataclasses.replace(THIN, depth_factor=0.2, model="ewma")
    screened = simulate(world.walk, path, pop, params)
    full = simulate(world.walk, path, pop, dataclasses.replace(params, screen=False))
    assert np.array_equal(screened.liquidated_at, full.liquidated_at)
    for key in ("found", "settled", "calls", "topup", "bad_debt", "index"):
        assert screened.steps[key] == full.steps[key], key
    assert screened.figures["exact_margins"] < (path.steps + 1) * len(pop)


def test_amplification_falls_as_the_books_deepen(world: World) -> None:
    path = world.path(days=8)
    pop = generate(300, path.assets, seed=4, median_notional=150_000.0)
    amps = [
        simulate(world.walk, path, pop, dataclasses.replace(THIN, model="fixed", depth_factor=d)).figures[
            "amplification"
        ]
        for d in (0.02, 0.05, 0.2, 1.0)
    ]
    assert all(a >= b for a, b in itertools.pairwise(amps)), amps
    assert amps[0] > amps[-1] >= 1.0


def test_a_fixed_model_run_and_the_instant_reference(world: World) -> None:
    path = world.path(days=6)
    pop = generate(200, path.assets, seed=9, median_notional=100_000.0)
    slow = dataclasses.replace(THIN, model="fixed", proofs_per_s=0.0005)  # 2,000 s a proof
    gated = simulate(world.walk, path, pop, slow)
    instant = simulate(world.walk, path, pop, dataclasses.replace(slow, instant=True))
    assert instant.figures["max_settle_delay_s"] == 0 and gated.figures["mean_settle_delay_s"] > 2000
    assert gated.figures["max_queue"] > instant.figures["max_queue"]
    assert np.cumsum(gated.steps["settled"]).tolist() != np.cumsum(gated.steps["found"]).tolist()
    assert sum(gated.steps["settled"]) == sum(gated.steps["found"]) == gated.figures["liquidated_accounts"]
    assert gated.figures["conserved"] and instant.figures["conserved"]
    assert set(gated.figures) >= {"model", "window", "depth_factor", "latency_s", "K", "accounts",
                                  "liquidated_accounts", "liquidated_notional", "bad_debt", "amplification"}  # fmt: skip

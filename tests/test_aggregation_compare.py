"""``bench.aggregation_compare``: each candidate aggregation's rule, and the invariants of a
short walk (one asset: every scenario-sum aggregation agrees; the long/long pair pays
what ZKPM-1 charged; the hedged pair is credited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import aggregation_compare as ac
from engine import aggregation
from engine.fixedpoint import SCALE

RHO_2 = ((SCALE, 900_000), (900_000, SCALE))
sums = st.lists(st.integers(-(2**60), 2**60), min_size=16, max_size=16)


def _linear(q: int, m: int) -> list[int]:
    """Scenario sums of ``q`` units of a linear asset whose scan range moves it by ``m``."""
    moves = (0, 0, 1, 1, -1, -1, 2, 2, -2, -2, 3, 3, -3, -3, 3, -3)
    return [q * m * k // 3 for k in moves]


@given(sums)
def test_one_asset_every_scenario_sum_aggregation_is_its_worst_loss(p: list[int]) -> None:
    w = ac.worst_losses([p])[0]
    for name, rule in ac.scenario_candidates().items():
        assert rule([p], ((SCALE,),)) == w, name


@settings(max_examples=200)
@given(sums, sums, st.integers(-SCALE, SCALE))
def test_simm_is_the_engines_rule_and_caps_only_raise_it(p0: list[int], p1: list[int], r: int) -> None:
    rho = ((SCALE, r), (r, SCALE))
    d = [
        aggregation.split_risk(aggregation.directional_sum(p), w)
        for p, w in zip((p0, p1), ac.worst_losses([p0, p1]), strict=True)
    ]
    s = [x[1] for x in d]
    engine_r = aggregation.combined_risk(aggregation.correlated_sum(s, rho), [x[2] for x in d])[2]
    simm = ac.r_simm([p0, p1], rho)
    assert simm == engine_r
    assert ac.r_simm([p0, p1], rho, cross=0.5) >= simm
    assert ac.r_simm([p0, p1], rho, floor=0.5) >= simm
    assert ac.r_simm([p0, p1], rho, floor=1.0) >= max(ac.worst_losses([p0, p1]))


def test_hedge_credited_doubled_bet_not() -> None:
    long_btc, short_eth, long_eth = (
        _linear(10, 9_000 * SCALE),
        _linear(-10, 9_000 * SCALE),
        _linear(10, 9_000 * SCALE),
    )
    hedge, bet = [long_btc, short_eth], [long_btc, long_eth]
    assert ac.r_simm(hedge, RHO_2) < 0.5 * ac.r_zkpm1(hedge, RHO_2)
    assert ac.r_simm(bet, RHO_2) >= ac.r_zkpm1(bet, RHO_2)
    # the cap of the cross terms gives back part of the credit, never all of it
    assert ac.r_simm(hedge, RHO_2) < ac.r_simm(hedge, RHO_2, cross=0.5) < ac.r_zkpm1(hedge, RHO_2)


@pytest.fixture(scope="module")
def short_run() -> dict[str, Any]:
    return ac.run(dt.date(2018, 1, 20), dt.date(2018, 2, 10), mpors=(1,))


def test_short_walk_invariants(short_run: dict[str, Any]) -> None:
    res = short_run["results"]["whole"]["1"]
    scenario = list(ac.scenario_candidates())
    assert set(res) == set(scenario) | set(ac.joint_names())
    for name in (
        "long-spot-btc",
        "levered-long-perp-eth",
        "short-perp-btc",
        "delta-hedged-short-straddle-btc",
    ):
        ims = {c: res[c][name]["mean_im"] for c in scenario}
        assert res["zkpm1"][name]["days"] > 0
        assert max(ims.values()) == pytest.approx(min(ims.values()), rel=1e-12), name
    pair, long_long = res["simm"][ac.PAIR], res["simm"][ac.LONG_LONG]
    assert long_long["mean_im"] >= 0.99 * res["zkpm1"][ac.LONG_LONG]["mean_im"]
    assert pair["mean_im"] < res["zkpm1"][ac.PAIR]["mean_im"]
    for cand, by in res.items():
        for name, s in by.items():
            if s["days"]:
                assert 0.0 <= s["coverage"] <= 1.0 and 0.0 <= s["kupiec_p"] <= 1.0, (cand, name)
                assert s["mean_im"] > 0, (cand, name)


def test_joint_scenarios_cover_the_scan_stresses(short_run: dict[str, Any]) -> None:
    """The stressed joint candidate adds scenarios to the same window: never lower."""
    res = short_run["results"]["whole"]["1"]
    stressed, plain = f"joint_{ac.STRESS_WINDOW}_stress", f"joint_{ac.STRESS_WINDOW}"
    for name, s in res[stressed].items():
        if s["days"]:
            assert s["mean_im"] >= res[plain][name]["mean_im"] - 1e-6, name

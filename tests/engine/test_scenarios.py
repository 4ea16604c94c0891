"""Scenario table, scan ranges and volatility shocks (engine/scenarios.py)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from engine.errors import InputError
from engine.model import RowConfig
from engine.scenarios import (
    MOVES,
    SCENARIOS,
    SPOT_FLOOR_FRACTION,
    check_row_config,
    scan_range,
    scenario_spots,
    scenario_vols,
    scenario_weights,
    shocked_vol_multipliers,
    vol_shock_factor,
    vol_shock_factors,
)

CFG = RowConfig()


def test_table_matches_spec() -> None:
    third = 1.0 / 3.0
    expected = [
        0,
        0,
        third,
        third,
        -third,
        -third,
        2 * third,
        2 * third,
        -2 * third,
        -2 * third,
        1,
        1,
        -1,
        -1,
        3,
        -3,
    ]
    assert len(SCENARIOS) == 16
    assert [sc.index for sc in SCENARIOS] == list(range(16))
    assert np.allclose(MOVES, expected, rtol=0, atol=1e-15)
    assert [sc.vol for sc in SCENARIOS[:14]] == ["up", "down"] * 7
    assert [sc.vol for sc in SCENARIOS[14:]] == ["none", "none"]
    w = scenario_weights(0.35)
    assert list(w[:14]) == [1.0] * 14 and list(w[14:]) == [0.35, 0.35]


def test_scan_range_formula_and_clamping() -> None:
    mid = 0.6  # 3 * 0.6 * sqrt(1/365) = 0.0942, inside [0.05, 0.5]
    assert scan_range(mid, CFG) == pytest.approx(3 * 0.6 / math.sqrt(365), rel=1e-15)
    assert scan_range(0.1, CFG) == 0.05  # below m_min
    assert scan_range(20.0, CFG) == 0.5  # above m_max
    ten_day = dataclasses.replace(CFG, h_days=10.0)
    assert scan_range(mid, ten_day) == pytest.approx(3 * 0.6 * math.sqrt(10 / 365), rel=1e-15)


def test_vol_shock_shape() -> None:
    assert vol_shock_factor(30) == 1.0
    assert vol_shock_factor(1) == pytest.approx(30**0.3)
    assert vol_shock_factor(0) == vol_shock_factor(1) == vol_shock_factor(-5)
    assert vol_shock_factor(365) == pytest.approx((30 / 365) ** 0.13)
    days = np.arange(0, 800)
    g = vol_shock_factors(days)
    assert np.all(np.diff(g[1:]) < 0)  # strictly decreasing after the t = 1 floor
    assert np.allclose(g, [vol_shock_factor(float(d)) for d in days], rtol=0, atol=1e-15)
    # Short-dated options get larger shocks than the 30-day exponent alone would give.
    assert vol_shock_factor(7) > (30 / 7) ** 0.13


def test_shocked_vol_multipliers_and_floor() -> None:
    up, down = shocked_vol_multipliers(np.array([30.0]), CFG)
    assert up[0] == pytest.approx(1.45) and down[0] == pytest.approx(0.75)
    harsh = dataclasses.replace(CFG, v_dn=0.9)
    _, floored = shocked_vol_multipliers(np.array([1.0]), harsh)
    assert floored[0] == 0.1  # 1 - 0.9 * 30**0.3 < v_floor


def test_scenario_vols_pattern() -> None:
    v = scenario_vols(np.array([0.5]), np.array([30.0]), CFG)[0]
    assert v.shape == (16,)
    assert np.allclose(v[0:14:2], 0.5 * 1.45) and np.allclose(v[1:14:2], 0.5 * 0.75)
    assert list(v[14:]) == [0.5, 0.5]


def test_scenario_spots_multiplicative_and_floored() -> None:
    s = scenario_spots(np.array([100.0]), np.array([0.1]))[0]
    assert np.allclose(s, 100.0 * (1.0 + 0.1 * MOVES), rtol=1e-15)
    extreme = scenario_spots(np.array([100.0]), np.array([0.5]))[0]
    assert extreme[15] == 100.0 * SPOT_FLOOR_FRACTION  # 100 * (1 - 1.5) < 0: clamped
    assert np.all(extreme > 0)
    assert extreme[14] == pytest.approx(250.0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"z": 0.0}, "config.z"),
        ({"h_days": -1.0}, "config.h_days"),
        ({"m_min": 0.6}, "config.m_min"),
        ({"m_max": float("nan")}, "config.m_max"),
        ({"v_floor": 0.0}, "config.v_floor"),
        ({"w_ext": 1.5}, "config.w_ext"),
        ({"v_up": -0.1}, "config.v_up"),
    ],
)
def test_bad_config_names_field(change: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as err:
        check_row_config(dataclasses.replace(CFG, **change))  # type: ignore[arg-type]
    assert err.value.field == field


def test_default_config_is_valid() -> None:
    check_row_config(CFG)

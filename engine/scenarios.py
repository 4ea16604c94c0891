"""The 16 ZKPM-2 risk scenarios, scan ranges and volatility shocks (spec section 4).

Choices this module makes where the spec leaves room (kept equal in every consumer):

* A spot move is multiplicative on the asset's spot: a move ``x`` (a multiple of
  the scan range ``m_a``) shocks the spot to ``S * (1 + x * m_a)``.
* The extreme scenarios 14 and 15 move the spot by 3 scan ranges. With
  ``m_a > 1/3`` (``m_max`` is 0.5 by default) ``S * (1 - 3 * m_a)`` would be zero or
  negative; the shocked spot is then clamped at ``SPOT_FLOOR_FRACTION * S``, a tiny
  positive price (the asset all but worthless). The clamp applies to every
  instrument of the asset alike, so a long spot never loses more than its value.
* The volatility shock uses ``t`` = whole calendar days to expiry (ACT), so an
  expired option gets ``max(t, 1) = 1``; its value (intrinsic) ignores volatility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.errors import InputError
from engine.fixedpoint import N_SCENARIOS
from engine.model import RowConfig

VolShock = Literal["up", "down", "none"]
FloatArray = NDArray[np.float64]

#: The shocked spot never goes below this fraction of the base spot (see module doc).
SPOT_FLOOR_FRACTION = 1e-6


@dataclass(frozen=True)
class Scenario:
    """One joint spot/volatility scenario.

    ``move`` is the spot move as a multiple of the scan range, ``vol`` the volatility
    shock, ``extreme`` whether its value change is weighted by ``w_ext``.
    """

    index: int
    move: float
    vol: VolShock
    extreme: bool


def _table() -> tuple[Scenario, ...]:
    moves = (0.0, 1.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0, -2.0 / 3.0, 1.0, -1.0)
    table = [
        Scenario(index=2 * j + half, move=mv, vol="up" if half == 0 else "down", extreme=False)
        for j, mv in enumerate(moves)
        for half in (0, 1)
    ]
    table.append(Scenario(index=14, move=3.0, vol="none", extreme=True))
    table.append(Scenario(index=15, move=-3.0, vol="none", extreme=True))
    return tuple(table)


#: The 16 scenarios in index order (s = 0..15).
SCENARIOS: tuple[Scenario, ...] = _table()
assert len(SCENARIOS) == N_SCENARIOS

#: Spot moves (multiples of m_a) by scenario index.
MOVES: FloatArray = np.array([sc.move for sc in SCENARIOS], dtype=np.float64)
#: Boolean masks by scenario index: volatility shocked up / down.
VOL_UP: NDArray[np.bool_] = np.array([sc.vol == "up" for sc in SCENARIOS])
VOL_DOWN: NDArray[np.bool_] = np.array([sc.vol == "down" for sc in SCENARIOS])


def scenario_weights(w_ext: float) -> FloatArray:
    """Weight of each scenario's value change: 1, except ``w_ext`` for s = 14, 15."""
    return np.array([w_ext if sc.extreme else 1.0 for sc in SCENARIOS], dtype=np.float64)


def scan_range(sigma_eff: float, config: RowConfig) -> float:
    """``m_a = clamp(z * sigma_eff * sqrt(h_days / 365), m_min, m_max)``.

    ``sigma_eff`` is the annualised volatility the caller settled on,
    ``max(sigma_a, forecast_a)``.
    """
    raw = config.z * sigma_eff * math.sqrt(config.h_days / 365.0)
    return min(max(raw, config.m_min), config.m_max)


def vol_shock_factor(days: float) -> float:
    """``g = (30 / max(t, 1)) ** (0.3 if t <= 30 else 0.13)``, ``t`` days to expiry."""
    t = max(days, 1.0)
    return (30.0 / t) ** (0.3 if t <= 30.0 else 0.13)


def vol_shock_factors(days: ArrayLike) -> FloatArray:
    """Vectorised :func:`vol_shock_factor`."""
    t = np.maximum(np.asarray(days, dtype=np.float64), 1.0)
    return np.asarray((30.0 / t) ** np.where(t <= 30.0, 0.3, 0.13), dtype=np.float64)


def shocked_vol_multipliers(days: ArrayLike, config: RowConfig) -> tuple[FloatArray, FloatArray]:
    """(up, down) multipliers of an option's volatility: ``1 + v_up*g`` and
    ``max(v_floor, 1 - v_dn*g)``."""
    g = vol_shock_factors(days)
    up = 1.0 + config.v_up * g
    down = np.maximum(config.v_floor, 1.0 - config.v_dn * g)
    return up, down


def scenario_spots(spot: ArrayLike, m: ArrayLike) -> FloatArray:
    """Shocked spots, shape ``(..., 16)``: ``max(S * (1 + move_s * m), S * SPOT_FLOOR_FRACTION)``."""
    s = np.asarray(spot, dtype=np.float64)[..., None]
    mm = np.asarray(m, dtype=np.float64)[..., None]
    return np.asarray(np.maximum(s * (1.0 + MOVES * mm), s * SPOT_FLOOR_FRACTION), dtype=np.float64)


def scenario_vols(vol: ArrayLike, days: ArrayLike, config: RowConfig) -> FloatArray:
    """Shocked volatilities, shape ``(..., 16)``: up for even s < 14, down for odd s < 14,
    unchanged for s = 14, 15."""
    v = np.asarray(vol, dtype=np.float64)[..., None]
    up, down = shocked_vol_multipliers(days, config)
    factor = np.where(VOL_UP, up[..., None], np.where(VOL_DOWN, down[..., None], 1.0))
    return np.asarray(v * factor, dtype=np.float64)


def _finite(field: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field, f"must be a finite number, got {value!r}")
    return float(value)


def check_row_config(config: RowConfig) -> None:
    """Reject a ``RowConfig`` whose scenario parameters are out of range."""
    checks: tuple[tuple[str, float, float, float, str], ...] = (
        # name, value, lo, hi, text (lo/hi inclusive unless the text says otherwise)
        ("z", config.z, 0.0, math.inf, "z > 0"),
        ("h_days", config.h_days, 0.0, math.inf, "h_days > 0"),
        ("m_min", config.m_min, 0.0, math.inf, "m_min > 0"),
        ("m_max", config.m_max, 0.0, math.inf, "m_max > 0"),
        ("v_up", config.v_up, 0.0, math.inf, "v_up >= 0"),
        ("v_dn", config.v_dn, 0.0, math.inf, "v_dn >= 0"),
        ("v_floor", config.v_floor, 0.0, 1.0, "0 < v_floor <= 1"),
        ("w_ext", config.w_ext, 0.0, 1.0, "0 <= w_ext <= 1"),
    )
    strict = {"z", "h_days", "m_min", "m_max", "v_floor"}
    for name, value, lo, hi, text in checks:
        v = _finite(f"config.{name}", value)
        if v < lo or v > hi or (name in strict and v == lo):
            raise InputError(f"config.{name}", f"must satisfy {text}, got {v}")
    if config.m_min > config.m_max:
        raise InputError("config.m_min", f"must be <= m_max ({config.m_max}), got {config.m_min}")

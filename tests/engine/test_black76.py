"""Black-76 values and deltas (engine/black76.py)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.black76 import OptionKind, black76_delta, black76_price, delta, norm_cdf, price, year_fraction

forwards = st.floats(min_value=1.0, max_value=1e5)
moneyness = st.floats(min_value=0.3, max_value=3.0)
years = st.floats(min_value=1e-3, max_value=5.0)
vols = st.floats(min_value=0.02, max_value=3.0)


def test_known_atm_value() -> None:
    # ATM, T = 1, sigma = 0.2: call = put = F * (2 N(0.1) - 1).
    expected = 100.0 * (2.0 * 0.5398278372770290 - 1.0)
    assert price("call", 100.0, 100.0, 1.0, 0.2) == pytest.approx(expected, rel=1e-12)
    assert price("put", 100.0, 100.0, 1.0, 0.2) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(forwards, moneyness, years, vols)
def test_put_call_parity(f: float, mny: float, t: float, v: float) -> None:
    k = f * mny
    call = price("call", f, k, t, v)
    put = price("put", f, k, t, v)
    assert call - put == pytest.approx(f - k, abs=1e-9 * (f + k))
    assert call >= max(f - k, 0.0) - 1e-9 * f
    assert put >= max(k - f, 0.0) - 1e-9 * f


@settings(max_examples=100, deadline=None)
@given(forwards, moneyness, st.floats(min_value=0.01, max_value=3.0), vols)
def test_delta_matches_finite_difference(f: float, mny: float, t: float, v: float) -> None:
    k = f * mny
    h = 1e-4 * f
    kinds: tuple[OptionKind, ...] = ("call", "put")
    for kind in kinds:
        fd = (price(kind, f + h, k, t, v) - price(kind, f - h, k, t, v)) / (2.0 * h)
        assert delta(kind, f, k, t, v) == pytest.approx(fd, abs=1e-5)
    d1 = (math.log(f / k) + 0.5 * v * v * t) / (v * math.sqrt(t))
    assert delta("call", f, k, t, v) == pytest.approx(float(norm_cdf(d1)), abs=1e-15)
    assert delta("put", f, k, t, v) == pytest.approx(float(norm_cdf(d1)) - 1.0, abs=1e-15)


@pytest.mark.parametrize("t", [0.0, -1.0 / 365.0, -3.0])
def test_expired_is_intrinsic(t: float) -> None:
    assert price("call", 120.0, 100.0, t, 0.5) == 20.0
    assert price("put", 120.0, 100.0, t, 0.5) == 0.0
    assert price("put", 80.0, 100.0, t, 0.5) == 20.0
    assert price("call", 80.0, 100.0, t, 0.5) == 0.0
    assert delta("call", 120.0, 100.0, t, 0.5) == 1.0
    assert delta("call", 80.0, 100.0, t, 0.5) == 0.0
    assert delta("put", 80.0, 100.0, t, 0.5) == -1.0
    assert delta("put", 120.0, 100.0, t, 0.5) == 0.0
    assert delta("call", 100.0, 100.0, t, 0.5) == 0.0


def test_zero_vol_is_intrinsic() -> None:
    assert price("call", 120.0, 100.0, 1.0, 0.0) == 20.0
    assert price("put", 120.0, 100.0, 1.0, 0.0) == 0.0


def test_deep_out_of_the_money_put_keeps_precision() -> None:
    p = price("put", 100.0, 10.0, 0.1, 0.3)
    assert 0.0 <= p < 1e-20
    assert price("put", 100.0, 50.0, 0.5, 0.8) > 0.0


def test_vectorised_matches_scalar_and_broadcasts() -> None:
    f = np.array([[90.0], [110.0]])
    k = np.array([80.0, 100.0, 120.0])
    is_call = np.array([True, False, True])
    values = black76_price(f, k, 0.25, 0.6, is_call)
    deltas = black76_delta(f, k, 0.25, 0.6, is_call)
    assert values.shape == deltas.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            kind: OptionKind = "call" if is_call[j] else "put"
            assert values[i, j] == price(kind, float(f[i, 0]), float(k[j]), 0.25, 0.6)
            assert deltas[i, j] == delta(kind, float(f[i, 0]), float(k[j]), 0.25, 0.6)


def test_year_fraction_act_365() -> None:
    assert year_fraction(dt.date(2024, 1, 1), dt.date(2025, 1, 1)) == 366 / 365
    assert year_fraction(dt.date(2022, 3, 1), dt.date(2022, 2, 28)) == -1 / 365

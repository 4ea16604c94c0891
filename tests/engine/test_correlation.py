"""EWMA correlation, nearest correlation matrix and fixed-point rho (engine/calibration/correlation.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calibration.correlation import (
    ewma_correlation,
    is_psd,
    min_eigenvalue,
    nearest_correlation,
    ones_rho,
    to_fixed_rho,
)
from engine.errors import InputError
from engine.fixedpoint import SCALE


def _random_symmetric(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    b = rng.uniform(-1.0, 1.0, (n, n))
    b = 0.5 * (b + b.T)
    np.fill_diagonal(b, 1.0)
    return b


def _low_rank_correlation(seed: int, n: int, rank: int) -> np.ndarray:
    """A singular correlation matrix: PSD, exactly on the boundary of the cone."""
    v = np.random.default_rng(seed).normal(size=(n, rank))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    c = v @ v.T
    np.fill_diagonal(c, 1.0)
    return c


def test_ewma_correlation_matches_recursion() -> None:
    r = np.random.default_rng(1).normal(0.0, 0.02, (200, 3))
    c = r[:30].T @ r[:30] / 30
    for row in r:
        c = 0.94 * c + 0.06 * np.outer(row, row)
    sd = np.sqrt(np.diag(c))
    expected = c / np.outer(sd, sd)
    got = ewma_correlation(r)
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
    assert np.array_equal(got, got.T) and np.all(np.diag(got) == 1.0)


def test_ewma_correlation_extremes() -> None:
    x = np.random.default_rng(2).normal(0.0, 0.02, 300)
    same = ewma_correlation(np.column_stack((x, 2 * x, -x)))
    assert same[0, 1] == pytest.approx(1.0) and same[0, 2] == pytest.approx(-1.0)
    indep = ewma_correlation(np.random.default_rng(3).normal(size=(5000, 2)), lam=0.999)
    assert abs(indep[0, 1]) < 0.1
    with pytest.raises(InputError):
        ewma_correlation(np.column_stack((x, np.zeros_like(x))))


def test_higham_example() -> None:
    # Higham (2002), section 4: the nearest correlation matrix to this indefinite A.
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    x = nearest_correlation(a)
    assert x[0, 1] == pytest.approx(0.7607, abs=1e-4) and x[1, 2] == pytest.approx(0.7607, abs=1e-4)
    assert x[0, 2] == pytest.approx(0.1573, abs=1e-4)
    assert min_eigenvalue(a) < -0.1 and is_psd(x)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=8))
def test_nearest_correlation_is_a_correlation_matrix(seed: int, n: int) -> None:
    x = nearest_correlation(_random_symmetric(seed, n))
    assert np.array_equal(x, x.T)
    assert np.all(np.diag(x) == 1.0) and np.all(np.abs(x) <= 1.0)
    assert min_eigenvalue(x) >= -1e-12


def test_nearest_correlation_keeps_a_valid_matrix() -> None:
    c = _low_rank_correlation(4, 5, 5)
    assert np.array_equal(nearest_correlation(c), c)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=8), st.integers(1, 3))
def test_to_fixed_rho_properties(seed: int, n: int, rank: int) -> None:
    c = _low_rank_correlation(seed, n, min(rank, n))
    size = 8
    rho = to_fixed_rho(c, size)
    r = np.array(rho)
    assert r.shape == (size, size)
    assert np.array_equal(r, r.T)
    assert np.all(np.diag(r) == SCALE) and np.all(np.abs(r) <= SCALE)
    assert np.array_equal(r[n:, :], np.eye(size, dtype=np.int64)[n:, :] * SCALE)  # identity padding
    assert is_psd(r / SCALE, 1e-9)
    assert np.max(np.abs(r[:n, :n] - np.rint(c * SCALE))) <= 100  # only a tiny shrink, if any


def test_to_fixed_rho_repairs_psd_broken_by_rounding() -> None:
    repaired = 0
    for seed in range(200):
        c = _low_rank_correlation(seed, 6, 2)
        plain = np.rint(c * SCALE)
        if min_eigenvalue(plain / SCALE) >= -1e-12:
            continue
        r = np.array(to_fixed_rho(c))
        assert not np.array_equal(r, plain)
        assert min_eigenvalue(r / SCALE) >= -1e-12
        assert np.all(np.abs(r) <= np.abs(plain))  # shrunk toward 0, never away
        repaired += 1
    assert repaired > 0  # the repair path really ran


def test_to_fixed_rho_rounds_half_to_even_and_keeps_all_ones() -> None:
    assert to_fixed_rho(np.ones((3, 3))) == ((SCALE,) * 3,) * 3
    assert to_fixed_rho(np.ones((2, 2)), 3) == ones_rho(3, 2)
    for tie, product, expected in ((2.5e-6, 2.5, 2), (3.5e-6, 3.5, 4), (-2.5e-6, -2.5, -2)):
        assert tie * SCALE == product  # a genuine tie in float64
        c = np.array([[1.0, tie], [tie, 1.0]])
        assert to_fixed_rho(c)[0][1] == to_fixed_rho(c)[1][0] == expected


def test_to_fixed_rho_rejects_bad_input() -> None:
    with pytest.raises(InputError) as err:
        to_fixed_rho(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]))
    assert err.value.field == "rho" and "semi-definite" in err.value.message
    with pytest.raises(InputError):
        to_fixed_rho(np.array([[1.0, 0.5], [0.4, 1.0]]))
    with pytest.raises(InputError):
        to_fixed_rho(np.eye(3), 2)
    with pytest.raises(InputError):
        to_fixed_rho(np.array([[2.0, 0.0], [0.0, 1.0]]))

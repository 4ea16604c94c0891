"""The numpy batch path gives exactly the integers of ``compute_margin``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.exact_limbs import exact_dot, exact_grouped_dot, pair_min, pair_to_int
from engine.fixedpoint import CASH_LIMIT, DELTA_MAX, DEPTH_LIMIT, KAPPA_LIMIT, Q_LIMIT, SCALE, SPOT_LIMIT
from engine.margin import compute_margin
from engine.margin_arrays import AccountBatch, MarketTables
from engine.margin_batch import compute_margins
from engine.model import Account, Market, RiskParams, Slot
from engine.profiles import PROFILES
from tests.engine.strategies import (
    batch_cases,
    make_account,
    make_market,
    make_params,
    make_row,
    ones_rho,
)

STANDARD = PROFILES["standard"]
TEST = PROFILES["test"]
BIG = Q_LIMIT - 1  # 2**48 - 1, the largest |q|, |M|, |RA|, c
CASES = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same(market: Market, params: RiskParams, accounts: list[Account], chunk: int = 4096) -> None:
    result = compute_margins(market, params, AccountBatch.from_accounts(accounts), chunk=chunk)
    assert len(result) == len(accounts)
    rows = result.rows()
    for i, account in enumerate(accounts):
        expected = compute_margin(market, params, account)
        assert result.row(i) == expected, f"account {i}"
        assert rows[i] == expected, f"account {i} (rows)"


@pytest.mark.parametrize("mode", ["extreme", "realistic", "any"])
def test_batch_equals_single_random(mode: str) -> None:
    @CASES
    @given(batch_cases(mode=mode), st.integers(1, 13))  # type: ignore[arg-type]
    def check(case: tuple[Market, RiskParams, list[Account]], chunk: int) -> None:
        assert_same(*case, chunk=chunk)

    check()


@settings(CASES, max_examples=40)
@given(batch_cases(profile=STANDARD, mode="extreme", max_accounts=4))
def test_batch_equals_single_standard_profile_extremes(
    case: tuple[Market, RiskParams, list[Account]],
) -> None:
    assert_same(*case)


def _extreme_market(sign: int) -> Market:
    """Standard profile, 4 assets at the bounds, 16 rows with every value at +-(2**48 - 1)."""
    rows = [
        make_row(
            i,
            i % 4,
            mark=sign * BIG,
            delta=sign * DELTA_MAX,
            ra=tuple(sign * BIG for _ in range(16)),
            c_long=BIG,
            c_short=BIG,
        )
        for i in range(16)
    ]
    assets = [(SPOT_LIMIT - 1, DEPTH_LIMIT - 1), (1, 1), (SPOT_LIMIT - 1, 1), (2**40, DEPTH_LIMIT - 1)]
    return make_market(STANDARD, assets, rows)


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("rho_kind", ["ones", "signs"])
def test_batch_equals_single_at_the_bounds(sign: int, rho_kind: str) -> None:
    """|q| = |M| = |RA| = c = 2**48 - 1 in all 16 slots: products 2**96, sums 2**100."""
    market = _extreme_market(sign)
    rho = (
        ones_rho(4)
        if rho_kind == "ones"
        else tuple(tuple((-1) ** (a + b) * SCALE for b in range(4)) for a in range(4))
    )
    params = make_params(STANDARD, mm_factor=1, kappa=(KAPPA_LIMIT - 1,) * 4, rho=rho)
    accounts = [
        make_account(STANDARD, {i: qsign * BIG for i in range(16)}, cash=csign * (CASH_LIMIT - 1))
        for qsign in (1, -1)
        for csign in (1, -1)
    ]
    accounts.append(make_account(STANDARD, {i: (-1) ** i * BIG for i in range(16)}, cash=0))
    accounts.append(make_account(STANDARD, {}, cash=-(CASH_LIMIT - 1)))
    assert_same(market, params, accounts, chunk=2)
    r = compute_margin(market, params, accounts[0])
    assert abs(r.scenario_sums[0][0]) == 4 * BIG * BIG  # four rows per asset


def test_missing_instrument_names_account_and_slot() -> None:
    market = make_market(TEST, [(SCALE, SCALE)], [make_row(1, 0), make_row(2, 0)])
    good = make_account(TEST, {1: 5})
    bad = make_account(TEST, {1: 5, 3: 7})
    with pytest.raises(InputError) as err:
        compute_margins(market, make_params(TEST), AccountBatch.from_accounts([good, good, bad]), chunk=2)
    assert err.value.field == "accounts[2].slots[1].instrument_id"


def test_id_outside_the_tree_is_missing() -> None:
    market = make_market(TEST, [(SCALE, SCALE)], [make_row(1, 0)])
    batch = AccountBatch.from_arrays([[1, 10**6, 0, 0]], [[1, 1, 0, 0]], [0])
    with pytest.raises(InputError) as err:
        compute_margins(market, make_params(TEST), batch)
    assert err.value.field == "accounts[0].slots[1].instrument_id"


def test_empty_slots_need_no_row_zero() -> None:
    market = make_market(TEST, [(SCALE, SCALE)], [make_row(3, 0, mark=SCALE)])
    accounts = [make_account(TEST, {3: 2 * SCALE}, cash=1), make_account(TEST, {}, cash=-1)]
    assert_same(market, make_params(TEST), accounts)


def test_empty_batch() -> None:
    market = make_market(TEST, [(SCALE, SCALE)], [make_row(1, 0)])
    result = compute_margins(market, make_params(TEST), AccountBatch.from_accounts([]))
    assert len(result) == 0


def test_account_batch_checks() -> None:
    with pytest.raises(InputError) as err:
        AccountBatch.from_accounts([Account(0, 0, 0, 0, (Slot(1, Q_LIMIT),))])
    assert err.value.field == "batch.q[0, 0]"
    with pytest.raises(InputError) as err:
        AccountBatch.from_accounts([Account(0, 0, 0, 0, (Slot(1, 2**70),))])
    assert err.value.field == "accounts[0].slots[0].q"
    with pytest.raises(InputError) as err:
        AccountBatch.from_accounts([make_account(TEST, {}), make_account(STANDARD, {})])
    assert err.value.field == "accounts[1].slots"
    batch = AccountBatch.from_accounts([make_account(TEST, {1: 3}, cash=CASH_LIMIT - 1)])
    assert batch.cash[0] == CASH_LIMIT - 1  # kept exact (object array)
    assert batch.ids.dtype == np.int64 and batch.q.shape == (1, 4)


def test_market_tables_reject_values_beyond_limb_range() -> None:
    market = make_market(TEST, [(SCALE, SCALE)], [make_row(1, 0, ra={4: -Q_LIMIT})])
    with pytest.raises(InputError) as err:
        MarketTables.from_market(market)
    assert err.value.field == "market.rows[1]"


# ------------------------------------------------------------ exact primitives


def _random_extreme(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = rng.integers(-BIG, BIG, shape, endpoint=True)
    edge = rng.random(shape) < 0.3
    return np.where(edge, rng.choice([-BIG, BIG, -1, 0, 1], shape), x)


def test_exact_dot_and_grouped_dot_match_python_ints() -> None:
    rng = np.random.default_rng(7)
    n, k, p, groups = 50, 16, 5, 3
    q = _random_extreme(rng, (n, k))
    v = _random_extreme(rng, (n, k, p))
    g = rng.integers(0, groups, (n, k))
    hi, lo = exact_grouped_dot(q, v, g, groups)
    got = pair_to_int(hi, lo)
    dhi, dlo = exact_dot(q, v[:, :, 0])
    dot = pair_to_int(dhi, dlo)
    assert ((lo >= 0) & (lo < 2**48)).all()
    for i in range(n):
        qi = [int(x) for x in q[i]]
        assert dot[i] == sum(qi[j] * int(v[i, j, 0]) for j in range(k))
        for a in range(groups):
            for c in range(p):
                want = sum(qi[j] * int(v[i, j, c]) for j in range(k) if g[i, j] == a)
                assert got[i, a, c] == want


def test_pair_to_int_both_branches_and_pair_min() -> None:
    hi = np.array([[0, -1, 2**14 - 1, -(2**14), 2**14, -(2**14) - 1, 2**52, -(2**52)]], dtype=np.int64)
    lo = np.array([[5, 2**48 - 1, 7, 0, 1, 2**48 - 1, 3, 9]], dtype=np.int64)
    got = pair_to_int(hi, lo)
    assert [int(x) for x in got[0]] == [int(h) * 2**48 + int(v) for h, v in zip(hi[0], lo[0], strict=True)]
    # minimum over the last axis: the first index attaining the smallest value
    hi2 = np.array([[3, -2, -2, -2, 0]], dtype=np.int64)
    lo2 = np.array([[0, 9, 4, 4, 0]], dtype=np.int64)
    mh, ml, idx = pair_min(hi2, lo2)
    assert (int(mh[0]), int(ml[0]), int(idx[0])) == (-2, 4, 2)

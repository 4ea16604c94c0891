"""Spec section 3 for one account: hand-computed cases and properties."""

# ruff: noqa: SIM300  (the spec's upper-case names r.E, r.IM ... look like constants to SIM300)

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.fixedpoint import Q_LIMIT, SCALE
from engine.margin import MarginResult, classify, compute_margin
from engine.model import Account, Market, RiskParams, Slot
from engine.profiles import PROFILES, Profile
from engine.status import Status
from tests.engine.strategies import (
    accounts,
    canonical_slots,
    make_account,
    make_market,
    make_params,
    make_row,
    margin_cases,
    markets,
    ones_rho,
    profiles,
    risk_params,
)

TEST = PROFILES["test"]
U = SCALE  # one unit
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Extreme-scenario P&L of row 1 by scenario, in units: roughly linear in the spot move.
RA1 = (0, 0, 10, 10, -10, -10, 20, 20, -20, -20, 30, 30, -30, -30, 35, -35)


def linear(w: int) -> dict[int, int]:
    """A directional row: gains ``w`` in the +1 scan moves (s = 10, 11), loses ``w`` in the
    -1 moves (s = 12, 13), nothing elsewhere; one unit of it has W = Dir = S = w, U = 0."""
    return {10: w, 11: w, 12: -w, 13: -w}


def worked_example(cash: int = -100 * U, mm_factor: int = 600_000) -> tuple[Market, RiskParams, Account]:
    """Two assets (S = 100, D = 1000; S = 50, D = 500). Long 2 of row 1 (asset 0),
    short 3 of row 2 (asset 1, an option-like row losing 4 per short unit in s = 2)."""
    rows = [
        make_row(1, 0, mark=100 * U, delta=U, ra=tuple(x * U for x in RA1), c_long=2 * U, c_short=2 * U),
        make_row(2, 1, mark=5 * U, delta=-400_000, ra={2: 4 * U}, c_long=0, c_short=500_000),
    ]
    market = make_market(TEST, [(100 * U, 1000 * U), (50 * U, 500 * U)], rows)
    rho = ((U, 500_000), (500_000, U))
    params = make_params(TEST, mm_factor=mm_factor, kappa=(500_000, U), rho=rho)
    return market, params, make_account(TEST, {1: 2 * U, 2: -3 * U}, cash=cash)


def test_worked_example_every_intermediate() -> None:
    market, params, account = worked_example()
    r = compute_margin(market, params, account)
    # asset 0: 2 units x RA1[s]; the worst is s = 15 (-3 scan): 2 x -35 = -70
    assert r.scenario_sums[0] == tuple(2 * U * x * U for x in RA1)
    assert r.L[0][15] == -70 * U
    assert (r.min_sum[0], r.worst_scenario[0], r.W[0]) == (-70 * U * U, 15, 70 * U)
    # asset 1: short 3 x (+4 in s = 2) = -12 in s = 2, 0 elsewhere
    assert r.L[1] == tuple(-12 * U if s == 2 else 0 for s in range(16))
    assert (r.worst_scenario[1], r.W[1]) == (2, 12 * U)
    # direction: asset 0's +1 scan moves gain 2 x 30 twice, its -1 moves lose as much:
    # D = 240, Dir = 240 / 4 = 60 = S (within W = 70), U = 10; asset 1 has no P&L in the
    # +-1 moves: Dir = S = 0 and its whole W = 12 is non-directional
    assert r.D_sum == (240 * U * U, 0)
    assert (r.Dir, r.S, r.U) == ((60 * U, 0), (60 * U, 0), (10 * U, 12 * U))
    # X = 60^2 (x SCALE^2; S[1] = 0 takes no correlation credit); R = 60 + 10 + 12 = 82
    assert r.X_sum == SCALE * 3600 * U * U
    assert r.X == 3600 * U * U
    assert (r.R_dir, r.R) == (60 * U, 82 * U)
    # net delta notional: 2 x 1 x 100 = 200 and |-3 x -0.4| x 50 = 60
    assert r.ND == (2 * U * U, 1_200_000 * U)
    assert r.N == (200 * U, 60 * U)
    # LQ = kappa N^2 / D: 0.5 x 200^2 / 1000 = 20 and 1 x 60^2 / 500 = 7.2
    assert r.LQ == (20 * U, 7_200_000)
    # SC = 2 x 2 (long row 1) + 3 x 0.5 (short row 2) = 5.5
    assert r.SC == 5_500_000
    assert r.IM == 82 * U + 20 * U + 7_200_000 + 5_500_000 == 114_700_000
    assert r.MM == 68_820_000  # 0.6 x IM, exact here
    # E = -100 + 2 x 100 - 3 x 5 = 85: between MM and IM
    assert r.E == 85 * U
    assert (r.status, r.status_name, r.shortfall) == (1, "restricted", 0)


@pytest.mark.parametrize(
    ("offset", "status", "shortfall"),
    [
        (0, 1, 0),  # E = MM: not liquidatable (E < MM is false), still below IM
        (-1, 2, 1),  # E = MM - 1
        (1, 1, 0),
    ],
)
def test_status_boundary_at_mm(offset: int, status: int, shortfall: int) -> None:
    mm = 68_820_000
    market, params, account = worked_example(cash=mm - 185 * U + offset)
    r = compute_margin(market, params, account)
    assert r.E == mm + offset
    assert (r.status, r.shortfall) == (status, shortfall)


@pytest.mark.parametrize(("offset", "status"), [(0, 0), (-1, 1), (1, 0)])
def test_status_boundary_at_im(offset: int, status: int) -> None:
    market, params, account = worked_example(cash=114_700_000 - 185 * U + offset)
    r = compute_margin(market, params, account)
    assert r.E == r.IM + offset
    assert r.status == status
    assert r.shortfall == 0


@pytest.mark.parametrize(("equity", "status"), [(0, 2), (-1, 3), (1, 2)])
def test_status_boundary_at_zero_equity(equity: int, status: int) -> None:
    market, params, account = worked_example(cash=equity - 185 * U)
    r = compute_margin(market, params, account)
    assert r.E == equity
    assert r.status == status
    assert r.shortfall == 68_820_000 - equity


def test_mm_factor_one_makes_mm_equal_im() -> None:
    market, params, account = worked_example(cash=114_700_000 - 185 * U - 1, mm_factor=SCALE)
    r = compute_margin(market, params, account)
    assert r.MM == r.IM
    assert (r.status, r.shortfall) == (2, 1)


def test_classify_table() -> None:
    assert [classify(e, 10, 5) for e in (-1, 0, 4, 5, 9, 10, 11)] == [3, 2, 2, 1, 1, 0, 0]
    assert {int(s): s.label for s in Status} == {
        0: "healthy",
        1: "restricted",
        2: "liquidatable",
        3: "insolvent",
    }


def _one_row(ra: dict[int, int], q: int = 1, mark: int = 0, cash: int = 0) -> MarginResult:
    market = make_market(TEST, [(U, U)], [make_row(1, 0, mark=mark, ra=ra)])
    return compute_margin(market, make_params(TEST), make_account(TEST, {1: q}, cash))


@pytest.mark.parametrize(
    ("scenario_sum", "L", "W"),
    [
        (-1, -1, 1),  # floor(-1e-6) = -1: the smallest loss costs a whole unit
        (-999_999, -1, 1),
        (-1_000_000, -1, 1),
        (-1_000_001, -2, 2),
        (1, 0, 0),
        (999_999, 0, 0),
        (0, 0, 0),
    ],
)
def test_floor_division_of_scenario_sums(scenario_sum: int, L: int, W: int) -> None:
    r = _one_row({0: scenario_sum})
    assert r.scenario_sums[0][0] == scenario_sum
    assert r.L[0][0] == L
    assert r.W[0] == W


def test_no_loss_gives_zero_w() -> None:
    r = _one_row({s: s * U for s in range(16)}, q=5 * U)
    assert r.W == (0, 0)
    assert r.worst_scenario[0] == 0  # sums 0, 5, 10, ...: the minimum is s = 0
    assert (r.X, r.R, r.IM) == (0, 0, 0)


def test_worst_scenario_is_first_minimum_of_the_sum_not_of_l() -> None:
    # s = 5 and s = 9 both floor to L = -1, but the sum is smaller in s = 9
    r = _one_row({5: -1, 9: -2, 12: -2})
    assert r.L[0][5] == r.L[0][9] == -1
    assert r.worst_scenario[0] == 9  # first of the two s attaining -2
    assert r.min_sum[0] == -2


def test_asset_without_positions() -> None:
    r = _one_row({3: -7 * U})
    assert r.scenario_sums[1] == (0,) * 16
    assert (r.worst_scenario[1], r.W[1], r.N[1], r.LQ[1]) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("w0", "w1", "R"), [(1, 1, 1), (1, 0, 1), (2, 0, 2), (1, 2, 2), (3, 4, 5), (2, 2, 2)]
)
def test_isqrt_of_identity_correlation(w0: int, w1: int, R: int) -> None:
    rows = [make_row(1, 0, ra=linear(w0 * U)), make_row(2, 1, ra=linear(w1 * U))]
    market = make_market(TEST, [(U, U), (U, U)], rows)
    r = compute_margin(market, make_params(TEST), make_account(TEST, {1: 1, 2: 1}))
    assert r.W == r.S == (w0, w1) and r.U == (0, 0)
    assert r.X == w0 * w0 + w1 * w1
    assert r.R == R  # isqrt(2) = 1, isqrt(5) = 2, isqrt(8) = 2


def test_a_hedge_is_credited_and_a_doubled_bet_is_not() -> None:
    """Long one asset, short a correlated one (rho = 0.8): R = sqrt(1 + 1 - 1.6) W = 0.632 W;
    the same legs both long: sqrt(3.6) W = 1.897 W; ZKPM-1 charged 1.897 W for both."""
    rows = [make_row(1, 0, ra=linear(10 * U)), make_row(2, 1, ra=linear(10 * U))]
    market = make_market(TEST, [(U, U), (U, U)], rows)
    params = make_params(TEST, rho=((U, 800_000), (800_000, U)))
    hedge = compute_margin(market, params, make_account(TEST, {1: U, 2: -U}))
    both = compute_margin(market, params, make_account(TEST, {1: U, 2: U}))
    assert hedge.S == (10 * U, -10 * U) and both.S == (10 * U, 10 * U)
    assert hedge.X == 40 * U * U and hedge.R == math.isqrt(40 * U * U) == 6_324_555
    assert both.X == 360 * U * U and both.R == math.isqrt(360 * U * U) == 18_973_665
    assert hedge.W == both.W == (10 * U, 10 * U)


def test_a_straddle_gets_no_directional_credit() -> None:
    """A short straddle loses in both scan directions: Dir = 0, the whole W is U and is
    added in full; beside a long position on a correlated asset it is not offset."""
    straddle = {10: -4 * U, 11: -3 * U, 12: -4 * U, 13: -3 * U, 14: -9 * U, 15: -9 * U}
    rows = [make_row(1, 0, ra=straddle), make_row(2, 1, ra=linear(10 * U))]
    market = make_market(TEST, [(U, U), (U, U)], rows)
    params = make_params(TEST, rho=((U, -900_000), (-900_000, U)))
    r = compute_margin(market, params, make_account(TEST, {1: U, 2: U}))
    assert (r.Dir[0], r.S[0], r.U[0], r.W[0]) == (0, 0, 9 * U, 9 * U)
    assert r.R == 9 * U + 10 * U  # no credit from rho = -0.9


def test_the_direction_is_clamped_to_the_worst_loss() -> None:
    """A long call gains more up than it loses down: Dir = (8 + 8 + 2 + 2) / 4 = 5 > W = 2,
    so S = W = 2 and U = 0."""
    call = {10: 8 * U, 11: 8 * U, 12: -2 * U, 13: -2 * U, 14: 12 * U, 15: -2 * U}
    market = make_market(TEST, [(U, U)], [make_row(1, 0, ra=call)])
    r = compute_margin(market, make_params(TEST), make_account(TEST, {1: U}))
    assert (r.D_sum[0], r.Dir[0], r.S[0], r.U[0], r.W[0]) == (20 * U * U, 5 * U, 2 * U, 0, 2 * U)
    short = compute_margin(market, make_params(TEST), make_account(TEST, {1: -U}))
    assert (short.Dir[0], short.W[0], short.S[0], short.U[0]) == (-5 * U, 12 * U, -5 * U, 7 * U)
    assert short.R == 12 * U  # one asset alone: R = W


def test_negative_x_gives_zero_r() -> None:
    """max(0, X): with a (non-PSD) rho of -1 everywhere off the diagonal, X < 0."""
    three = Profile("three", assets=3, slots=4, depth=2)
    rows = [make_row(i + 1, i, ra=linear(U)) for i in range(3)]
    market = make_market(three, [(U, U)] * 3, rows)
    rho = tuple(tuple(U if a == b else -U for b in range(3)) for a in range(3))
    r = compute_margin(market, make_params(three, rho=rho), make_account(three, {1: U, 2: U, 3: U}))
    assert r.W == r.S == (U, U, U)
    assert r.X == 3 * U * U - 6 * U * U
    assert r.R == 0


def test_floors_of_value_n_lq_sc_mm() -> None:
    row = make_row(1, 0, mark=1, delta=1, c_long=0, c_short=1)
    market = make_market(TEST, [(3 * U, 7)], [row])
    params = make_params(TEST, mm_factor=500_000, kappa=(U, 0))
    r = compute_margin(market, params, make_account(TEST, {1: -1}, cash=10))
    assert r.value_sum == -1 and r.E == 10 - 1  # fdiv(-1, SCALE) = -1
    assert r.ND[0] == -1 and r.N_num[0] == 3 * U and r.N[0] == 0  # 3e6 / 1e12 floors to 0
    assert r.SC_sum == 1 and r.SC == 0
    # a case where IM is odd, so MM = floor(IM / 2)
    market2 = make_market(TEST, [(U, U)], [make_row(1, 0, ra={0: -3})])
    r2 = compute_margin(market2, make_params(TEST, mm_factor=500_000), make_account(TEST, {1: U}))
    assert (r2.W[0], r2.R, r2.IM, r2.MM_num, r2.MM) == (3, 3, 3, 1_500_000, 1)


def test_liquidity_addon_exact() -> None:
    # N = |q delta| S / SCALE^2 = 2 x 1.5 x 10 = 30 units; LQ = kappa N^2 / D = 0.25 x 900 / 7
    row = make_row(1, 0, delta=1_500_000)
    market = make_market(TEST, [(10 * U, 7 * U)], [row])
    r = compute_margin(market, make_params(TEST, kappa=(250_000, 0)), make_account(TEST, {1: -2 * U}))
    assert r.ND[0] == -3 * U * U
    assert r.N[0] == 30 * U
    assert r.LQ_num[0] == 250_000 * 900 * U * U and r.LQ_den[0] == 7 * U * U
    assert r.LQ[0] == (225 * U) // 7 == 32_142_857


def test_missing_instrument_is_named() -> None:
    market = make_market(TEST, [(U, U)], [make_row(1, 0)])
    account = make_account(TEST, {1: U, 3: -U})
    with pytest.raises(InputError) as err:
        compute_margin(market, make_params(TEST), account)
    assert err.value.field == "account.slots[1].instrument_id"


def test_empty_slots_never_look_up_instrument_zero() -> None:
    market = make_market(TEST, [(U, U)], [make_row(2, 0, mark=U)])  # no row 0
    r = compute_margin(market, make_params(TEST), make_account(TEST, {2: U}, cash=5))
    assert r.E == 5 + U


def test_empty_account() -> None:
    market = make_market(TEST, [(U, U)], [make_row(1, 0)])
    for cash, status in ((0, 0), (-1, 3), (1, 0)):
        r = compute_margin(market, make_params(TEST), make_account(TEST, {}, cash))
        assert (r.IM, r.MM, r.E, r.status) == (0, 0, cash, status)


# ---------------------------------------------------------------- properties


@PROPS
@given(margin_cases(), st.integers(0, 2**79))
def test_more_cash_never_worsens_status(case: tuple[Market, RiskParams, Account], extra: int) -> None:
    market, params, account = case
    before = compute_margin(market, params, account)
    after = compute_margin(market, params, dataclasses.replace(account, cash=account.cash + extra))
    assert after.status <= before.status
    assert after.shortfall <= before.shortfall
    assert (after.IM, after.MM, after.E) == (before.IM, before.MM, before.E + extra)


@PROPS
@given(margin_cases())
def test_internal_relations(case: tuple[Market, RiskParams, Account]) -> None:
    """Each number follows from the previous ones as section 3 writes it."""
    market, params, account = case
    r = compute_margin(market, params, account)
    for a in range(market.profile.assets):
        assert r.L[a] == tuple(x // SCALE for x in r.scenario_sums[a])
        # the one-division trick of section 6: max_s(-L) = -fdiv(min_s sum)
        assert r.W[a] == max(0, *(-x for x in r.L[a]))
        assert r.scenario_sums[a].index(min(r.scenario_sums[a])) == r.worst_scenario[a]
    for a in range(market.profile.assets):
        sums = r.scenario_sums[a]
        assert r.D_sum[a] == sums[10] + sums[11] - sums[12] - sums[13]
        assert r.Dir[a] == r.D_sum[a] // (4 * SCALE)
        assert r.S[a] == max(-r.W[a], min(r.W[a], r.Dir[a]))
        assert r.U[a] == r.W[a] - abs(r.S[a]) >= 0
    n = market.profile.assets
    assert r.X_sum == sum(params.rho[a][b] * r.S[a] * r.S[b] for a in range(n) for b in range(n))
    assert r.R_dir == math.isqrt(max(0, r.X_sum // SCALE))
    assert r.R == r.R_dir + sum(r.U)
    assert r.IM == r.R + sum(r.LQ) + r.SC
    assert 0 <= r.MM <= r.IM
    assert r.status == classify(r.E, r.IM, r.MM)
    assert r.shortfall == max(0, r.MM - r.E)


@PROPS
@given(profiles(), st.data())
def test_scaling_one_assets_positions_never_lowers_im_with_nonnegative_rho(
    profile: Profile, data: st.DataObject
) -> None:
    """Property tested exactly, on the positions of one asset (the others dropped): with
    every rho[a][b] >= 0 (any kappa >= 0), multiplying every position by an integer
    factor c >= 1 never lowers W, N, LQ, SC, R or IM. (Scenario sums scale by c, so W
    cannot fall, and one asset alone has R = W; N and SC sums grow.) Across assets it
    does not hold, and must not: growing one leg of a hedge lowers the margin (next
    tests)."""
    market = data.draw(markets(profile))
    params = data.draw(risk_params(profile))
    n = profile.assets
    c = data.draw(st.integers(0, SCALE))
    params = dataclasses.replace(
        params, rho=tuple(tuple(U if a == b else c for b in range(n)) for a in range(n))
    )
    drawn = data.draw(accounts(market, min_positions=1))
    target = data.draw(
        st.sampled_from(sorted({market.rows[s.instrument_id].asset for s in drawn.positions()}))
    )
    on_target = {
        s.instrument_id: s.q for s in drawn.positions() if market.rows[s.instrument_id].asset == target
    }
    account = dataclasses.replace(drawn, slots=canonical_slots(on_target, market.profile.slots))
    held = account.positions()
    biggest = max(abs(s.q) for s in held if market.rows[s.instrument_id].asset == target)
    factor = data.draw(st.integers(1, min(50, (Q_LIMIT - 1) // biggest)))
    scaled = {
        s.instrument_id: s.q * factor if market.rows[s.instrument_id].asset == target else s.q for s in held
    }
    bigger = dataclasses.replace(account, slots=canonical_slots(scaled, market.profile.slots))
    r0 = compute_margin(market, params, account)
    r1 = compute_margin(market, params, bigger)
    assert all(w1 >= w0 for w0, w1 in zip(r0.W, r1.W, strict=True))
    assert r1.N[target] >= r0.N[target] and r1.LQ[target] >= r0.LQ[target]
    assert r1.SC >= r0.SC
    assert r1.R >= r0.R == r0.W[target]
    assert r1.IM >= r0.IM


def test_scaling_can_lower_im_with_negative_correlation() -> None:
    """Two perfectly anti-correlated assets held long together hedge each other:
    S = (1, 2) gives X = 1 + 4 - 4 = 1; doubling asset 0 gives S = (2, 2), X = 0."""
    rows = [make_row(1, 0, ra=linear(U)), make_row(2, 1, ra=linear(2 * U))]
    market = make_market(TEST, [(U, U), (U, U)], rows)
    params = make_params(TEST, rho=((U, -U), (-U, U)))
    r0 = compute_margin(market, params, make_account(TEST, {1: U, 2: U}))
    r1 = compute_margin(market, params, make_account(TEST, {1: 2 * U, 2: U}))
    assert (r0.R, r1.R) == (U, 0)
    assert r1.IM < r0.IM


@PROPS
@given(margin_cases())
def test_rho_all_ones_gives_sum_of_w_exactly(case: tuple[Market, RiskParams, Account]) -> None:
    """rho = SCALE everywhere: X_sum = SCALE (sum S)^2, so X = (sum S)^2 and
    R = |sum S| + sum U exactly: sum W when every S has one sign, less when legs offset."""
    market, params, account = case
    params = dataclasses.replace(params, rho=ones_rho(market.profile.assets))
    r = compute_margin(market, params, account)
    assert r.X == sum(r.S) ** 2
    assert r.R == abs(sum(r.S)) + sum(r.U) <= sum(r.W)
    if all(x >= 0 for x in r.S) or all(x <= 0 for x in r.S):
        assert r.R == sum(r.W)


@PROPS
@given(margin_cases())
def test_rho_identity_gives_root_sum_of_squares(case: tuple[Market, RiskParams, Account]) -> None:
    """rho = I: X = sum W^2 exactly and R = isqrt(X), i.e. R^2 <= sum W^2 < (R + 1)^2."""
    market, params, account = case
    n = market.profile.assets
    params = dataclasses.replace(
        params, rho=tuple(tuple(U if a == b else 0 for b in range(n)) for a in range(n))
    )
    r = compute_margin(market, params, account)
    squares = sum(x * x for x in r.S)
    assert r.X == squares
    assert r.R_dir**2 <= squares < (r.R_dir + 1) ** 2
    assert max(r.W) <= r.R <= sum(r.W)


@PROPS
@given(margin_cases())
def test_no_offset_no_credit(case: tuple[Market, RiskParams, Account]) -> None:
    """When no asset's direction offsets another's (every S of one sign), ZKPM-2 never
    charges less than ZKPM-1's sqrt(W rho W) (the triangle inequality of the rho-norm:
    ||W|| <= ||S|| + ||U|| <= ||S|| + sum U), up to the two floors (2 units); and never
    more than the plain sum of the worst losses."""
    market, params, account = case
    r = compute_margin(market, params, account)
    n = market.profile.assets
    zkpm1 = math.isqrt(
        max(0, sum(params.rho[a][b] * r.W[a] * r.W[b] for a in range(n) for b in range(n)) // SCALE)
    )
    assert 0 <= r.R <= sum(r.W)
    if all(x >= 0 for x in r.S) or all(x <= 0 for x in r.S):
        assert r.R + 2 >= zkpm1


def test_slot_order_in_input_does_not_matter_for_numbers() -> None:
    """The canonical form is a commitment matter; compute_margin itself just sums."""
    market, params, account = worked_example()
    swapped = dataclasses.replace(account, slots=(account.slots[1], account.slots[0], *account.slots[2:]))
    assert compute_margin(market, params, swapped) == compute_margin(market, params, account)


def test_zero_q_slot_with_nonzero_id_is_ignored() -> None:
    market, params, account = worked_example()
    odd = dataclasses.replace(account, slots=(*account.slots[:2], Slot(99, 0), account.slots[3]))
    assert compute_margin(market, params, odd) == compute_margin(market, params, account)

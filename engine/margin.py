"""The ZKPM-2 margin computation for one account (spec section 3), in exact integers.

This is the reference the circuit is checked against: every field of
``MarginResult`` is a plain Python ``int`` computed straight from the formulas of
section 3 with ``fdiv`` and ``isqrt`` of ``engine.fixedpoint``. No float is used.

Inputs are assumed validated (``engine.validate``); the one check made here is
that every slot with ``q != 0`` names an instrument row that exists. Slots with
``q = 0`` contribute nothing and their ``instrument_id`` is never looked up.

Besides the section-3 numbers the result carries the raw sums taken before each
division, which the circuit needs as witness hints (the remainders of the
divisions follow from them).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.aggregation import combined_risk, correlated_sum, directional_sum, split_risk
from engine.errors import InputError
from engine.fixedpoint import N_SCENARIOS, SCALE, fdiv
from engine.model import Account, InstrumentRow, Market, RiskParams
from engine.status import Status

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class MarginResult:
    """Every integer of spec section 3 for one account, plus the raw pre-division sums.

    Per-asset tuples have length ``A``; ``scenario_sums`` and ``L`` are ``A x 16``.
    """

    scenario_sums: Matrix  # sum_j q_j * RA[s] over the asset's slots (scale SCALE**2)
    L: Matrix  # fdiv(scenario_sums, SCALE)
    min_sum: tuple[int, ...]  # min over s of scenario_sums[a]
    worst_scenario: tuple[int, ...]  # first s attaining min_sum[a] (0 for an asset without positions)
    W: tuple[int, ...]  # max(0, -fdiv(min_sum, SCALE)) = max(0, max_s -L[a][s])
    D_sum: tuple[int, ...]  # (sums[10] + sums[11]) - (sums[12] + sums[13]) per asset
    Dir: tuple[int, ...]  # fdiv(D_sum, 4 * SCALE): signed direction of the asset's risk
    S: tuple[int, ...]  # clamp(Dir, -W, W): the directional part
    U: tuple[int, ...]  # W - |S|: the non-directional part (no correlation credit)
    X_sum: int  # sum_{a,b} rho[a][b] * S[a] * S[b]
    X: int  # fdiv(X_sum, SCALE)
    R_dir: int  # isqrt(max(0, X))
    R: int  # R_dir + sum(U)
    ND: tuple[int, ...]  # sum_j q_j * delta_j per asset (scale SCALE**2)
    N_num: tuple[int, ...]  # |ND[a]| * S_a
    N: tuple[int, ...]  # fdiv(N_num, SCALE**2)
    LQ_num: tuple[int, ...]  # kappa_a * N[a]**2
    LQ_den: tuple[int, ...]  # D_a * SCALE
    LQ: tuple[int, ...]  # fdiv(LQ_num, LQ_den)
    SC_sum: int  # sum_j max(0, q_j) * c_long + max(0, -q_j) * c_short
    SC: int  # fdiv(SC_sum, SCALE)
    IM: int  # R + sum(LQ) + SC
    MM_num: int  # IM * mm_factor
    MM: int  # fdiv(MM_num, SCALE)
    value_sum: int  # sum_j q_j * M_j
    E: int  # cash + fdiv(value_sum, SCALE)
    status: int  # 0 healthy, 1 restricted, 2 liquidatable, 3 insolvent
    shortfall: int  # max(0, MM - E)

    @property
    def status_name(self) -> str:
        return Status(self.status).label


def classify(E: int, IM: int, MM: int) -> int:
    """The account state of section 3 from equity and the two margins."""
    if E < 0:
        return Status.INSOLVENT
    if E < MM:
        return Status.LIQUIDATABLE
    if E < IM:
        return Status.RESTRICTED
    return Status.HEALTHY


def held_rows(market: Market, account: Account) -> list[tuple[int, InstrumentRow]]:
    """``(q, row)`` for every slot with ``q != 0``; a missing row is an ``InputError``."""
    held: list[tuple[int, InstrumentRow]] = []
    for j, slot in enumerate(account.slots):
        if slot.q == 0:
            continue
        row = market.rows.get(slot.instrument_id)
        if row is None:
            raise InputError(
                f"account.slots[{j}].instrument_id",
                f"instrument {slot.instrument_id} is not in the market (epoch {market.epoch})",
            )
        held.append((slot.q, row))
    return held


def _worst(sums: tuple[int, ...]) -> tuple[int, int]:
    """(minimum, first index attaining it) of one asset's scenario sums."""
    best = 0
    for s in range(1, len(sums)):
        if sums[s] < sums[best]:
            best = s
    return sums[best], best


def compute_margin(market: Market, params: RiskParams, account: Account) -> MarginResult:
    """Spec section 3 for one account: margins, equity, status and shortfall."""
    n_assets = market.profile.assets
    held = held_rows(market, account)

    sums = [[0] * N_SCENARIOS for _ in range(n_assets)]
    nd = [0] * n_assets
    sc_sum = 0
    value_sum = 0
    for q, row in held:
        acc = sums[row.asset]
        for s in range(N_SCENARIOS):
            acc[s] += q * row.ra[s]
        nd[row.asset] += q * row.delta
        sc_sum += max(0, q) * row.c_long + max(0, -q) * row.c_short
        value_sum += q * row.mark

    scenario_sums = tuple(tuple(r) for r in sums)
    L = tuple(tuple(fdiv(x, SCALE) for x in r) for r in scenario_sums)
    worst = [_worst(r) for r in scenario_sums]
    min_sum = tuple(m for m, _ in worst)
    W = tuple(max(0, -fdiv(m, SCALE)) for m in min_sum)
    D_sum = tuple(directional_sum(r) for r in scenario_sums)
    split = [split_risk(d, w) for d, w in zip(D_sum, W, strict=True)]
    S = tuple(s for _, s, _ in split)
    U = tuple(u for _, _, u in split)
    X_sum = correlated_sum(S, params.rho)
    X, R_dir, R = combined_risk(X_sum, U)

    spots = [market.assets[a].spot for a in range(n_assets)]
    N_num = tuple(abs(nd[a]) * spots[a] for a in range(n_assets))
    N = tuple(fdiv(x, SCALE * SCALE) for x in N_num)
    LQ_num = tuple(params.kappa[a] * N[a] * N[a] for a in range(n_assets))
    LQ_den = tuple(market.assets[a].depth * SCALE for a in range(n_assets))
    LQ = tuple(fdiv(LQ_num[a], LQ_den[a]) for a in range(n_assets))

    SC = fdiv(sc_sum, SCALE)
    IM = R + sum(LQ) + SC
    MM_num = IM * params.mm_factor
    MM = fdiv(MM_num, SCALE)
    E = account.cash + fdiv(value_sum, SCALE)

    return MarginResult(
        scenario_sums=scenario_sums,
        L=L,
        min_sum=min_sum,
        worst_scenario=tuple(s for _, s in worst),
        W=W,
        D_sum=D_sum,
        Dir=tuple(d for d, _, _ in split),
        S=S,
        U=U,
        X_sum=X_sum,
        X=X,
        R_dir=R_dir,
        R=R,
        ND=tuple(nd),
        N_num=N_num,
        N=N,
        LQ_num=LQ_num,
        LQ_den=LQ_den,
        LQ=LQ,
        SC_sum=sc_sum,
        SC=SC,
        IM=IM,
        MM_num=MM_num,
        MM=MM,
        value_sum=value_sum,
        E=E,
        status=classify(E, IM, MM),
        shortfall=max(0, MM - E),
    )

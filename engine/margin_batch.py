"""Spec section 3 for many accounts at once, with numpy, bit-identical to ``compute_margin``.

The work splits in two stages.

1. Slot sums (the heavy part, ``n x k x 16`` products): the scenario sums and net
   deltas per asset are a batched matrix product ``(n, A, k) @ (n, k, 17)`` of
   ``int64`` arrays, the position values and static charges are row sums. Terms
   reach ``2**96`` and sums ``2**100``, so every product is done exactly in 24-bit
   limbs (``engine/exact_limbs.py``); a result is kept as the pair ``(hi, lo)`` with
   ``value = hi * 2**48 + lo`` and ``0 <= lo < 2**48``, which orders lexicographically,
   so the per-asset minimum over the scenarios (and the first scenario attaining it)
   is found on ``int64``.
2. Per-asset and per-account formulas (``n x A`` values): ``W``, ``S``, ``U``, ``X``, ``R``,
   ``N``, ``LQ``, ``IM``, ``MM``, ``E`` on object arrays of Python ints, exact at
   any size (``X_sum`` reaches about ``2**185``).

No float touches any number. Accounts are processed in chunks to bound memory.
The limb arithmetic needs the section-1 bounds (``|q|``, ``|M|``, ``|RA|``,
``|delta|``, ``c`` below ``2**48``); ``AccountBatch`` and ``MarketTables``
(``engine/margin_arrays.py``, with the result ``BatchResult``) check them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.aggregation import DIR_DIVISOR, DOWN_MOVES, UP_MOVES
from engine.errors import InputError
from engine.exact_limbs import I64, Obj, SplitOperand, exact_dot, grouped_dot_split, pair_min, pair_to_int
from engine.fixedpoint import N_SCENARIOS, SCALE
from engine.margin_arrays import AccountBatch, BatchResult, MarketTables
from engine.model import Market, RiskParams
from engine.status import Status

DEFAULT_CHUNK = 1024


@dataclass
class _SlotSums:
    """Stage-1 outputs, filled chunk by chunk; every value is an (hi, lo) pair."""

    scen_hi: I64
    scen_lo: I64
    min_hi: I64
    min_lo: I64
    worst: I64
    nd_hi: I64
    nd_lo: I64
    val_hi: I64
    val_lo: I64
    sc_hi: I64
    sc_lo: I64

    @classmethod
    def empty(cls, n: int, n_assets: int) -> _SlotSums:
        def z(*shape: int) -> I64:
            return np.zeros(shape, dtype=np.int64)

        return cls(
            z(n, n_assets, N_SCENARIOS),
            z(n, n_assets, N_SCENARIOS),
            *(z(n, n_assets) for _ in range(5)),
            *(z(n) for _ in range(4)),
        )


def _check_ids(tables: MarketTables, ids: I64, q: I64, offset: int) -> I64:
    """Ids of held slots must name present rows; empty slots are mapped to id 0."""
    cap = tables.present.shape[0]
    in_range = (ids >= 0) & (ids < cap)
    ok = in_range & tables.present[np.where(in_range, ids, 0)]
    bad = (q != 0) & ~ok
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise InputError(
            f"accounts[{offset + i}].slots[{j}].instrument_id",
            f"instrument {int(ids[i, j])} is not in the market",
        )
    return np.where(q != 0, ids, 0)


def _slot_sums_chunk(
    tables: MarketTables, n_assets: int, ids: I64, q: I64, out: _SlotSums, lo: int, hi: int
) -> None:
    """Stage 1 for accounts ``lo..hi-1``."""
    ids = _check_ids(tables, ids, q, lo)
    # scenario sums and net deltas per asset: RA[0..15] and delta as 17 columns
    cols = tables.columns
    rhs = SplitOperand(
        hi=cols.hi[ids, 0], lo=cols.lo[ids, 0], mid=cols.mid[ids].reshape(*ids.shape[:1], -1, N_SCENARIOS + 1)
    )
    s_hi, s_lo = grouped_dot_split(q, tables.asset[ids], n_assets, rhs)
    out.scen_hi[lo:hi] = s_hi[:, :, :N_SCENARIOS]
    out.scen_lo[lo:hi] = s_lo[:, :, :N_SCENARIOS]
    out.nd_hi[lo:hi] = s_hi[:, :, N_SCENARIOS]
    out.nd_lo[lo:hi] = s_lo[:, :, N_SCENARIOS]
    m_hi, m_lo, worst = pair_min(s_hi[:, :, :N_SCENARIOS], s_lo[:, :, :N_SCENARIOS])
    out.min_hi[lo:hi], out.min_lo[lo:hi], out.worst[lo:hi] = m_hi, m_lo, worst

    # value: q . M ; static charge: [q+ | q-] . [c_long | c_short]
    v_hi, v_lo = exact_dot(q, tables.mark[ids])
    q_split = np.concatenate((np.maximum(q, 0), np.maximum(-q, 0)), axis=1)
    c_hi, c_lo = exact_dot(q_split, np.concatenate((tables.c_long[ids], tables.c_short[ids]), axis=1))
    out.val_hi[lo:hi], out.val_lo[lo:hi] = v_hi, v_lo
    out.sc_hi[lo:hi], out.sc_lo[lo:hi] = c_hi, c_lo


def _isqrt_nonneg(x: Obj) -> Obj:
    out = np.empty(x.shape, dtype=object)
    out[:] = [math.isqrt(v) if v > 0 else 0 for v in x]
    return out


def _column(values: Sequence[int]) -> Obj:
    out = np.empty(len(values), dtype=object)
    out[:] = [int(v) for v in values]
    return out


def compute_margins(
    market: Market,
    params: RiskParams,
    batch: AccountBatch,
    *,
    tables: MarketTables | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> BatchResult:
    """Section 3 for every account of ``batch``; ``.row(i)`` equals ``compute_margin``.

    ``tables`` may be passed to reuse the dense row arrays across calls.
    """
    n_assets = market.profile.assets
    tables = tables or MarketTables.from_market(market)
    n = len(batch)
    st = _SlotSums.empty(n, n_assets)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        _slot_sums_chunk(tables, n_assets, batch.ids[lo:hi], batch.q[lo:hi], st, lo, hi)

    scale = SCALE
    min_sum = pair_to_int(st.min_hi, st.min_lo)
    W = np.maximum(-(min_sum // scale), 0)
    # the ZKPM-2 aggregation (engine/aggregation.py, the rule; the same integers here)
    up, down = list(UP_MOVES), list(DOWN_MOVES)
    D_sum = pair_to_int(st.scen_hi[:, :, up], st.scen_lo[:, :, up]).sum(axis=2) - pair_to_int(
        st.scen_hi[:, :, down], st.scen_lo[:, :, down]
    ).sum(axis=2)
    Dir = D_sum // DIR_DIVISOR
    S = np.minimum(np.maximum(Dir, -W), W)
    U = W - np.abs(S)
    rho = np.array([[int(v) for v in r] for r in params.rho], dtype=object)
    X_sum = ((S @ rho) * S).sum(axis=1) if n else np.zeros(0, dtype=object)
    X = X_sum // scale
    R_dir = _isqrt_nonneg(X)
    R = R_dir + U.sum(axis=1) if n else np.zeros(0, dtype=object)

    ND = pair_to_int(st.nd_hi, st.nd_lo)
    spots = _column([market.assets[a].spot for a in range(n_assets)])
    N_num = np.abs(ND) * spots
    N = N_num // (scale * scale)
    LQ_num = _column(params.kappa[:n_assets]) * N * N
    LQ_den = tuple(market.assets[a].depth * scale for a in range(n_assets))
    LQ = LQ_num // _column(LQ_den)

    SC_sum = pair_to_int(st.sc_hi, st.sc_lo)
    SC = SC_sum // scale
    IM = R + LQ.sum(axis=1) + SC
    MM_num = IM * int(params.mm_factor)
    MM = MM_num // scale
    value_sum = pair_to_int(st.val_hi, st.val_lo)
    E = batch.cash + value_sum // scale

    status = np.full(n, Status.HEALTHY, dtype=np.int8)
    status[E < IM] = Status.RESTRICTED
    status[E < MM] = Status.LIQUIDATABLE
    status[E < 0] = Status.INSOLVENT

    return BatchResult(
        scenario_hi=st.scen_hi,
        scenario_lo=st.scen_lo,
        min_sum=min_sum,
        worst_scenario=st.worst,
        W=W,
        D_sum=D_sum,
        Dir=Dir,
        S=S,
        U=U,
        X_sum=X_sum,
        X=X,
        R_dir=R_dir,
        R=R,
        ND=ND,
        N_num=N_num,
        N=N,
        LQ_num=LQ_num,
        LQ_den=LQ_den,
        LQ=LQ,
        SC_sum=SC_sum,
        SC=SC,
        IM=IM,
        MM_num=MM_num,
        MM=MM,
        value_sum=value_sum,
        E=E,
        status=status,
        shortfall=np.maximum(MM - E, 0),
    )

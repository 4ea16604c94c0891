"""Spec section 3 for many accounts at once, with numpy, bit-identical to ``compute_margin``.

The work splits in two stages.

1. Slot sums (the heavy part, ``n x k x 16`` products): the scenario sums and net
   deltas per asset are a batched matrix product ``(n, A, k) @ (n, k, 17)`` of
   ``int64`` arrays, the position values and static charges are row sums. Terms
   reach ``2**96`` and sums ``2**100``, so every product is done exactly in 24-bit
   limbs: with ``x = xh * 2**24 + xl`` (``0 <= xl < 2**24``) every partial product is
   at most ``2**48`` and a sum of ``2k`` of them stays far below ``2**63``. A result
   is kept as the pair ``(hi, lo)`` with ``value = hi * 2**48 + lo`` and
   ``0 <= lo < 2**48``, which orders lexicographically, so the per-asset minimum
   over the scenarios (and the first scenario attaining it) is found on ``int64``.
2. Per-asset and per-account formulas (``n x A`` values): ``W``, ``X``, ``R``,
   ``N``, ``LQ``, ``IM``, ``MM``, ``E`` on object arrays of Python ints, exact at
   any size (``X_sum`` reaches about ``2**185``).

No float touches any number. Accounts are processed in chunks to bound memory.
The limb arithmetic needs the section-1 bounds (``|q|``, ``|M|``, ``|RA|``,
``|delta|``, ``c`` below ``2**48``); ``AccountBatch`` and ``MarketTables`` check them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.errors import InputError
from engine.fixedpoint import N_SCENARIOS, SCALE, fdiv
from engine.margin import MarginResult
from engine.model import Account, Market, RiskParams
from engine.status import Status

I64 = NDArray[np.int64]
Obj = NDArray[np.object_]

LIMB_BITS = 24
_LIMB_MASK = (1 << LIMB_BITS) - 1
PAIR_BITS = 2 * LIMB_BITS  # value = hi * 2**48 + lo
_PAIR_MASK = (1 << PAIR_BITS) - 1
#: Every operand of the limb products must satisfy |x| < OPERAND_LIMIT.
OPERAND_LIMIT = 1 << PAIR_BITS
#: Largest number of terms per sum the limb products allow (keeps every sum < 2**62).
MAX_TERMS = 1 << 12
#: Pairs with -2**14 <= hi < 2**14 convert to int64 directly.
_SMALL_HI = 1 << 14
DEFAULT_CHUNK = 1024


# ----------------------------------------------------------------- exact int64 products


def _split(x: I64) -> tuple[I64, I64]:
    """x = hi * 2**24 + lo with 0 <= lo < 2**24 (hi by arithmetic shift: a floor)."""
    return x >> LIMB_BITS, x & _LIMB_MASK


def _normalise(t2: I64, t1: I64, t0: I64) -> tuple[I64, I64]:
    """t2 * 2**48 + t1 * 2**24 + t0 as (hi, lo) with 0 <= lo < 2**48."""
    t1 = t1 + (t0 >> LIMB_BITS)
    hi = t2 + (t1 >> LIMB_BITS)
    lo = ((t1 & _LIMB_MASK) << LIMB_BITS) | (t0 & _LIMB_MASK)
    return hi, lo


def limb_products(x: I64, y: I64) -> tuple[I64, I64, I64]:
    """Elementwise ``x * y`` as ``t2 * 2**48 + t1 * 2**24 + t0``, every ``|t| <= 2**49``.

    ``x`` and ``y`` (broadcast together) must satisfy ``|v| < 2**48``.
    """
    xh, xl = _split(x)
    yh, yl = _split(y)
    return xh * yh, xh * yl + xl * yh, xl * yl


def exact_dot(x: I64, y: I64) -> tuple[I64, I64]:
    """``sum(x * y)`` over the last axis, exactly, as an ``(hi, lo)`` pair.

    At most ``MAX_TERMS`` terms; operands below ``2**48`` in magnitude.
    """
    if x.shape[-1] > MAX_TERMS:
        raise ValueError(f"exact_dot: at most {MAX_TERMS} terms per sum")
    t2, t1, t0 = limb_products(x, y)
    return _normalise(t2.sum(axis=-1), t1.sum(axis=-1), t0.sum(axis=-1))


@dataclass(frozen=True)
class SplitOperand:
    """A right operand ``(..., k, p)`` prepared for :func:`grouped_dot_split`: its limbs
    ``hi``, ``lo`` and ``mid`` (``(..., 2k, p)``, rows ``lo_j, hi_j`` interleaved)."""

    hi: I64
    lo: I64
    mid: I64

    @classmethod
    def of(cls, values: I64) -> SplitOperand:
        hi, lo = _split(values)
        mid = np.stack((lo, hi), axis=-2).reshape(*values.shape[:-2], 2 * values.shape[-2], values.shape[-1])
        return cls(hi=hi, lo=lo, mid=mid)


def grouped_dot_split(q: I64, group: I64, n_groups: int, rhs: SplitOperand) -> tuple[I64, I64]:
    """:func:`exact_grouped_dot` with the right operand already split in limbs.

    A batched matrix product ``(n, G, k) @ (n, k, p)`` whose left operand holds
    ``q`` where the slot belongs to the group and 0 elsewhere, done in limbs:
    ``lh @ rh``, ``[lh_j, ll_j]_j @ [rl_j ; rh_j]_j`` and ``ll @ rl`` (at most ``2k``
    terms of magnitude at most ``2**48`` per sum).
    """
    n, k = q.shape
    if 2 * k > MAX_TERMS:
        raise ValueError(f"grouped_dot_split: at most {MAX_TERMS // 2} slots")
    member = group[:, None, :] == np.arange(n_groups)[None, :, None]  # (n, G, k)
    qh, ql = _split(q)
    lh = np.where(member, qh[:, None, :], 0)
    ll = np.where(member, ql[:, None, :], 0)
    t2 = lh @ rhs.hi
    t1 = np.stack((lh, ll), axis=-1).reshape(n, n_groups, 2 * k) @ rhs.mid
    t0 = ll @ rhs.lo
    return _normalise(t2, t1, t0)


def exact_grouped_dot(q: I64, values: I64, group: I64, n_groups: int) -> tuple[I64, I64]:
    """Per group ``g``: ``sum over j with group[:, j] == g of q[:, j] * values[:, j, :]``.

    ``q`` and ``group`` are ``(n, k)``, ``values`` is ``(n, k, p)``, every entry
    below ``2**48`` in magnitude; the result is the exact ``(hi, lo)`` pair of shape
    ``(n, n_groups, p)``.
    """
    return grouped_dot_split(q, group, n_groups, SplitOperand.of(values))


def pair_to_int(hi: I64, lo: I64) -> Obj:
    """Exact Python ints ``hi * 2**48 + lo`` as an object array.

    Values with ``-2**14 <= hi < 2**14`` fit in int64 and are converted in one step; the
    rest go through Python-int arithmetic.
    """
    fits = (hi >= -_SMALL_HI) & (hi < _SMALL_HI)
    out = ((np.where(fits, hi, 0) << PAIR_BITS) + lo).astype(object)
    if not fits.all():
        big = ~fits
        out[big] = hi[big].astype(object) * (1 << PAIR_BITS) + lo[big].astype(object)
    return out


def pair_min(hi: I64, lo: I64) -> tuple[I64, I64, I64]:
    """Minimum over the last axis of ``(hi, lo)`` pairs and the first index attaining it."""
    hmin = hi.min(axis=-1, keepdims=True)
    cand = np.where(hi == hmin, lo, np.int64(OPERAND_LIMIT))
    idx = cand.argmin(axis=-1)
    return hmin[..., 0], np.take_along_axis(cand, idx[..., None], axis=-1)[..., 0], idx


# ------------------------------------------------------------------------ inputs


def _check_operand_bound(field: str, values: I64) -> None:
    if values.size and int(np.abs(values).max()) >= OPERAND_LIMIT:
        at = np.unravel_index(int(np.abs(values).argmax()), values.shape)
        raise InputError(f"{field}{list(map(int, at))}", f"|value| must be < 2**48, got {int(values[at])}")


@dataclass(frozen=True)
class MarketTables:
    """The instrument rows of a market as dense arrays indexed by instrument id."""

    present: NDArray[np.bool_]  # (cap,)
    asset: I64  # (cap,)
    mark: I64
    delta: I64
    c_long: I64
    c_short: I64
    ra: I64  # (cap, 16)
    columns: SplitOperand  # [RA[0..15] | delta] per id, split in limbs: (cap, 17) / (cap, 2, 17)

    @classmethod
    def from_market(cls, market: Market) -> MarketTables:
        cap = market.profile.capacity
        present = np.zeros(cap, dtype=bool)
        asset = np.zeros(cap, dtype=np.int64)
        scalars = np.zeros((4, cap), dtype=np.int64)
        ra = np.zeros((cap, N_SCENARIOS), dtype=np.int64)
        for iid, row in market.rows.items():
            if not 0 <= iid < cap:
                raise InputError(f"market.rows[{iid}]", f"instrument id must be in 0..{cap - 1}")
            if not 0 <= row.asset < market.profile.assets:
                raise InputError(f"market.rows[{iid}].asset", f"must be in 0..{market.profile.assets - 1}")
            values = (row.mark, row.delta, row.c_long, row.c_short, *row.ra)
            if any(abs(v) >= OPERAND_LIMIT for v in values):
                raise InputError(f"market.rows[{iid}]", "mark, delta, RA and charges must be < 2**48")
            present[iid] = True
            asset[iid] = row.asset
            scalars[:, iid] = values[:4]
            ra[iid] = row.ra
        return cls(
            present=present,
            asset=asset,
            mark=scalars[0],
            delta=scalars[1],
            c_long=scalars[2],
            c_short=scalars[3],
            ra=ra,
            columns=SplitOperand.of(np.concatenate((ra, scalars[1][:, None]), axis=1)[:, None, :]),
        )


@dataclass(frozen=True)
class AccountBatch:
    """Slots and cash of ``n`` accounts with ``k`` slots each.

    ``cash`` is an object array of Python ints (``|cash| < 2**80`` exceeds int64).
    """

    ids: I64  # (n, k)
    q: I64  # (n, k)
    cash: Obj  # (n,)

    def __post_init__(self) -> None:
        if self.ids.shape != self.q.shape or self.ids.ndim != 2:
            raise InputError("batch", f"ids {self.ids.shape} and q {self.q.shape} must both be (n, k)")
        if self.cash.shape != (self.ids.shape[0],):
            raise InputError("batch.cash", f"must have shape ({self.ids.shape[0]},)")
        if self.ids.shape[1] > MAX_TERMS // 2:
            raise InputError("batch", f"at most {MAX_TERMS // 2} slots per account")
        _check_operand_bound("batch.q", self.q)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def slots(self) -> int:
        return int(self.ids.shape[1])

    @classmethod
    def from_arrays(cls, ids: object, q: object, cash: Sequence[int] | Obj) -> AccountBatch:
        return cls(
            ids=np.ascontiguousarray(ids, dtype=np.int64),
            q=np.ascontiguousarray(q, dtype=np.int64),
            cash=np.array([int(c) for c in cash], dtype=object),
        )

    @classmethod
    def from_accounts(cls, accounts: Sequence[Account]) -> AccountBatch:
        """Pack accounts that all have the same number of slots."""
        n = len(accounts)
        k = len(accounts[0].slots) if n else 0
        for i, acc in enumerate(accounts):
            if len(acc.slots) != k:
                raise InputError(f"accounts[{i}].slots", f"has {len(acc.slots)} slots, expected {k}")
        try:
            ids = np.fromiter((s.instrument_id for a in accounts for s in a.slots), np.int64, n * k)
            q = np.fromiter((s.q for a in accounts for s in a.slots), np.int64, n * k)
        except OverflowError:
            for i, acc in enumerate(accounts):
                for j, s in enumerate(acc.slots):
                    if abs(s.q) >= OPERAND_LIMIT:
                        raise InputError(f"accounts[{i}].slots[{j}].q", "|q| must be < 2**48") from None
            raise InputError("accounts", "an instrument id does not fit in int64") from None
        cash = np.empty(n, dtype=object)
        cash[:] = [a.cash for a in accounts]
        return cls(ids=ids.reshape(n, k), q=q.reshape(n, k), cash=cash)


# ----------------------------------------------------------------------- result


@dataclass(frozen=True)
class BatchResult:
    """Section-3 numbers for ``n`` accounts; field meanings as in ``MarginResult``.

    Object arrays hold exact Python ints. The scenario sums are kept as the
    ``int64`` pair ``scenario_hi * 2**48 + scenario_lo``.
    """

    scenario_hi: I64  # (n, A, 16)
    scenario_lo: I64  # (n, A, 16)
    min_sum: Obj  # (n, A)
    worst_scenario: I64  # (n, A)
    W: Obj  # (n, A)
    X_sum: Obj  # (n,)
    X: Obj
    R: Obj
    ND: Obj  # (n, A)
    N_num: Obj
    N: Obj
    LQ_num: Obj
    LQ_den: tuple[int, ...]  # (A,) same for every account
    LQ: Obj  # (n, A)
    SC_sum: Obj  # (n,)
    SC: Obj
    IM: Obj
    MM_num: Obj
    MM: Obj
    value_sum: Obj
    E: Obj
    status: NDArray[np.int8]
    shortfall: Obj

    def __len__(self) -> int:
        return int(self.status.shape[0])

    def rows(self) -> list[MarginResult]:
        """Every account's ``MarginResult`` (``row(i)`` for each ``i``), converting each array
        to Python ints once instead of element by element."""
        hi, lo = self.scenario_hi, self.scenario_lo
        if bool(((hi >= -_SMALL_HI) & (hi < _SMALL_HI)).all()):  # every sum fits in int64
            pairs: NDArray[Any] = (hi << PAIR_BITS) + lo
        else:
            pairs = pair_to_int(hi, lo)
        sums = pairs.tolist()
        losses = (pairs // SCALE).tolist()  # fdiv(x, SCALE) of every element (floor, SCALE > 0)

        def lists(a: NDArray[Any]) -> list[Any]:
            return a.tolist()

        min_sum, worst, w, nd = lists(self.min_sum), lists(self.worst_scenario), lists(self.W), lists(self.ND)
        n_num, n, lq_num, lq = lists(self.N_num), lists(self.N), lists(self.LQ_num), lists(self.LQ)
        x_sum, x, r, sc_sum, sc = (
            lists(self.X_sum),
            lists(self.X),
            lists(self.R),
            lists(self.SC_sum),
            lists(self.SC),
        )
        im, mm_num, mm, value_sum, e = (
            lists(self.IM),
            lists(self.MM_num),
            lists(self.MM),
            lists(self.value_sum),
            lists(self.E),
        )
        status, shortfall = lists(self.status), lists(self.shortfall)
        return [
            MarginResult(
                scenario_sums=tuple(tuple(row) for row in sums[i]),
                L=tuple(tuple(row) for row in losses[i]),
                min_sum=tuple(min_sum[i]),
                worst_scenario=tuple(worst[i]),
                W=tuple(w[i]),
                X_sum=x_sum[i],
                X=x[i],
                R=r[i],
                ND=tuple(nd[i]),
                N_num=tuple(n_num[i]),
                N=tuple(n[i]),
                LQ_num=tuple(lq_num[i]),
                LQ_den=self.LQ_den,
                LQ=tuple(lq[i]),
                SC_sum=sc_sum[i],
                SC=sc[i],
                IM=im[i],
                MM_num=mm_num[i],
                MM=mm[i],
                value_sum=value_sum[i],
                E=e[i],
                status=status[i],
                shortfall=shortfall[i],
            )
            for i in range(len(self))
        ]

    def row(self, i: int) -> MarginResult:
        """Account ``i`` as the ``MarginResult`` that ``compute_margin`` returns."""
        sums = pair_to_int(self.scenario_hi[i], self.scenario_lo[i])
        scenario_sums = tuple(tuple(int(x) for x in r) for r in sums)

        def ints(a: NDArray[Any]) -> tuple[int, ...]:
            return tuple(int(x) for x in a[i])

        return MarginResult(
            scenario_sums=scenario_sums,
            L=tuple(tuple(fdiv(x, SCALE) for x in r) for r in scenario_sums),
            min_sum=ints(self.min_sum),
            worst_scenario=ints(self.worst_scenario),
            W=ints(self.W),
            X_sum=int(self.X_sum[i]),
            X=int(self.X[i]),
            R=int(self.R[i]),
            ND=ints(self.ND),
            N_num=ints(self.N_num),
            N=ints(self.N),
            LQ_num=ints(self.LQ_num),
            LQ_den=self.LQ_den,
            LQ=ints(self.LQ),
            SC_sum=int(self.SC_sum[i]),
            SC=int(self.SC[i]),
            IM=int(self.IM[i]),
            MM_num=int(self.MM_num[i]),
            MM=int(self.MM[i]),
            value_sum=int(self.value_sum[i]),
            E=int(self.E[i]),
            status=int(self.status[i]),
            shortfall=int(self.shortfall[i]),
        )


# ------------------------------------------------------------------ computation


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
    rho = np.array([[int(v) for v in r] for r in params.rho], dtype=object)
    X_sum = ((W @ rho) * W).sum(axis=1) if n else np.zeros(0, dtype=object)
    X = X_sum // scale
    R = _isqrt_nonneg(X)

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
        X_sum=X_sum,
        X=X,
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

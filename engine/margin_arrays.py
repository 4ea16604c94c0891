"""The arrays of the numpy margin batch (``engine/margin_batch.py``): its inputs, the
accounts (``AccountBatch``) and the market's rows (``MarketTables``), and its result
(``BatchResult``), which turns back into the ``MarginResult`` of each account.

The inputs check the section-1 bounds the limb arithmetic needs (``|q|``, ``|M|``,
``|RA|``, ``|delta|``, ``c`` below ``2**48``, see ``engine/exact_limbs.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.errors import InputError
from engine.exact_limbs import (
    I64,
    MAX_TERMS,
    OPERAND_LIMIT,
    PAIR_BITS,
    SMALL_HI,
    Obj,
    SplitOperand,
    pair_to_int,
)
from engine.fixedpoint import N_SCENARIOS, SCALE, fdiv
from engine.margin import MarginResult
from engine.model import Account, Market

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
    D_sum: Obj  # (n, A)
    Dir: Obj  # (n, A)
    S: Obj  # (n, A)
    U: Obj  # (n, A)
    X_sum: Obj  # (n,)
    X: Obj
    R_dir: Obj
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
        if bool(((hi >= -SMALL_HI) & (hi < SMALL_HI)).all()):  # every sum fits in int64
            pairs: NDArray[Any] = (hi << PAIR_BITS) + lo
        else:
            pairs = pair_to_int(hi, lo)
        sums = pairs.tolist()
        losses = (pairs // SCALE).tolist()  # fdiv(x, SCALE) of every element (floor, SCALE > 0)

        def lists(a: NDArray[Any]) -> list[Any]:
            return a.tolist()

        min_sum, worst, w, nd = lists(self.min_sum), lists(self.worst_scenario), lists(self.W), lists(self.ND)
        d_sum, direction, s_dir, u_rest = lists(self.D_sum), lists(self.Dir), lists(self.S), lists(self.U)
        r_dir = lists(self.R_dir)
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
                D_sum=tuple(d_sum[i]),
                Dir=tuple(direction[i]),
                S=tuple(s_dir[i]),
                U=tuple(u_rest[i]),
                X_sum=x_sum[i],
                X=x[i],
                R_dir=r_dir[i],
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
            D_sum=ints(self.D_sum),
            Dir=ints(self.Dir),
            S=ints(self.S),
            U=ints(self.U),
            X_sum=int(self.X_sum[i]),
            X=int(self.X[i]),
            R_dir=int(self.R_dir[i]),
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

"""The venue's books in exact integers (x SCALE): account cash, the insurance fund, the
outside book's cash and units (the counterparty of every liquidation and reduction) and
the cash deposited by top-ups. Nothing is created or lost: at every step
``sum(cash) + fund + book_cash - deposits`` and, per instrument, ``sum(q) + book_units``
keep their opening values (``residuals``).

Negative equity left by a closed account is absorbed by the insurance fund first, then
by socialised loss: charged to the open accounts with positive equity in proportion to it
(exact shares, the remainder of the division to the largest); with no such account the
deficit stays on the closed account (``uncovered``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Obj = NDArray[np.object_]
IntArray = NDArray[np.int64]


def ints(values: Sequence[int] | NDArray[Any]) -> Obj:
    """An object array of Python ints."""
    out: Obj = np.empty(len(values), dtype=object)
    out[:] = [int(v) for v in values]
    return out


@dataclass
class Ledger:
    cash: Obj  # (n,) x SCALE
    fund: int
    units0: IntArray  # (instruments,) sum of q at the opening
    cash0: int = 0
    book_cash: int = 0
    book_units: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    deposits: int = 0
    fund_draw: int = 0
    socialised: int = 0
    uncovered: int = 0

    def __post_init__(self) -> None:
        self.cash0 = sum(self.cash.tolist()) + self.fund
        self.book_units = np.zeros_like(self.units0)

    def trade(self, accounts: IntArray, ids: IntArray, dq: IntArray, prices: IntArray, scale: int) -> None:
        """Accounts change their slots by ``dq`` at ``prices`` (x SCALE) against the book."""
        value = (dq.astype(object) * prices.astype(object)) // scale  # (m, slots), exact
        paid = value.sum(axis=1) if value.size else np.zeros(0, dtype=object)
        self.cash[accounts] = self.cash[accounts] - paid
        self.book_cash += int(sum(paid.tolist()))
        np.subtract.at(self.book_units, ids.ravel(), dq.ravel())

    def deposit(self, accounts: IntArray, amounts: Obj) -> None:
        self.cash[accounts] = self.cash[accounts] + amounts
        self.deposits += int(sum(amounts.tolist()))

    def absorb(self, closed: IntArray, equity_weights: Obj, payers: IntArray) -> int:
        """Cover the negative cash of ``closed`` (flat) accounts; returns the bad debt."""
        deficits = [max(-int(c), 0) for c in self.cash[closed]]
        bad = sum(deficits)
        if not bad:
            return 0
        draw = min(self.fund, bad)
        rest = bad - draw
        total = int(sum(equity_weights.tolist())) if payers.size else 0
        if rest and total <= 0:
            self.uncovered += rest
            covered = draw
        else:
            covered = bad
            if rest:
                shares = (equity_weights * rest) // total
                shares[int(np.argmax(equity_weights))] += rest - int(sum(shares.tolist()))
                self.cash[payers] = self.cash[payers] - shares
                self.socialised += rest
        self.fund -= draw
        self.fund_draw += draw
        # the covered part of each deficit, in account order
        for i, d in zip(closed.tolist(), deficits, strict=True):
            give = min(d, covered)
            self.cash[i] += give
            covered -= give
        return bad

    def residuals(self, q_sum: IntArray) -> tuple[int, int]:
        """(cash, units) differences from the opening; both are 0 when nothing is lost."""
        cash = sum(self.cash.tolist()) + self.fund + self.book_cash - self.deposits - self.cash0
        units = int(np.abs(q_sum + self.book_units - self.units0).sum())
        return cash, units

"""A screen that spares the engine the accounts it can prove healthy.

Within one day of information (the same scan ranges, correlation, ``kappa`` and depth) the
engine's numbers of an account of spot and perp legs are homogeneous in the spots: for a
spot move by the ratio ``r_a`` of each asset ``a``, every scenario loss, ``W_a``, ``S_a``
and ``U_a`` scale by ``r_a``, the liquidity add-on ``LQ_a`` by ``r_a**2`` and the static
charge of a leg by its asset's ``r_a`` (rows are rounded to the unit x 10**-6 at each
step, so the scaling holds up to rounding). From the account's last exact margin (same
day, same positions) the screen bounds IM at the step's spots:

    IM <= sqrt(r' T r) + sum_a U_a r_a + sum_a LQ_a r_a**2 + SC * max_a r_a + slack

with ``T_ab = S_a rho_ab S_b``, and ``E`` from the exact cash and marks less a slack; the
slack (64 units per unit held plus 1e-9 of the sizes) covers every rounding. An account
whose equity is at least that bound is healthy, as the engine would find; every other
account, one whose positions or cash changed, and every account on a new day is
margined by the engine.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.typing import NDArray

from engine.fixedpoint import SCALE
from engine.margin_arrays import BatchResult

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
SLACK_PER_UNIT = 64.0
RELATIVE_SLACK = 1e-9


def _floats(a: NDArray[np.object_]) -> FloatArray:
    return np.array(a.tolist(), dtype=np.float64)


class Screen:
    def __init__(self, n: int, window_assets: int) -> None:
        self.window_assets = window_assets
        self.day = np.full(n, -1, dtype=np.int64)
        self.stale = np.ones(n, dtype=bool)
        self.spots = np.ones((n, window_assets))
        self.T: FloatArray | None = None
        self.U: FloatArray | None = None
        self.LQ: FloatArray | None = None
        self.SC = np.zeros(n)
        self.last_exact = 0

    def update(
        self, accounts: IntArray, t: dt.date, spots: FloatArray, res: BatchResult, rho: FloatArray
    ) -> None:
        """Keep the exact margin ``res`` of ``accounts`` at ``spots`` on day ``t``."""
        n, width = self.day.size, rho.shape[0]
        if self.T is None or self.U is None or self.LQ is None:
            self.T, self.U, self.LQ = np.zeros((n, width, width)), np.zeros((n, width)), np.zeros((n, width))
        s = _floats(res.S)
        self.T[accounts] = s[:, :, None] * rho[None, :, :] * s[:, None, :]
        self.U[accounts] = _floats(res.U)
        self.LQ[accounts] = _floats(res.LQ)
        self.SC[accounts] = _floats(res.SC)
        self.spots[accounts] = spots[None, : self.window_assets]
        self.day[accounts] = t.toordinal()
        self.stale[accounts] = False
        self.last_exact = int(accounts.size)

    def needs(
        self,
        idx: IntArray,
        t: dt.date,
        spots: FloatArray,
        cash: NDArray[np.object_],
        q: IntArray,
        marks: IntArray,
        asset: IntArray,
    ) -> IntArray:
        """Positions in ``idx`` of the accounts the engine must margin at this step."""
        self.last_exact = 0
        if not idx.size:
            return np.zeros(0, dtype=np.int64)
        if self.T is None or self.U is None or self.LQ is None:
            return np.arange(idx.size)
        fresh = ~self.stale[idx] & (self.day[idx] == t.toordinal())
        sub = idx[fresh]
        width = self.T.shape[1]
        r = np.ones((sub.size, width))
        r[:, : self.window_assets] = spots[None, : self.window_assets] / self.spots[sub]
        held = asset[sub] >= 0
        r_slot = np.take_along_axis(r, np.maximum(asset[sub], 0), axis=1)
        r_hi = np.where(held, r_slot, 0.0).max(axis=1)
        x = np.einsum("ia,iab,ib->i", r, self.T[sub], r)
        im_hi = np.sqrt(np.maximum(x, 0.0)) + (self.U[sub] * r).sum(axis=1)
        im_hi += (self.LQ[sub] * r * r).sum(axis=1) + self.SC[sub] * r_hi
        q_units = np.abs(q[sub]).sum(axis=1) / SCALE
        m = np.where(held, marks[np.maximum(asset[sub], 0)], 0).astype(np.float64)
        value = (q[sub] * m).sum(axis=1) / SCALE
        gross = (np.abs(q[sub]) * m).sum(axis=1) / SCALE
        e = _floats(cash[sub]) + value
        slack = SLACK_PER_UNIT * (q_units + 1.0) + RELATIVE_SLACK * (gross + np.abs(e) + im_hi)
        healthy = e - slack >= im_hi + slack
        out = np.arange(idx.size)
        keep = np.ones(idx.size, dtype=bool)
        keep[np.flatnonzero(fresh)[healthy]] = False
        return out[keep]

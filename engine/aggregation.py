"""ZKPM-2's cross-asset aggregation (spec section 3, docs/margin-model.md): the one place
its rule is written for one account. ``engine.margin`` applies it per account and
``engine.margin_batch`` applies the same integer formulas to arrays (tested bit-identical).

Each asset's worst loss ``W`` splits into a signed directional part ``S`` and a
non-directional rest ``U = W - |S|``. The directional parts are combined through the
correlation matrix with their signs, so a position that offsets another in a correlated
asset lowers the margin and one in the same direction does not; the rest (what a
straddle or a strangle loses whichever way the spot moves) is added in full, with no
credit from any correlation:

    D[a]   = (P[a][10] + P[a][11]) - (P[a][12] + P[a][13])   # +1 scan moves minus -1 moves
    Dir[a] = fdiv(D[a], 4 * SCALE)                            # signed, > 0 when long
    S[a]   = clamp(Dir[a], -W[a], W[a])
    U[a]   = W[a] - |S[a]|
    X      = fdiv(sum_{a,b} rho[a][b] * S[a] * S[b], SCALE)
    R      = isqrt(max(0, X)) + sum_a U[a]

``P`` are the raw scenario sums (scale ``SCALE**2``). Since ``|S| <= W`` and ``rho`` is
positive semi-definite, ``0 <= R <= sum_a W[a]``; one asset alone gives ``R = W``.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.fixedpoint import SCALE, fdiv, isqrt

#: The model this package computes; files and the params commitment carry it.
MODEL = "ZKPM-2"
#: Its number, the first input of the params hash (docs/margin-model.md, section 5).
MODEL_ID = 2

#: Scenarios of the +1 and -1 scan moves (vol up and vol down), ``engine.scenarios``'s
#: indices 10, 11 and 12, 13 (``tests/engine/test_aggregation.py`` checks it).
UP_MOVES = (10, 11)
DOWN_MOVES = (12, 13)
#: ``D`` holds two scenario differences of sums that carry ``SCALE**2``.
DIR_DIVISOR = 2 * len(UP_MOVES) * SCALE


def directional_sum(sums: Sequence[int]) -> int:
    """``D``: the +1 scan moves' P&L minus the -1 moves' (both vol shocks), raw."""
    return sum(sums[s] for s in UP_MOVES) - sum(sums[s] for s in DOWN_MOVES)


def split_risk(d_sum: int, w: int) -> tuple[int, int, int]:
    """``(Dir, S, U)`` of one asset from its ``D`` and its worst loss ``W >= 0``."""
    direction = fdiv(d_sum, DIR_DIVISOR)
    s = max(-w, min(w, direction))
    return direction, s, w - abs(s)


def correlated_sum(s: Sequence[int], rho: Sequence[Sequence[int]]) -> int:
    """``sum_{a,b} rho[a][b] * S[a] * S[b]`` (scale ``SCALE**3``)."""
    n = len(s)
    return sum(rho[a][b] * s[a] * s[b] for a in range(n) for b in range(n))


def combined_risk(x_sum: int, u: Sequence[int]) -> tuple[int, int, int]:
    """``(X, R_dir, R)`` from the correlated sum and the non-directional rests."""
    x = fdiv(x_sum, SCALE)
    r_dir = isqrt(max(0, x))
    return x, r_dir, r_dir + sum(u)

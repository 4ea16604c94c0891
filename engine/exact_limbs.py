"""Exact ``int64`` sums of products in 24-bit limbs, for the numpy margin batch
(``engine/margin_batch.py``, stage 1).

Terms reach ``2**96`` and sums ``2**100``, so every product is done exactly in 24-bit
limbs: with ``x = xh * 2**24 + xl`` (``0 <= xl < 2**24``) every partial product is at
most ``2**48`` and a sum of ``2k`` of them stays far below ``2**63``. A result is kept
as the pair ``(hi, lo)`` with ``value = hi * 2**48 + lo`` and ``0 <= lo < 2**48``, which
orders lexicographically, so a minimum (and the first index attaining it) is found on
``int64``. Every operand must be below ``2**48`` in magnitude (``OPERAND_LIMIT``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
SMALL_HI = 1 << 14


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
    fits = (hi >= -SMALL_HI) & (hi < SMALL_HI)
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

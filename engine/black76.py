"""Black-76 option values and deltas, vectorised with numpy (spec section 4).

ZKPM-2 values every option with Black-76 on a forward equal to the spot and a zero
interest rate, so the discount factor is 1 and the formulas are

    d1 = (ln(F / K) + sigma**2 * T / 2) / (sigma * sqrt(T)),   d2 = d1 - sigma * sqrt(T)
    call = F * N(d1) - K * N(d2),     put = K * N(-d2) - F * N(-d1)
    call delta = N(d1),               put delta = N(d1) - 1

``T`` is in years, ACT/365 (see :func:`year_fraction`). An option with ``T <= 0``
(expired, or expiring today) is worth its intrinsic value, ``max(F - K, 0)`` or
``max(K - F, 0)``; its delta is the slope of that payoff: a call has delta 1 when
``F > K`` and 0 otherwise, a put -1 when ``F < K`` and 0 otherwise (at the money
exactly, 0). The put is computed directly, not through parity, so deep
out-of-the-money puts keep their relative precision.

All functions broadcast their array arguments against each other.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

OptionKind = Literal["call", "put"]
FloatArray = NDArray[np.float64]
DAYS_PER_YEAR = 365.0


def year_fraction(as_of: dt.date, expiry: dt.date) -> float:
    """Time from ``as_of`` to ``expiry`` in years, ACT/365; negative once expired."""
    return (expiry - as_of).days / DAYS_PER_YEAR


def norm_cdf(x: ArrayLike) -> FloatArray:
    """Standard normal cumulative distribution function N(x)."""
    return np.asarray(ndtr(np.asarray(x, dtype=np.float64)), dtype=np.float64)


def _d1(
    forward: FloatArray, strike: FloatArray, t_years: FloatArray, vol: FloatArray
) -> tuple[NDArray[np.bool_], FloatArray, FloatArray]:
    """(live mask, d1, sigma*sqrt(T)); d1 is a harmless 0 where the option is not live."""
    live = (t_years > 0.0) & (vol > 0.0)
    sd = vol * np.sqrt(np.where(live, t_years, 1.0))
    sd = np.where(live, sd, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(forward / strike) + 0.5 * sd * sd) / sd
    d1 = np.where(live, d1, 0.0)
    return live, d1, sd


def _as_arrays(*xs: ArrayLike) -> list[FloatArray]:
    return [np.asarray(a, dtype=np.float64) for a in np.broadcast_arrays(*xs)]


def black76_price(
    forward: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike, is_call: ArrayLike
) -> FloatArray:
    """Black-76 value of one option, zero rate; intrinsic value where ``T <= 0``.

    ``forward`` and ``strike`` must be positive, ``vol`` non-negative (``vol == 0``
    also gives the intrinsic value). ``is_call`` is a boolean array (False = put).
    """
    f, k, t, v = _as_arrays(forward, strike, t_years, vol)
    call_mask = np.broadcast_to(np.asarray(is_call, dtype=bool), f.shape)
    live, d1, sd = _d1(f, k, t, v)
    d2 = d1 - sd
    call = f * norm_cdf(d1) - k * norm_cdf(d2)
    put = k * norm_cdf(-d2) - f * norm_cdf(-d1)
    live_value = np.where(call_mask, call, put)
    intrinsic = np.where(call_mask, np.maximum(f - k, 0.0), np.maximum(k - f, 0.0))
    # Rounding in the formula can leave a value a few ulps below zero.
    return np.asarray(np.where(live, np.maximum(live_value, 0.0), intrinsic), dtype=np.float64)


def black76_delta(
    forward: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike, is_call: ArrayLike
) -> FloatArray:
    """dValue/dForward: call N(d1), put N(d1) - 1; the payoff's slope where ``T <= 0``."""
    f, k, t, v = _as_arrays(forward, strike, t_years, vol)
    call_mask = np.broadcast_to(np.asarray(is_call, dtype=bool), f.shape)
    live, d1, _ = _d1(f, k, t, v)
    n1 = norm_cdf(d1)
    live_delta = np.where(call_mask, n1, n1 - 1.0)
    expired_delta = np.where(call_mask, (f > k).astype(np.float64), -(f < k).astype(np.float64))
    return np.asarray(np.where(live, live_delta, expired_delta), dtype=np.float64)


def price(kind: OptionKind, forward: float, strike: float, t_years: float, vol: float) -> float:
    """Scalar convenience wrapper around :func:`black76_price`."""
    return float(black76_price(forward, strike, t_years, vol, kind == "call"))


def delta(kind: OptionKind, forward: float, strike: float, t_years: float, vol: float) -> float:
    """Scalar convenience wrapper around :func:`black76_delta`."""
    return float(black76_delta(forward, strike, t_years, vol, kind == "call"))

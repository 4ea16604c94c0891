"""Fixed-point arithmetic and the input bounds of ZKPM-2 (spec section 1).

Every money amount, price, ratio and correlation is an ``int`` equal to the real
value times ``SCALE``. Python floats never touch a margin number.
"""

from __future__ import annotations

import math

from engine.errors import InputError

SCALE = 10**6

# BN254 scalar field (the field circom and Groth16 over bn128 work in).
FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617

# Input bounds (spec section 1). "LIMIT" means |x| < LIMIT unless said otherwise.
Q_LIMIT = 2**48  # position size |q|
CASH_LIMIT = 2**80  # |cash|
VALUE_LIMIT = 2**48  # mark M, scenario P&L RA[s], c_long, c_short
DELTA_MAX = 16 * SCALE  # |delta| <= DELTA_MAX
SPOT_LIMIT = 2**48  # 0 < S < SPOT_LIMIT
DEPTH_LIMIT = 2**64  # 0 < D < DEPTH_LIMIT
KAPPA_LIMIT = 2**32  # 0 <= kappa < KAPPA_LIMIT
ID_LIMIT = 2**64  # account_id, nonce < ID_LIMIT
N_SCENARIOS = 16
MAX_ASSETS = 8


def fdiv(n: int, d: int) -> int:
    """floor(n / d), rounding toward minus infinity; ``d`` must be positive."""
    if d <= 0:
        raise ValueError("fdiv: divisor must be positive")
    return n // d


def isqrt(n: int) -> int:
    """floor(sqrt(n)) for n >= 0."""
    if n < 0:
        raise ValueError("isqrt: negative argument")
    return math.isqrt(n)


def to_field(x: int) -> int:
    """A signed integer as a BN254 scalar-field element (x mod p)."""
    return x % FIELD_P


def from_field(x: int) -> int:
    """Inverse of ``to_field`` for values whose magnitude is below p/2."""
    x %= FIELD_P
    return x - FIELD_P if x > FIELD_P // 2 else x


def check_int(field: str, value: object) -> int:
    """``value`` must be a real int (not bool, not float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"must be an integer, got {type(value).__name__} {value!r}")
    return value

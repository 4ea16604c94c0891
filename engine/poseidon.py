"""Poseidon hash over BN254, equal to circomlib 2.0.5 ``Poseidon(n)`` and circomlibjs.

``poseidon(inputs)`` hashes 1..16 field elements: state width ``t = n + 1``, initial
state ``[0, inputs...]``, R_F = 8 full rounds split 4 / 4 around R_P partial rounds,
S-box x^5, output ``state[0]``. Parameters come from ``engine.poseidon_constants``.

Two implementations of the same permutation live here:

* ``poseidon_reference``: the textbook round function (add constants, S-box,
  dense MDS), slow, kept as the specification the fast path is tested against;
* ``poseidon``: the same function rewritten (the idea behind circomlib's optimised circuit)
  so that each partial round costs O(t) instead of O(t^2):

  1. constants of partial rounds are reduced to one scalar on element 0; the rest
     of each constant vector commutes with the single S-box and is pushed forward
     through the MDS matrix into the next round's constants;
  2. the MDS matrix of every partial round is factored, from the last one back, as
     ``A = S @ P`` with ``P = diag(1, A_hat)`` and ``S`` sparse (first row, first
     column and identity); ``P`` commutes with the S-box on element 0 and with a
     scalar constant on element 0, so it moves into the previous round's matrix and
     finally into the last matrix before the partial rounds.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cache
from operator import mul
from typing import Any

from engine import poseidon_store
from engine.fixedpoint import FIELD_P
from engine.poseidon_constants import MAX_WIDTH, MIN_WIDTH, N_ROUNDS_F, partial_rounds, poseidon_parameters

MAX_INPUTS = MAX_WIDTH - 1  # 16

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class _FastSchedule:
    """Precomputed constants of the optimised permutation for one width."""

    width: int
    first_full: tuple[tuple[int, ...], ...]  # constants of the first R_F/2 rounds
    first_mds: tuple[Matrix, ...]  # their matrices (the last one absorbs P_0)
    partial_scalars: tuple[int, ...]  # per partial round: the constant on element 0
    sparse_corner: int  # S[0][0], the same in every partial round (M[0][0])
    sparse_row: tuple[tuple[int, ...], ...]  # per partial round: S[0][1..]
    sparse_col: tuple[tuple[int, ...], ...]  # per partial round: S[1..][0]
    last_full: tuple[tuple[int, ...], ...]  # constants of the last R_F/2 rounds
    mds: Matrix


def _mat_vec(m: Sequence[Sequence[int]], v: Sequence[int]) -> list[int]:
    """m @ v mod p."""
    return [sum(map(mul, row, v)) % FIELD_P for row in m]


def _vec_mat(v: Sequence[int], m: Sequence[Sequence[int]]) -> list[int]:
    """v^T @ m mod p (row vector times matrix)."""
    return [sum(v[i] * m[i][j] for i in range(len(v))) % FIELD_P for j in range(len(m[0]))]


def _mat_mul(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]]) -> list[list[int]]:
    """a @ b mod p."""
    cols = list(zip(*b, strict=True))
    return [[sum(map(mul, row, col)) % FIELD_P for col in cols] for row in a]


def _mat_inv(m: Sequence[Sequence[int]]) -> list[list[int]]:
    """Inverse of a square matrix mod p (Gauss-Jordan); raises if singular."""
    n = len(m)
    aug = [[*row, *(int(i == j) for j in range(n))] for i, row in enumerate(m)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if aug[r][col] % FIELD_P), None)
        if pivot is None:
            raise ValueError("singular matrix")
        aug[col], aug[pivot] = aug[pivot], aug[col]
        inv = pow(aug[col][col], -1, FIELD_P)
        aug[col] = [x * inv % FIELD_P for x in aug[col]]
        for r in range(n):
            if r != col and aug[r][col]:
                f = aug[r][col]
                aug[r] = [(x - f * y) % FIELD_P for x, y in zip(aug[r], aug[col], strict=True)]
    return [row[n:] for row in aug]


@cache
def _schedule(t: int) -> _FastSchedule:
    """The optimised constants for width ``t``: stored by an earlier process
    (``engine.poseidon_store``, keyed by the sources of the modules that derive them), else derived and stored."""
    stored = poseidon_store.load_schedule(t)
    if stored is not None:
        with contextlib.suppress(TypeError, ValueError):
            return _schedule_of(t, stored)
    derived = derive_schedule(t)
    poseidon_store.store_schedule(t, _fields_of(derived))
    return derived


def _fields_of(s: _FastSchedule) -> dict[str, Any]:
    """A schedule as JSON-ready lists (everything but its width)."""
    return {f.name: _lists(getattr(s, f.name)) for f in fields(s) if f.name != "width"}


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, tuple | list) else value


def _tuples(value: Any, depth: int) -> Any:
    """``value`` as nested tuples of ints, ``depth`` levels deep; raises on another shape."""
    if depth == 0:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < FIELD_P:
            raise ValueError("a schedule value is not a field element")
        return value
    if not isinstance(value, list):
        raise ValueError("a schedule list is missing")
    return tuple(_tuples(v, depth - 1) for v in value)


#: Nesting depth of each schedule field (0: one field element).
_DEPTHS = {
    "first_full": 2,
    "first_mds": 3,
    "partial_scalars": 1,
    "sparse_corner": 0,
    "sparse_row": 2,
    "sparse_col": 2,
    "last_full": 2,
    "mds": 2,
}


def _schedule_of(t: int, stored: dict[str, Any]) -> _FastSchedule:
    """The stored fields back as a schedule of width ``t``, with every length checked."""
    if set(stored) != set(_DEPTHS):
        raise ValueError("a schedule field is missing or unknown")
    s = _FastSchedule(width=t, **{name: _tuples(stored[name], d) for name, d in _DEPTHS.items()})
    half, n_p = N_ROUNDS_F // 2, partial_rounds(t)
    rows = (*s.first_full, *s.last_full, *s.mds, *(r for m in s.first_mds for r in m))
    if (
        len(s.first_full) != half
        or len(s.last_full) != half
        or len(s.first_mds) != half
        or len(s.mds) != t
        or any(len(m) != t for m in s.first_mds)
        or any(len(r) != t for r in rows)
        or len(s.partial_scalars) != n_p
        or len(s.sparse_row) != n_p
        or len(s.sparse_col) != n_p
        or any(len(r) != t - 1 for r in (*s.sparse_row, *s.sparse_col))
    ):
        raise ValueError("a stored schedule has the wrong shape")
    return s


def derive_schedule(t: int) -> _FastSchedule:
    """Derive the optimised constants for width ``t`` from the plain ones."""
    constants, mds = poseidon_parameters(t)
    n_p = partial_rounds(t)
    half = N_ROUNDS_F // 2
    rounds = [list(constants[r * t : (r + 1) * t]) for r in range(N_ROUNDS_F + n_p)]

    # 1. Partial-round constants: keep element 0, push the rest forward through M.
    for r in range(half, half + n_p):
        # The tail (elements 1..) is added before an S-box that does not touch it:
        # move it after the S-box and through M into the constants of round r + 1.
        tail = [0, *rounds[r][1:]]
        rounds[r] = [rounds[r][0]] + [0] * (t - 1)
        carried = _mat_vec(mds, tail)
        rounds[r + 1] = [(a + b) % FIELD_P for a, b in zip(rounds[r + 1], carried, strict=True)]

    # 2. Sparse factorisation of the partial-round matrices, from the last back.
    #    A_r = P_{r+1} @ M (A_{last} = M); A_r = S_r @ diag(1, A_hat_r) with
    #    A_hat_r = M_hat^(n_p - r); S_r = [[m00, v @ A_hat_r^-1], [A_hat_{r+1} @ w, I]].
    m_hat = [list(row[1:]) for row in mds[1:]]
    m_hat_inv = _mat_inv(m_hat)
    first_row_tail = list(mds[0][1:])
    first_col_tail = [row[0] for row in mds[1:]]
    sparse_row: list[tuple[int, ...]] = []
    sparse_col: list[tuple[int, ...]] = []
    v_hat = first_row_tail  # v @ A_hat^-1, updated as A_hat gains a factor M_hat
    w_hat = first_col_tail  # A_hat_{r+1} @ w
    for _ in range(n_p):
        v_hat = _vec_mat(v_hat, m_hat_inv)
        sparse_row.append(tuple(v_hat))
        sparse_col.append(tuple(w_hat))
        w_hat = _mat_vec(m_hat, w_hat)
    sparse_row.reverse()
    sparse_col.reverse()
    # P_0 = diag(1, M_hat^n_p) runs right after the last first-half full round's M.
    bottom = [list(row) for row in mds[1:]]
    for _ in range(n_p):
        bottom = _mat_mul(m_hat, bottom)
    pre_mds = (mds[0], *(tuple(row) for row in bottom))

    return _FastSchedule(
        width=t,
        first_full=tuple(tuple(rounds[r]) for r in range(half)),
        first_mds=(*([mds] * (half - 1)), pre_mds),
        partial_scalars=tuple(rounds[r][0] for r in range(half, half + n_p)),
        sparse_corner=mds[0][0],
        sparse_row=tuple(sparse_row),
        sparse_col=tuple(sparse_col),
        last_full=tuple(tuple(rounds[r]) for r in range(half + n_p, N_ROUNDS_F + n_p)),
        mds=mds,
    )


def _state_from(inputs: Sequence[int]) -> list[int]:
    """Validate 1..16 field-element inputs and return the initial state [0, inputs...]."""
    n = len(inputs)
    if not 1 <= n <= MAX_INPUTS:
        raise ValueError(f"poseidon takes 1..{MAX_INPUTS} inputs, got {n}")
    for i, x in enumerate(inputs):
        if isinstance(x, bool) or not isinstance(x, int):
            raise ValueError(f"poseidon input {i} must be an int, got {type(x).__name__}")
        if not 0 <= x < FIELD_P:
            raise ValueError(f"poseidon input {i} is not a field element (0 <= x < p): {x}")
    return [0, *inputs]


def _full_round(state: list[int], constants: Sequence[int], mds: Matrix) -> list[int]:
    """Add constants, x^5 on every element, multiply by ``mds``."""
    p = FIELD_P
    sboxed = [pow(x + c, 5, p) for x, c in zip(state, constants, strict=True)]
    return [sum(map(mul, row, sboxed)) % p for row in mds]


#: Set to ``0`` to hash in Python even when the native module is built (tests, comparisons).
NATIVE_ENV = "ZKMARGIN_NATIVE"


@cache
def _native(t: int) -> Any | None:
    """The native (Rust) hasher of width ``t``, built from this module's own schedule, or
    None when the native module is not built or ``$ZKMARGIN_NATIVE`` is ``0``."""
    if os.environ.get(NATIVE_ENV) == "0":
        return None
    try:
        import zkmargin_native
    except ImportError:
        return None
    s = _schedule(t)
    return zkmargin_native.PoseidonSchedule(
        t,
        [list(r) for r in s.first_full],
        [[list(row) for row in m] for m in s.first_mds],
        list(s.partial_scalars),
        s.sparse_corner,
        [list(r) for r in s.sparse_row],
        [list(c) for c in s.sparse_col],
        [list(r) for r in s.last_full],
        [list(r) for r in s.mds],
    )


def native_poseidon_available() -> bool:
    return _native(3) is not None


def poseidon(inputs: Sequence[int]) -> int:
    """circomlib ``Poseidon(len(inputs))`` of 1..16 field elements (0 <= x < p): natively
    when the module is built (the same schedule, in Rust), else in Python.

    Raises ``ValueError`` for a wrong number of inputs or an input outside the field.
    """
    state = _state_from(inputs)
    native = _native(len(state))
    if native is not None:
        return int(native.hash(state[1:]))
    return poseidon_python(state[1:])


def poseidon_many(rows: Sequence[Sequence[int]]) -> list[int]:
    """``poseidon`` of each row (all of one length), on every core when native."""
    if not rows:
        return []
    states = [_state_from(r) for r in rows]
    width = len(states[0])
    if any(len(s) != width for s in states):
        raise ValueError("poseidon_many: every row must have the same number of inputs")
    native = _native(width)
    if native is not None:
        return [int(h) for h in native.hash_many([s[1:] for s in states])]
    return [poseidon_python(s[1:]) for s in states]


def hash_list_native(lists: Sequence[Sequence[int]], chunk: int) -> list[int] | None:
    """The chained list hash (``engine.commitments.hash_list``, the reference) of each list of
    field elements, natively on every core; None when the native module is not built (the
    caller then hashes in Python)."""
    native = _native(chunk + 2)
    if native is None:
        return None
    return [int(h) for h in native.hash_list_many([list(x) for x in lists])]


def hash_list_native_small(values: Any, chunk: int) -> list[int] | None:
    """``hash_list_native`` of each row of ``values``, an (n, m) int64 array of small signed
    integers (ids, sizes); handed over as raw bytes, so no Python int is converted per
    value. None when the native module is not built."""
    native = _native(chunk + 2)
    if native is None:
        return None
    rows, row_len = values.shape
    if rows == 0:
        return []
    data = values.astype("<i8", copy=False).tobytes()
    return [int(h) for h in native.hash_list_many_i64(data, row_len)]


def poseidon_python(inputs: Sequence[int]) -> int:
    """The optimised permutation in Python (the path without the native module)."""
    state = _state_from(inputs)
    sched = _schedule(len(state))
    p = FIELD_P
    for constants, mds in zip(sched.first_full, sched.first_mds, strict=True):
        state = _full_round(state, constants, mds)
    # Partial rounds; elements 1.. are left unreduced here (they only grow by one
    # product per round and are reduced once at the end), which saves t - 1 mods a round.
    corner = sched.sparse_corner
    x0, rest = state[0], state[1:]
    for scalar, row, col in zip(sched.partial_scalars, sched.sparse_row, sched.sparse_col, strict=True):
        x0 = pow(x0 + scalar, 5, p)
        new0 = (corner * x0 + sum(map(mul, row, rest))) % p
        rest = [w * x0 + x for w, x in zip(col, rest, strict=True)]
        x0 = new0
    state = [x0, *(x % p for x in rest)]
    for constants in sched.last_full:
        state = _full_round(state, constants, sched.mds)
    return state[0]


def poseidon_reference(inputs: Sequence[int]) -> int:
    """The same hash as ``poseidon``, computed round by round as the paper defines it.

    Slow (dense MDS in every round); exists to check the optimised path.
    """
    state = _state_from(inputs)
    t = len(state)
    constants, mds = poseidon_parameters(t)
    n_p = partial_rounds(t)
    half = N_ROUNDS_F // 2
    for r in range(N_ROUNDS_F + n_p):
        state = [(x + constants[r * t + i]) % FIELD_P for i, x in enumerate(state)]
        if half <= r < half + n_p:
            state[0] = pow(state[0], 5, FIELD_P)
        else:
            state = [pow(x, 5, FIELD_P) for x in state]
        state = _mat_vec(mds, state)
    return state[0]


def prepare(widths: Sequence[int] = tuple(range(MIN_WIDTH, MAX_WIDTH + 1))) -> None:
    """Derive (and cache) the parameters for the given state widths ahead of time."""
    for t in widths:
        _schedule(t)

"""Faster BN254 pairing arithmetic for the pure-Python Groth16 verifier.

Everything here computes *exactly* the same field elements as py_ecc's
``optimized_bn128`` (the tests check equality on random inputs), only with less
work. Elements of F_p^12 use py_ecc's representation, a tuple of 12 ints: the
coefficients of ``1, w, ..., w^11`` modulo ``w^12 - 18 w^6 + 82``. Here
``w^6 = 9 + i`` (``i^2 = -1``), so ``F_p^2`` sits inside as ``a + b i -> (a - 9b) + b w^6``.

**Miller loop** (:func:`miller_loop`). py_ecc twists the G2 point into F_p^12
and does all point arithmetic there. Here the point stays on the twist over
F_p^2 in affine coordinates; a twisted point is ``(x w^2, y w^3)``, so the line
through ``R`` and ``S`` with slope ``m = l w`` (``l`` = the slope on the twist,
``(yS - yR)/(xS - xR)`` or ``3 xR^2 / 2 yR``), evaluated at ``P = (xP, yP)``, is

    m (xP - xR w^2) - (yP - yR w^3) = -yP + xP l w + (yR - l xR) w^3,

an element with five non-zero coefficients (``w^0, w^1, w^7, w^3, w^9``), equal to
py_ecc's ``linefunc`` numerator over denominator. The loop walks the same signed
digits of ``6x + 2`` and ends with the same two Frobenius-twisted additions, so
the result equals ``pairing(Q, P, final_exponentiate=False)``. Several pairs share
one loop: ``prod(f_i^2 l_i) = (prod f_i)^2 prod l_i``, so one squaring per step
serves all of them, and the output is the product of the separate Miller loops.

**Frobenius** ``x -> x^(p^k)`` is F_p-linear, so it is the matrix whose rows are
``(w^j)^(p^k)``; those are powers of ``w^(p^k) = c w`` with ``c`` in F_p^2, so
each row has at most two non-zero entries.

**Final exponentiation** (:func:`final_exponentiate`) raises to
``(p^12 - 1)/r = (p^6 - 1)(p^2 + 1) * (p^4 - p^2 + 1)/r``. The easy part is
``g = conj(f) / f`` (``conj`` = Frobenius ``p^6``), then ``g = frob2(g) * g``.
Now ``g^(p^6) = g^-1``. The hard exponent ``(p^4 - p^2 + 1)/r`` equals
``l0 + l1 p + l2 p^2 + l3 p^3`` with the BN polynomials in the curve parameter
``x`` (checked at import), each at most 192 bits, so the hard part is one
four-base simultaneous exponentiation of ``g, frob1(g), frob2(g), frob3(g)``
(negative exponents via ``g^-1 = conj(g)``) instead of a 2,790-bit power.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

from py_ecc.optimized_bn128 import FQ12, curve_order, field_modulus
from py_ecc.optimized_bn128.optimized_pairing import ate_loop_count, pseudo_binary_encoding

P = field_modulus
R = curve_order
X = 4965661367192848881  # the BN parameter: p = 36x^4 + 36x^3 + 24x^2 + 6x + 1
if P != 36 * X**4 + 36 * X**3 + 24 * X**2 + 6 * X + 1 or ate_loop_count != 6 * X + 2:
    raise ValueError("BN254 parameter mismatch")

Fq2 = tuple[int, int]
Fq12 = tuple[int, ...]
Sparse = list[tuple[int, int]]  # (power of w, coefficient) pairs

ONE: Fq12 = (1,) + (0,) * 11


class DegenerateLoop(ArithmeticError):
    """The Miller loop hit a point at infinity or a 2-torsion point (never for G2 subgroup points)."""


# --------------------------------------------------------------------------- F_p^12


def _reduce(t: list[int]) -> Fq12:
    """Reduce a 23-coefficient product modulo ``w^12 = 18 w^6 - 82`` and p."""
    for k in range(22, 11, -1):
        top = t[k]
        if top:
            t[k - 6] += 18 * top
            t[k - 12] -= 82 * top
    return tuple(c % P for c in t[:12])


def mul(a: Fq12, b: Fq12) -> Fq12:
    t = [0] * 23
    for i, ai in enumerate(a):
        if ai:
            for j, bj in enumerate(b, i):
                t[j] += ai * bj
    return _reduce(t)


def sqr(a: Fq12) -> Fq12:
    t = [0] * 23
    for i, ai in enumerate(a):
        if ai:
            t[2 * i] += ai * ai
            ai2 = 2 * ai
            for j in range(i + 1, 12):
                t[i + j] += ai2 * a[j]
    return _reduce(t)


def mul_sparse(a: Fq12, s: Sparse) -> Fq12:
    """``a`` times an element given by its non-zero coefficients."""
    t = [0] * 23
    for j, sj in s:
        for i, ai in enumerate(a, j):
            t[i] += ai * sj
    return _reduce(t)


def inv(a: Fq12) -> Fq12:
    """Inverse via py_ecc (extended Euclid); used once per final exponentiation."""
    return tuple(int(c) for c in FQ12(list(a)).inv().coeffs)


def power(a: Fq12, e: int) -> Fq12:
    result = ONE
    for bit in bin(e)[2:]:
        result = sqr(result)
        if bit == "1":
            result = mul(result, a)
    return result


# --------------------------------------------------------------------------- Frobenius


@cache
def _w_image(k: int) -> Fq12:
    """``w^(p^k)``: one p-th power of ``w``, then the Frobenius matrix applied k - 1 times."""
    if k == 1:
        return power((0, 1) + (0,) * 10, P)
    return _apply(_frobenius_rows(1), _w_image(k - 1))


@cache
def _frobenius_rows(k: int) -> tuple[Sparse, ...]:
    """Row j is ``(w^j)^(p^k) = (w^(p^k))^j`` as its non-zero (index, coefficient) pairs."""
    image = _w_image(k)
    rows = []
    current = ONE
    for _ in range(12):
        rows.append([(i, c) for i, c in enumerate(current) if c])
        current = mul(current, image)
    return tuple(rows)


def _apply(rows: Sequence[Sparse], a: Fq12) -> Fq12:
    out = [0] * 12
    for aj, row in zip(a, rows, strict=True):
        if aj:
            for i, c in row:
                out[i] += aj * c
    return tuple(c % P for c in out)


def frobenius(a: Fq12, k: int) -> Fq12:
    """``a^(p^k)`` (k >= 1) as a linear map on the coefficients."""
    return _apply(_frobenius_rows(k), a)


# --------------------------------------------------------------------------- final exponentiation

HARD = (P**4 - P**2 + 1) // R
L0 = -36 * X**3 - 30 * X**2 - 18 * X - 2
L1 = -36 * X**3 - 18 * X**2 - 12 * X + 1
L2 = 6 * X**2 + 1
L3 = 1
if (P**4 - P**2 + 1) % R or L0 + L1 * P + L2 * P**2 + L3 * P**3 != HARD:
    raise ValueError("hard-part decomposition mismatch")


def final_exponentiate(f: Fq12) -> Fq12:
    """``f^((p^12 - 1)/r)``, equal to py_ecc's ``final_exponentiate``."""
    if not any(f):
        return f  # 0^e = 0, as py_ecc gives
    g = mul(frobenius(f, 6), inv(f))  # f^(p^6 - 1)
    g = mul(frobenius(g, 2), g)  # ^(p^2 + 1); now g^(p^6) = g^-1
    bases = []
    exps = []
    for k, e in enumerate((L0, L1, L2, L3)):
        base = frobenius(g, k) if k else g
        if e < 0:
            base, e = frobenius(base, 6), -e
        bases.append(base)
        exps.append(e)
    return _multi_power(bases, exps)


def _multi_power(bases: Sequence[Fq12], exps: Sequence[int]) -> Fq12:
    """``prod bases[i]^exps[i]`` with one shared squaring chain (Straus/Shamir)."""
    table: list[Fq12] = [ONE] * (1 << len(bases))
    for mask in range(1, len(table)):
        low = mask & -mask
        table[mask] = bases[low.bit_length() - 1] if mask == low else mul(table[mask ^ low], table[low])
    result = ONE
    for bit in range(max(e.bit_length() for e in exps) - 1, -1, -1):
        result = sqr(result)
        mask = sum(1 << i for i, e in enumerate(exps) if (e >> bit) & 1)
        if mask:
            result = mul(result, table[mask])
    return result


# --------------------------------------------------------------------------- twist arithmetic (F_p^2)


def _f2_mul(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)


def _f2_inv(a: Fq2) -> Fq2:
    a0, a1 = a
    n = pow(a0 * a0 + a1 * a1, -1, P)
    return (a0 * n % P, -a1 * n % P)


def _f2_from_fq12(a: Fq12) -> Fq2:
    """Inverse of the embedding ``a + b i -> (a - 9b) + b w^6``."""
    if any(c for i, c in enumerate(a) if i not in (0, 6)):
        raise ValueError("not in F_p^2")
    return ((a[0] + 9 * a[6]) % P, a[6])


@cache
def _twist_frobenius() -> tuple[Fq2, Fq2]:
    """``(w^(2p)/w^2, w^(3p)/w^3)`` in F_p^2: ``pi(x w^2, y w^3) = (conj(x) g2 w^2, conj(y) g3 w^3)``."""
    rows = _frobenius_rows(1)
    w2p, w3p = _apply(rows, (0, 0, 1) + (0,) * 9), _apply(rows, (0, 0, 0, 1) + (0,) * 8)
    w2_inv, w3_inv = inv((0, 0, 1) + (0,) * 9), inv((0, 0, 0, 1) + (0,) * 8)
    return _f2_from_fq12(mul(w2p, w2_inv)), _f2_from_fq12(mul(w3p, w3_inv))


def _twist_pi(q: tuple[Fq2, Fq2]) -> tuple[Fq2, Fq2]:
    g2, g3 = _twist_frobenius()
    (x0, x1), (y0, y1) = q
    return _f2_mul((x0, -x1 % P), g2), _f2_mul((y0, -y1 % P), g3)


def _line(r: tuple[Fq2, Fq2], s: tuple[Fq2, Fq2], xp: int, yp: int) -> tuple[Sparse, tuple[Fq2, Fq2] | None]:
    """The line through twist points r, s (tangent when equal) at ``(xp, yp)``, and ``r + s``.

    The sum is None when it is the point at infinity (a vertical line).
    """
    (xr, yr), (xs, ys) = r, s
    if xr != xs:
        dx = ((xs[0] - xr[0]) % P, (xs[1] - xr[1]) % P)
        slope = _f2_mul(((ys[0] - yr[0]) % P, (ys[1] - yr[1]) % P), _f2_inv(dx))
    elif yr == ys and any(yr):
        x_sq = _f2_mul(xr, xr)
        slope = _f2_mul((3 * x_sq[0] % P, 3 * x_sq[1] % P), _f2_inv((2 * yr[0] % P, 2 * yr[1] % P)))
    else:  # r = -s (or a 2-torsion tangent): the vertical line xp - xr w^2
        return [(0, xp), (2, -(xr[0] - 9 * xr[1]) % P), (8, -xr[1] % P)], None
    l0, l1 = slope
    lx = _f2_mul(slope, xr)
    c0, c1 = (yr[0] - lx[0]) % P, (yr[1] - lx[1]) % P
    line = [(0, -yp % P), (1, xp * (l0 - 9 * l1) % P), (7, xp * l1 % P), (3, (c0 - 9 * c1) % P), (9, c1)]
    sq = _f2_mul(slope, slope)
    x3 = ((sq[0] - xr[0] - xs[0]) % P, (sq[1] - xr[1] - xs[1]) % P)
    y3 = _f2_mul(slope, ((xr[0] - x3[0]) % P, (xr[1] - x3[1]) % P))
    return line, (x3, ((y3[0] - yr[0]) % P, (y3[1] - yr[1]) % P))


def miller_loop(pairs: Iterable[tuple[tuple[Fq2, Fq2], tuple[int, int]]]) -> Fq12:
    """Product of the optimal-ate Miller loops of affine ``(Q on the twist, P in G1)`` pairs.

    Equal to the product of py_ecc's ``pairing(Q, P, final_exponentiate=False)``. Points
    are affine (never infinity; callers drop such pairs, whose loop is 1). Raises
    :class:`DegenerateLoop` if an intermediate point becomes infinity, which cannot happen
    for Q in the order-r subgroup.
    """
    items = [(q, xp % P, yp % P) for q, (xp, yp) in pairs]
    f = ONE
    points: list[tuple[Fq2, Fq2]] = [q for q, _, _ in items]
    for digit in pseudo_binary_encoding[63::-1]:
        f = sqr(f)
        for n, (q, xp, yp) in enumerate(items):
            line, doubled = _line(points[n], points[n], xp, yp)
            f = mul_sparse(f, line)
            if doubled is None:
                raise DegenerateLoop("doubling reached infinity")
            points[n] = doubled
            if digit:
                addend = q if digit == 1 else (q[0], ((-q[1][0]) % P, (-q[1][1]) % P))
                line, added = _line(points[n], addend, xp, yp)
                f = mul_sparse(f, line)
                if added is None:
                    raise DegenerateLoop("addition reached infinity")
                points[n] = added
    for n, (q, xp, yp) in enumerate(items):
        q1 = _twist_pi(q)
        x2, y2 = _twist_pi(q1)
        line, added = _line(points[n], q1, xp, yp)
        f = mul_sparse(f, line)
        if added is None:
            raise DegenerateLoop("final addition reached infinity")
        line, _ = _line(added, (x2, ((-y2[0]) % P, (-y2[1]) % P)), xp, yp)
        f = mul_sparse(f, line)
    return f

"""The fast BN254 pairing pieces give exactly py_ecc's field elements."""

from __future__ import annotations

import random
from typing import Any

import pytest
from py_ecc.optimized_bn128 import (
    FQ2,
    FQ12,
    G1,
    G2,
    add,
    curve_order,
    field_modulus,
    final_exponentiate,
    multiply,
    neg,
    normalize,
    pairing,
    twist,
)
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, linefunc

from prover.verification import bn254_fast as bf

from .test_verify_py import _twist_point_outside_subgroup as twist_point_outside_subgroup

RNG = random.Random(20261121)


def _ints(x: FQ12) -> bf.Fq12:
    return tuple(int(c) for c in x.coeffs)


def _random_fq12() -> bf.Fq12:
    return tuple(RNG.randrange(field_modulus) for _ in range(12))


def _aff1(point: Any) -> tuple[int, int]:
    x, y = normalize(point)
    return int(x), int(y)


def _aff2(point: Any) -> tuple[bf.Fq2, bf.Fq2]:
    x, y = normalize(point)
    return (int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1]))


def _scalar() -> int:
    return RNG.randrange(1, curve_order)


def test_field_arithmetic_matches_py_ecc() -> None:
    for _ in range(5):
        a, b = _random_fq12(), _random_fq12()
        fa, fb = FQ12(list(a)), FQ12(list(b))
        assert bf.mul(a, b) == _ints(fa * fb)
        assert bf.sqr(a) == _ints(fa * fa)
        assert bf.inv(a) == _ints(fa.inv())
        assert bf.mul_sparse(a, [(i, c) for i, c in enumerate(b) if i % 3]) == _ints(
            fa * FQ12([c if i % 3 else 0 for i, c in enumerate(b)])
        )
    a = _random_fq12()
    assert bf.power(a, 12345) == _ints(FQ12(list(a)) ** 12345)


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_frobenius_is_the_p_power(k: int) -> None:
    a = _random_fq12()
    assert bf.frobenius(a, k) == _ints(FQ12(list(a)) ** (field_modulus**k))


def test_hard_part_decomposition() -> None:
    p = field_modulus
    assert bf.L0 + bf.L1 * p + bf.L2 * p**2 + bf.L3 * p**3 == (p**4 - p**2 + 1) // curve_order
    assert (p**6 - 1) * (p**2 + 1) * bf.HARD == (p**12 - 1) // curve_order


def test_final_exponentiation_matches_py_ecc() -> None:
    loop = pairing(multiply(G2, _scalar()), multiply(G1, _scalar()), final_exponentiate=False)
    assert bf.final_exponentiate(_ints(loop)) == _ints(final_exponentiate(loop))
    arbitrary = FQ12(list(_random_fq12()))  # not a Miller-loop output: the identity is general
    assert bf.final_exponentiate(_ints(arbitrary)) == _ints(final_exponentiate(arbitrary))
    assert bf.final_exponentiate((0,) * 12) == (0,) * 12
    assert bf.final_exponentiate(bf.ONE) == bf.ONE


def test_miller_loop_matches_py_ecc() -> None:
    q, p = multiply(G2, _scalar()), multiply(G1, _scalar())
    assert bf.miller_loop([(_aff2(q), _aff1(p))]) == _ints(pairing(q, p, final_exponentiate=False))
    assert bf.miller_loop([]) == bf.ONE


def test_multi_miller_loop_is_the_product() -> None:
    pairs = [(multiply(G2, _scalar()), multiply(G1, _scalar())) for _ in range(3)]
    expected = FQ12.one()
    for q, p in pairs:
        expected = expected * pairing(q, p, final_exponentiate=False)
    assert bf.miller_loop([(_aff2(q), _aff1(p)) for q, p in pairs]) == _ints(expected)


def test_pairing_is_bilinear_and_non_degenerate() -> None:
    a, b = _scalar(), _scalar()
    ab = a * b % curve_order
    lhs = bf.final_exponentiate(bf.miller_loop([(_aff2(multiply(G2, a)), _aff1(multiply(G1, b)))]))
    rhs = bf.final_exponentiate(bf.miller_loop([(_aff2(G2), _aff1(multiply(G1, ab)))]))
    assert lhs == rhs != bf.ONE
    # e(aP, Q) * e(-P, aQ) = 1, and a one-off change breaks it
    p = multiply(G1, b)
    check = bf.miller_loop([(_aff2(G2), _aff1(multiply(p, a))), (_aff2(multiply(G2, a)), _aff1(neg(p)))])
    assert bf.final_exponentiate(check) == bf.ONE
    off = bf.miller_loop(
        [(_aff2(G2), _aff1(add(multiply(p, a), G1))), (_aff2(multiply(G2, a)), _aff1(neg(p)))]
    )
    assert bf.final_exponentiate(off) != bf.ONE


def test_line_values_match_py_ecc_linefunc() -> None:
    q, other, p = multiply(G2, _scalar()), multiply(G2, _scalar()), multiply(G1, _scalar())
    for r, s, case in ((q, other, "chord"), (q, q, "tangent"), (q, neg(q), "vertical")):
        num, den = linefunc(twist(r), twist(s), cast_point_to_fq12(p))
        line, total = bf._line(_aff2(r), _aff2(s), *_aff1(p))
        dense = [0] * 12
        for i, c in line:
            dense[i] = c
        assert tuple(dense) == _ints(num / den), case
        assert total == (None if case == "vertical" else _aff2(add(r, s))), case


def _twist_point_outside_subgroup() -> Any:
    """A point on the twist outside G2 (the cofactor 2p - r has the factor 10069)."""
    x, y = twist_point_outside_subgroup()
    return x, y, FQ2.one()


def test_miller_loop_matches_py_ecc_outside_the_subgroup() -> None:
    # Exact even for twist points outside G2 (a key's beta, gamma, delta are not subgroup-checked).
    q, p = _twist_point_outside_subgroup(), multiply(G1, _scalar())
    assert bf.miller_loop([(_aff2(q), _aff1(p))]) == _ints(pairing(q, p, final_exponentiate=False))

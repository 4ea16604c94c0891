"""The embedded chain's faster ecPairing precompile gives py-evm's answers: the same
result for products that are and are not 1, the same refusals (a G1 point off the curve,
a coordinate at or above the field modulus, a G2 point off the twist), and 1 for empty
input and for pairs with a point at infinity. The gate tests on the embedded chain then
exercise it with real proofs (accepted) and tampered ones (refused)."""

from __future__ import annotations

import pytest
from eth_utils import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.optimized_bn128 import G1, G2, curve_order, field_modulus, multiply, neg, normalize

from verifier_contracts.fast_pairing import original, pairing_check


def g1(k: int) -> bytes:
    x, y = normalize(multiply(G1, k))
    return int(x).to_bytes(32, "big") + int(y).to_bytes(32, "big")


def g2(k: int) -> bytes:
    x, y = normalize(multiply(G2, k))
    return b"".join(int(c).to_bytes(32, "big") for c in (x.coeffs[1], x.coeffs[0], y.coeffs[1], y.coeffs[0]))


def g1_neg(k: int) -> bytes:
    x, y = normalize(neg(multiply(G1, k)))
    return int(x).to_bytes(32, "big") + int(y).to_bytes(32, "big")


ZERO_G1 = bytes(64)
ZERO_G2 = bytes(128)


def both(data: bytes) -> bool:
    fast = pairing_check(data)
    assert fast == original(data)
    return fast


@settings(max_examples=6, deadline=None)
@given(
    st.integers(min_value=1, max_value=curve_order - 1), st.integers(min_value=1, max_value=curve_order - 1)
)
def test_products_equal_py_evm(a: int, b: int) -> None:
    assert both(g1(a) + g2(b) + g1_neg(a * b % curve_order) + g2(1)) is True
    assert both(g1(a) + g2(b) + g1_neg((a * b + 1) % curve_order) + g2(1)) is False


def test_empty_input_and_points_at_infinity() -> None:
    assert both(b"") is True
    assert both(ZERO_G1 + g2(5)) is True
    assert both(g1(5) + ZERO_G2) is True
    assert both(g1(3) + g2(4) + ZERO_G1 + ZERO_G2) is False


@pytest.mark.parametrize(
    "data",
    [
        (1).to_bytes(32, "big") + (3).to_bytes(32, "big") + g2(1),  # G1 point off the curve
        field_modulus.to_bytes(32, "big") + bytes(32) + g2(1),  # G1 coordinate >= p
        g1(1) + field_modulus.to_bytes(32, "big") + g2(1)[32:],  # G2 coordinate >= p
        g1(1) + g2(1)[:-1] + bytes([g2(1)[-1] ^ 1]),  # G2 point off the twist
    ],
    ids=["g1-off-curve", "g1-coordinate", "g2-coordinate", "g2-off-twist"],
)
def test_the_same_inputs_are_refused(data: bytes) -> None:
    with pytest.raises(ValidationError):
        original(data)
    with pytest.raises(ValidationError):
        pairing_check(data)

"""Range checks and signed comparison: UnsignedRange, SignedBits, SignedRange, IsNegative, LessThanSigned."""

from __future__ import annotations

import random

import pytest

from tests.circuits.gadget_runner import gadget, outputs, rejected

N = 8  # bit width used throughout: edges at +-2^8


@pytest.mark.parametrize("x", [0, 1, 2**N - 1])
def test_unsigned_range_accepts(x: int) -> None:
    assert not rejected(gadget("unsigned_range:UnsignedRange", str(N)), {"in": x})


@pytest.mark.parametrize("x", [2**N, 2**N + 1, -1, -(2**N), 2**200])
def test_unsigned_range_rejects(x: int) -> None:
    assert rejected(gadget("unsigned_range:UnsignedRange", str(N)), {"in": x})


@pytest.mark.parametrize("x", [-(2**N), -(2**N) + 1, -1, 0, 1, 2**N - 1])
def test_signed_bits_sign(x: int) -> None:
    assert outputs(gadget("signed_bits:SignedBits", str(N)), {"in": x}) == (int(x < 0),)


@pytest.mark.parametrize("x", [2**N, -(2**N) - 1, 2**100, -(2**100)])
def test_signed_bits_rejects(x: int) -> None:
    assert rejected(gadget("signed_bits:SignedBits", str(N)), {"in": x})


@pytest.mark.parametrize("x", [-(2**N) + 1, -1, 0, 2**N - 1])
def test_signed_range_strict_inside(x: int) -> None:
    assert outputs(gadget("signed_range:SignedRange", str(N)), {"in": x}) == (int(x < 0),)


@pytest.mark.parametrize("x", [-(2**N), 2**N, -(2**N) - 1, 2**N + 1])
def test_signed_range_strict_edges_rejected(x: int) -> None:
    assert rejected(gadget("signed_range:SignedRange", str(N)), {"in": x})


@pytest.mark.parametrize("x", [-(2**N), -5, -1, 0, 7, 2**N - 1])
def test_is_negative(x: int) -> None:
    assert outputs(gadget("is_negative:IsNegative", str(N)), {"in": x}) == (int(x < 0),)


def test_is_negative_out_of_range() -> None:
    assert rejected(gadget("is_negative:IsNegative", str(N)), {"in": 2**N})


EDGES = [-(2**N), -(2**N) + 1, -1, 0, 1, 2**N - 1]


@pytest.mark.parametrize("a", EDGES)
@pytest.mark.parametrize("b", EDGES)
def test_less_than_signed_edges(a: int, b: int) -> None:
    assert outputs(gadget("less_than_signed:LessThanSigned", str(N)), {"a": a, "b": b}) == (int(a < b),)


def test_less_than_signed_random() -> None:
    rng = random.Random(1)
    circuit = gadget("less_than_signed:LessThanSigned", str(N))
    for _ in range(50):
        a, b = rng.randrange(-(2**N), 2**N), rng.randrange(-(2**N), 2**N)
        assert outputs(circuit, {"a": a, "b": b}) == (int(a < b),)


@pytest.mark.parametrize(("a", "b"), [(2**N, -(2**N)), (-(2**N) - 1, 2**N), (2**120, 0)])
def test_less_than_signed_rejects_too_wide(a: int, b: int) -> None:
    assert rejected(gadget("less_than_signed:LessThanSigned", str(N)), {"a": a, "b": b})

"""Pure-Python Groth16 verification over BN254 (py_ecc ``optimized_bn128``).

Independent of node and snarkjs: an auditor needs only Python. Before the pairing
check every input is validated: the proof is well formed, each public input is a
field element ``< r``, every point is on its curve, ``B`` lies in the G2 subgroup
(G1 has cofactor 1), and the key's ``IC`` length matches the public inputs.

snarkjs JSON gives points as decimal strings, projective with ``z = 1``; G2
coordinates are ``[[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]]``, which is the
coefficient order py_ecc's ``FQ2`` takes.

The pairing product is computed by :mod:`prover.verification.bn254_fast` (one shared Miller loop
over affine twist points, a Frobenius-split final exponentiation), which yields the
same F_p^12 elements as py_ecc's ``pairing``/``final_exponentiate`` about ten times
faster; py_ecc's own pairing remains the fallback and the tests' reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from py_ecc.optimized_bn128 import (
    FQ,
    FQ2,
    FQ12,
    add,
    b,
    b2,
    final_exponentiate,
    is_inf,
    is_on_curve,
    multiply,
    neg,
    normalize,
    pairing,
)

from prover.curve import BASE_FIELD, SCALAR_FIELD
from prover.verification import bn254_fast

R = SCALAR_FIELD  # scalar field: public inputs must be below it
P = BASE_FIELD  # base field: point coordinates must be below it

G1Point = tuple[FQ, FQ, FQ]
G2Point = tuple[FQ2, FQ2, FQ2]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a verification: ``ok`` and a one-line reason (``"valid"`` when ok)."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


class Malformed(ValueError):
    """An input that is not a valid proof, key or public signal list."""


def _int(value: Any, what: str, bound: int) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed(f"{what}: expected a decimal string")
    text = str(value)
    if not text.isdigit() or not text.isascii():
        raise Malformed(f"{what}: {text[:30]!r} is not a non-negative decimal integer")
    number = int(text)
    if number >= bound:
        raise Malformed(f"{what}: {text[:30]} is not below the field modulus")
    return number


def _list(value: Any, length: int, what: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != length:
        raise Malformed(f"{what}: expected a list of {length}")
    return value


def parse_g1(value: Any, what: str) -> G1Point:
    """An affine-in-projective G1 point ``[x, y, "1"]``; rejects infinity and off-curve points."""
    x, y, z = (_int(c, f"{what}[{i}]", P) for i, c in enumerate(_list(value, 3, what)))
    if z != 1:
        raise Malformed(f"{what}: z must be 1 (point at infinity or non-normalised)")
    point = (FQ(x), FQ(y), FQ(1))
    if not is_on_curve(point, b):
        raise Malformed(f"{what}: point is not on the BN254 curve")
    return point


def parse_g2(value: Any, what: str) -> G2Point:
    """A G2 point ``[[x0, x1], [y0, y1], ["1", "0"]]``; rejects infinity and off-curve points."""
    coords = []
    for i, pair in enumerate(_list(value, 3, what)):
        c0, c1 = (_int(c, f"{what}[{i}][{j}]", P) for j, c in enumerate(_list(pair, 2, f"{what}[{i}]")))
        coords.append(FQ2([c0, c1]))
    if coords[2] != FQ2.one():
        raise Malformed(f"{what}: z must be 1 (point at infinity or non-normalised)")
    point = (coords[0], coords[1], coords[2])
    if not is_on_curve(point, b2):
        raise Malformed(f"{what}: point is not on the BN254 twist curve")
    return point


def in_g2_subgroup(point: G2Point) -> bool:
    """True when ``r * point`` is the identity (the twist has a large cofactor)."""
    return bool(is_inf(multiply(point, R)))


@dataclass(frozen=True)
class VerifyingKey:
    alpha: G1Point
    beta: G2Point
    gamma: G2Point
    delta: G2Point
    ic: tuple[G1Point, ...]

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1


def parse_vkey(vkey: dict[str, Any]) -> VerifyingKey:
    """Parse a snarkjs ``verification_key.json`` (groth16, bn128)."""
    if vkey.get("protocol") != "groth16" or vkey.get("curve") not in ("bn128", "bn254"):
        raise Malformed("verification key: not a groth16 bn128 key")
    ic_raw = vkey.get("IC")
    if not isinstance(ic_raw, list) or not ic_raw:
        raise Malformed("verification key: IC missing")
    ic = tuple(parse_g1(p, f"vkey.IC[{i}]") for i, p in enumerate(ic_raw))
    if vkey.get("nPublic") != len(ic) - 1:
        raise Malformed(f"verification key: nPublic {vkey.get('nPublic')} does not match IC length {len(ic)}")
    return VerifyingKey(
        alpha=parse_g1(vkey.get("vk_alpha_1"), "vkey.vk_alpha_1"),
        beta=parse_g2(vkey.get("vk_beta_2"), "vkey.vk_beta_2"),
        gamma=parse_g2(vkey.get("vk_gamma_2"), "vkey.vk_gamma_2"),
        delta=parse_g2(vkey.get("vk_delta_2"), "vkey.vk_delta_2"),
        ic=ic,
    )


def parse_public(signals: Any, n_public: int) -> list[int]:
    """Public signals as field elements; each must be a decimal string ``< r``."""
    if not isinstance(signals, Sequence) or isinstance(signals, str):
        raise Malformed("public signals: expected a list")
    if len(signals) != n_public:
        raise Malformed(f"public signals: {len(signals)} given, the key expects {n_public}")
    return [_int(s, f"public signal {i}", R) for i, s in enumerate(signals)]


#: Which pairing computes the final check: ``fast`` (:mod:`prover.verification.bn254_fast`, for bulk
#: checks), ``reference`` (py_ecc's own ``pairing``), or ``both`` (they must agree).
PAIRINGS = ("fast", "reference", "both")


def verify_groth16(
    vkey: dict[str, Any], public_signals: Any, proof: dict[str, Any], *, pairing_impl: str = "fast"
) -> VerifyResult:
    """Check a snarkjs Groth16 proof; never raises for bad input, returns ``ok=False`` with a reason.

    ``pairing_impl`` picks the pairing (see :data:`PAIRINGS`); the input checks are the same.
    """
    if pairing_impl not in PAIRINGS:
        raise ValueError(f"pairing_impl must be one of {PAIRINGS}, got {pairing_impl!r}")
    try:
        key = parse_vkey(vkey)
        inputs = parse_public(public_signals, key.n_public)
        if not isinstance(proof, dict):
            raise Malformed("proof: expected an object")
        if proof.get("protocol", "groth16") != "groth16" or proof.get("curve", "bn128") not in (
            "bn128",
            "bn254",
        ):
            raise Malformed("proof: not a groth16 bn128 proof")
        a = parse_g1(proof.get("pi_a"), "proof.pi_a")
        b_point = parse_g2(proof.get("pi_b"), "proof.pi_b")
        c = parse_g1(proof.get("pi_c"), "proof.pi_c")
    except Malformed as exc:
        return VerifyResult(False, str(exc))
    if not in_g2_subgroup(b_point):
        return VerifyResult(False, "proof.pi_b: point is not in the G2 subgroup")
    if pairing_impl == "fast":
        holds = _pairing_check(key, inputs, a, b_point, c)
    elif pairing_impl == "reference":
        holds = _pairing_check_reference(key, inputs, a, b_point, c)
    else:
        holds = _pairing_check_reference(key, inputs, a, b_point, c)
        if _pairing_check(key, inputs, a, b_point, c) != holds:
            return VerifyResult(
                False, "the fast and the reference pairing disagree: do not trust this result"
            )
    if not holds:
        return VerifyResult(
            False, "pairing check failed: the proof does not match these public signals and key"
        )
    return VerifyResult(True, "valid")


def _pairing_check(key: VerifyingKey, inputs: list[int], a: G1Point, b_point: G2Point, c: G1Point) -> bool:
    """e(A, B) == e(alpha, beta) * e(vk_x, gamma) * e(C, delta), as one product with one final exponentiation.

    The product of the four Miller loops is computed by :mod:`prover.verification.bn254_fast` (one
    shared loop, the ``(alpha, beta)`` factor cached per key) and is the same F_p^12
    element py_ecc's separate loops give; should the fast loop meet a degenerate point
    (impossible for G2 subgroup points) the check falls back to py_ecc.
    """
    vk_x = _vk_x(key, inputs)
    pairs = [(b_point, neg(a)), (key.gamma, vk_x), (key.delta, c)]
    try:
        product = bn254_fast.mul(
            _alpha_beta_loop(_affine_g2(key.beta), _affine_g1(key.alpha)),
            bn254_fast.miller_loop((_affine_g2(q), _affine_g1(p)) for q, p in pairs if not is_inf(p)),
        )
    except bn254_fast.DegenerateLoop:
        return _pairing_check_reference(key, inputs, a, b_point, c)
    return bn254_fast.final_exponentiate(product) == bn254_fast.ONE


def _vk_x(key: VerifyingKey, inputs: list[int]) -> G1Point:
    vk_x = key.ic[0]
    for coeff, point in zip(inputs, key.ic[1:], strict=True):
        if coeff:
            vk_x = add(vk_x, multiply(point, coeff))
    return vk_x


def _affine_g1(point: G1Point) -> tuple[int, int]:
    x, y = normalize(point)
    return int(x), int(y)


def _affine_g2(point: G2Point) -> tuple[bn254_fast.Fq2, bn254_fast.Fq2]:
    x, y = normalize(point)
    (x0, x1), (y0, y1) = x.coeffs, y.coeffs
    return (int(x0), int(x1)), (int(y0), int(y1))


@lru_cache(maxsize=32)
def _alpha_beta_loop(beta: tuple[bn254_fast.Fq2, bn254_fast.Fq2], alpha: tuple[int, int]) -> bn254_fast.Fq12:
    """The Miller loop of ``(beta, alpha)``: the same for every proof under one key, so cached."""
    return bn254_fast.miller_loop([(beta, alpha)])


def _pairing_check_reference(
    key: VerifyingKey, inputs: list[int], a: G1Point, b_point: G2Point, c: G1Point
) -> bool:
    """The same check with py_ecc's own pairing (four Miller loops, naive final exponentiation)."""
    vk_x = _vk_x(key, inputs)
    product = FQ12.one()
    for q, p in ((b_point, neg(a)), (key.beta, key.alpha), (key.gamma, vk_x), (key.delta, c)):
        product = product * pairing(q, p, final_exponentiate=False)
    return bool(final_exponentiate(product) == FQ12.one())

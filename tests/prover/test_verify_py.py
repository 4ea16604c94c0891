"""Pure-Python Groth16 verification: accepts honest proofs, rejects every kind of tampering."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from py_ecc.optimized_bn128 import FQ2, b2, curve_order, field_modulus, is_on_curve

from prover.results import ProofResult
from prover.verification import bn254_fast, verify_py
from prover.verification.verify_py import in_g2_subgroup, verify_groth16

from .conftest import Toy

pytestmark = pytest.mark.circuit


def _g2_json(x: FQ2, y: FQ2) -> list[list[str]]:
    return [[str(c) for c in x.coeffs], [str(c) for c in y.coeffs], ["1", "0"]]


def _sqrt_fq2(a: FQ2) -> FQ2 | None:
    """Square root in F_p^2 for p = 3 mod 4 (Adj and Rodriguez-Henriquez, algorithm 9)."""
    p = field_modulus
    a1 = a ** ((p - 3) // 4)
    alpha = a1 * a1 * a
    a0 = alpha**p * alpha
    if a0 == FQ2([p - 1, 0]):
        return None
    x0 = a1 * a
    if alpha == FQ2([p - 1, 0]):
        return FQ2([0, 1]) * x0
    return (FQ2.one() + alpha) ** ((p - 1) // 2) * x0


def _twist_point_outside_subgroup() -> tuple[FQ2, FQ2]:
    for i in range(1, 100):
        x = FQ2([i, 1])
        y = _sqrt_fq2(x**3 + b2)
        if y is not None and y * y == x**3 + b2:
            point = (x, y, FQ2.one())
            assert is_on_curve(point, b2)
            if not in_g2_subgroup(point):
                return x, y
    raise AssertionError("no point found")


def test_honest_proof(toy: Toy, worker_proof: ProofResult) -> None:
    result = verify_groth16(toy.vkey, worker_proof.public_signals, worker_proof.proof)
    assert result.ok and result.reason == "valid" and bool(result)


@pytest.mark.parametrize("index", range(5))
def test_any_changed_public_signal_fails(toy: Toy, worker_proof: ProofResult, index: int) -> None:
    signals = list(worker_proof.public_signals)
    signals[index] = str((int(signals[index]) + 1) % curve_order)
    result = verify_groth16(toy.vkey, signals, worker_proof.proof)
    assert not result.ok and "pairing check failed" in result.reason


def test_public_input_not_below_r_is_rejected(toy: Toy, worker_proof: ProofResult) -> None:
    # x + r is the same field element, so without the range check the pairing would pass.
    signals = list(worker_proof.public_signals)
    signals[2] = str(int(signals[2]) + curve_order)
    result = verify_groth16(toy.vkey, signals, worker_proof.proof)
    assert not result.ok and "not below the field modulus" in result.reason


@pytest.mark.parametrize(
    ("name", "mutate", "reason"),
    [
        (
            "pi_a off curve",
            lambda p: p["pi_a"].__setitem__(1, str(int(p["pi_a"][1]) + 1)),
            "not on the BN254 curve",
        ),
        (
            "pi_c off curve",
            lambda p: p["pi_c"].__setitem__(0, str(int(p["pi_c"][0]) + 1)),
            "not on the BN254 curve",
        ),
        (
            "pi_b off curve",
            lambda p: p["pi_b"][0].__setitem__(0, str(int(p["pi_b"][0][0]) + 1)),
            "twist curve",
        ),
        ("pi_a swapped with pi_c", lambda p: p.update(pi_a=p["pi_c"]), "pairing check failed"),
        ("pi_a at infinity", lambda p: p.update(pi_a=["0", "1", "0"]), "infinity"),
        (
            "coordinate >= p",
            lambda p: p["pi_a"].__setitem__(0, str(field_modulus)),
            "not below the field modulus",
        ),
        ("not a number", lambda p: p["pi_c"].__setitem__(0, "0x12"), "not a non-negative decimal"),
        ("short pi_b", lambda p: p["pi_b"].pop(), "expected a list of 3"),
    ],
)
def test_tampered_proof_fails(
    toy: Toy, worker_proof: ProofResult, name: str, mutate: Any, reason: str
) -> None:
    proof = copy.deepcopy(worker_proof.proof)
    mutate(proof)
    result = verify_groth16(toy.vkey, worker_proof.public_signals, proof)
    assert not result.ok, name
    assert reason in result.reason, (name, result.reason)


def test_b_outside_g2_subgroup_is_rejected(toy: Toy, worker_proof: ProofResult) -> None:
    x, y = _twist_point_outside_subgroup()
    proof = copy.deepcopy(worker_proof.proof) | {"pi_b": _g2_json(x, y)}
    result = verify_groth16(toy.vkey, worker_proof.public_signals, proof)
    assert not result.ok and "not in the G2 subgroup" in result.reason


def test_vkey_ic_length_must_match(toy: Toy, worker_proof: ProofResult) -> None:
    vkey = copy.deepcopy(toy.vkey)
    vkey["IC"].pop()
    result = verify_groth16(vkey, worker_proof.public_signals, worker_proof.proof)
    assert not result.ok and "IC length" in result.reason
    vkey["nPublic"] = 4
    result = verify_groth16(vkey, worker_proof.public_signals, worker_proof.proof)
    assert not result.ok and "the key expects 4" in result.reason


def test_wrong_key_fails(toy: Toy, worker_proof: ProofResult) -> None:
    vkey = copy.deepcopy(toy.vkey)
    vkey["vk_alpha_1"], vkey["IC"][0] = vkey["IC"][0], vkey["vk_alpha_1"]
    result = verify_groth16(vkey, worker_proof.public_signals, worker_proof.proof)
    assert not result.ok and "pairing check failed" in result.reason


def test_not_groth16(toy: Toy, worker_proof: ProofResult) -> None:
    assert not verify_groth16(
        toy.vkey | {"protocol": "plonk"}, worker_proof.public_signals, worker_proof.proof
    ).ok
    assert not verify_groth16(toy.vkey, "14", worker_proof.proof).ok


def _parsed(toy: Toy, signals: list[str], proof: dict[str, Any]) -> tuple[Any, ...]:
    key = verify_py.parse_vkey(toy.vkey)
    return (
        key,
        verify_py.parse_public(signals, key.n_public),
        verify_py.parse_g1(proof["pi_a"], "a"),
        verify_py.parse_g2(proof["pi_b"], "b"),
        verify_py.parse_g1(proof["pi_c"], "c"),
    )


def test_fast_pairing_check_agrees_with_py_ecc(toy: Toy, worker_proof: ProofResult) -> None:
    signals = list(worker_proof.public_signals)
    honest = _parsed(toy, signals, worker_proof.proof)
    assert verify_py._pairing_check(*honest) is verify_py._pairing_check_reference(*honest) is True
    signals[0] = str(int(signals[0]) + 1)
    tampered = _parsed(toy, signals, worker_proof.proof)
    assert verify_py._pairing_check(*tampered) is verify_py._pairing_check_reference(*tampered) is False


def test_alpha_beta_loop_is_cached_per_key(toy: Toy, worker_proof: ProofResult) -> None:
    verify_py._alpha_beta_loop.cache_clear()
    for _ in range(2):
        assert verify_groth16(toy.vkey, worker_proof.public_signals, worker_proof.proof).ok
    info = verify_py._alpha_beta_loop.cache_info()
    assert (info.misses, info.hits, info.currsize) == (1, 1, 1)
    # a key with another alpha gets its own entry and still fails
    vkey = copy.deepcopy(toy.vkey)
    vkey["vk_alpha_1"] = vkey["IC"][1]
    assert not verify_groth16(vkey, worker_proof.public_signals, worker_proof.proof).ok
    assert verify_py._alpha_beta_loop.cache_info().currsize == 2
    assert verify_groth16(toy.vkey, worker_proof.public_signals, worker_proof.proof).ok


def test_degenerate_fast_loop_falls_back_to_py_ecc(
    toy: Toy, worker_proof: ProofResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    def degenerate(pairs: Any) -> Any:
        raise bn254_fast.DegenerateLoop("forced")

    monkeypatch.setattr(bn254_fast, "miller_loop", degenerate)
    verify_py._alpha_beta_loop.cache_clear()
    assert verify_groth16(toy.vkey, worker_proof.public_signals, worker_proof.proof).ok
    signals = list(worker_proof.public_signals)
    signals[1] = str(int(signals[1]) + 1)
    result = verify_groth16(toy.vkey, signals, worker_proof.proof)
    assert not result.ok and "pairing check failed" in result.reason


@pytest.mark.parametrize("pairing_impl", ["reference", "both"])
def test_reference_and_both_pairings(toy: Toy, worker_proof: ProofResult, pairing_impl: str) -> None:
    """The audit's default ("both": py_ecc's own pairing and the fast one must agree)."""
    ok = verify_groth16(toy.vkey, worker_proof.public_signals, worker_proof.proof, pairing_impl=pairing_impl)
    assert ok.ok
    signals = list(worker_proof.public_signals)
    signals[2] = str(int(signals[2]) + 1)
    bad = verify_groth16(toy.vkey, signals, worker_proof.proof, pairing_impl=pairing_impl)
    assert not bad.ok and "pairing check failed" in bad.reason


def test_both_pairings_must_agree(
    toy: Toy, worker_proof: ProofResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_py, "_pairing_check", lambda *args: False)
    result = verify_groth16(toy.vkey, worker_proof.public_signals, worker_proof.proof, pairing_impl="both")
    assert not result.ok and "disagree" in result.reason
    with pytest.raises(ValueError, match="pairing_impl"):
        verify_groth16(toy.vkey, worker_proof.public_signals, worker_proof.proof, pairing_impl="quick")

"""Proof bundles to gate calldata, and revert data to named errors (no chain needed)."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from verifier_contracts.gate import GateRevert, ProofBundleError, decode_revert, proof_calldata
from verifier_contracts.solc import compile_gate

BUNDLE = {
    "proof": {
        "pi_a": ["1", "2", "1"],
        "pi_b": [["3", "4"], ["5", "6"], ["1", "0"]],
        "pi_c": ["7", "8", "1"],
        "protocol": "groth16",
    },
    "public_signals": ["2", "9", "10", "11", "12"],
}


def test_g2_pairs_are_swapped_and_g1_projective_coordinate_dropped() -> None:
    (a, b, c), signals = proof_calldata(BUNDLE)
    assert a == [1, 2]
    assert b == [[4, 3], [6, 5]]
    assert c == [7, 8]
    assert signals == [2, 9, 10, 11, 12]


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        ({"public_signals": ["1"] * 5}, "lacks"),
        ({**BUNDLE, "public_signals": ["1"] * 4}, "expected 5"),
        ({**BUNDLE, "public_signals": ["1", "x", "1", "1", "1"]}, "public_signals[1]"),
        ({**BUNDLE, "public_signals": ["1", "-1", "1", "1", "1"]}, "negative"),
    ],
)
def test_malformed_bundles(bundle: dict[str, object], message: str) -> None:
    with pytest.raises(ProofBundleError, match=message.replace("[", r"\[").replace("]", r"\]")):
        proof_calldata(bundle)


def test_decode_revert_names_the_error_and_its_arguments() -> None:
    abi = compile_gate().abi
    data = keccak(text="WrongParams(uint256,uint256)")[:4] + encode(["uint256", "uint256"], [5, 6])
    err = decode_revert(abi, "0x" + data.hex(), "liquidate")
    assert isinstance(err, GateRevert)
    assert (err.error, err.error_args) == ("WrongParams", {"current": 5, "given": 6})
    assert "liquidate: MarginGate reverted with WrongParams(current=5, given=6)" in str(err)
    assert decode_revert(abi, b"\x01\x02\x03\x04").error == "UnknownRevert"

"""Batch proofs to gate calldata, and revert data to named errors (no chain needed)."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from engine.batch_statement import BatchEntry, pack_words
from verifier_contracts.batch_gate import batch_calldata
from verifier_contracts.gate import GateRevert, ProofBundleError, decode_revert
from verifier_contracts.solc import compile_gate

PROOF = {
    "pi_a": ["1", "2", "1"],
    "pi_b": [["3", "4"], ["5", "6"], ["1", "0"]],
    "pi_c": ["7", "8", "1"],
    "protocol": "groth16",
}
ENTRIES = [BatchEntry(5, 2, 100).packed, BatchEntry(9, 3, 2**60 - 1).packed, BatchEntry(12, 0, 0).packed]
SIGNALS = ["21", "22", "23", "3", *(str(w) for w in pack_words([*ENTRIES, 0]))]


def test_g2_pairs_are_swapped_and_words_split_into_entries() -> None:
    call = batch_calldata(PROOF, SIGNALS)
    a, b, c = call.proof
    assert a == [1, 2]
    assert b == [[4, 3], [6, 5]]
    assert c == [7, 8]
    assert call.roots == [21, 22, 23]
    assert call.entries == ENTRIES  # the count used, each word split at 2**126
    assert [e.account_id for e in call.decoded] == [5, 9, 12]


@pytest.mark.parametrize(
    ("proof", "signals", "message"),
    [
        ({}, SIGNALS, "lacks"),
        (PROOF, ["1"] * 4, "at least 5"),
        (PROOF, ["1", "x", "1", "1", "1"], "public_signals[1]"),
        (PROOF, ["1", "-1", "1", "1", "1"], "negative"),
        (PROOF, ["1", "1", "1", "3", "1"], "count 3 is not in 1..2"),
    ],
)
def test_malformed_batches(proof: dict[str, object], signals: list[str], message: str) -> None:
    with pytest.raises(ProofBundleError, match=message.replace("[", r"\[").replace("]", r"\]")):
        batch_calldata(proof, signals)


def test_decode_revert_names_the_error_and_its_arguments() -> None:
    abi = compile_gate("BatchGate").abi
    data = keccak(text="WrongParams(uint256,uint256)")[:4] + encode(["uint256", "uint256"], [5, 6])
    err = decode_revert(abi, "0x" + data.hex(), "liquidateBatch")
    assert isinstance(err, GateRevert)
    assert (err.error, err.error_args) == ("WrongParams", {"current": 5, "given": 6})
    assert "liquidateBatch: BatchGate reverted with WrongParams(current=5, given=6)" in str(err)
    assert decode_revert(abi, b"\x01\x02\x03\x04").error == "UnknownRevert"


@pytest.mark.parametrize(("point", "name"), [(0, "pi_a"), (1, "pi_b"), (2, "pi_c")])
def test_an_off_curve_refusal_names_the_proof_point(point: int, name: str) -> None:
    abi = compile_gate("BatchGate").abi
    data = keccak(text="ProofNotOnCurve(uint8)")[:4] + encode(["uint8"], [point])
    err = decode_revert(abi, data, "liquidateBatch")
    assert (err.error, err.error_args) == ("ProofNotOnCurve", {"point": name})
    assert str(err) == f"liquidateBatch: BatchGate reverted with ProofNotOnCurve(point={name})"


def test_a_stale_market_refusal_carries_the_expiry() -> None:
    abi = compile_gate("BatchGate").abi
    data = keccak(text="StaleMarket(uint64,uint64,uint256)")[:4] + encode(
        ["uint64", "uint64", "uint256"], [100, 700, 701]
    )
    err = decode_revert(abi, data)
    assert (err.error, err.error_args) == (
        "StaleMarket",
        {"postedAt": 100, "expiresAt": 700, "timestamp": 701},
    )

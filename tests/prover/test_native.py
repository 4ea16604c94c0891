"""The native (arkworks) prover on the toy circuit: its proofs are snarkjs's.

* a native proof verifies with snarkjs and with the pure-Python verifier, and its public
  signals are exactly those of the snarkjs proof of the same input;
* a proof from a tampered witness (one private value changed) is made but rejected by
  both verifiers and by the key's own check (``verified`` false, which NativeProver turns
  into a ProverError); a good proof carries ``key_verified``; a witness of another length, a damaged witness file and a file that is
  no key are refused with a clear error;
* the key is loaded once per key file (the same object serves every later proof).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.backends.native import NativeProver, native_available, native_module, proving_key
from prover.backends.node_worker import NodeWorker
from prover.backends.rapidsnark import RapidsnarkHelper, RapidsnarkProver, rapidsnark_available
from prover.errors import ProverError
from prover.results import ProofResult
from prover.verification.verify_py import verify_groth16

from .conftest import Toy, toy_input

pytestmark = pytest.mark.skipif(not native_available(), reason="zkmargin_native is not built (make setup)")

MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617


@pytest.fixture(scope="module")
def native(worker: NodeWorker) -> NativeProver:
    return NativeProver(worker)


def _wtns(toy: Toy, worker: NodeWorker, tmp_path: Path) -> bytes:
    path = tmp_path / "toy.wtns"
    worker.witness(toy.build.wasm, toy_input(), path)
    return path.read_bytes()


def test_native_proof_verifies_with_snarkjs_and_py_ecc(
    toy: Toy, native: NativeProver, worker: NodeWorker, worker_proof: ProofResult
) -> None:
    result = native.prove(toy.build.wasm, toy.setup.zkey, toy_input())
    assert result.backend == "arkworks" and result.key_verified
    assert result.public_signals == worker_proof.public_signals
    assert worker.verify(toy.vkey, result.public_signals, result.proof)
    assert verify_groth16(toy.vkey, result.public_signals, result.proof).ok
    # the randomness is fresh: two proofs of one input differ, both valid
    again = native.prove(toy.build.wasm, toy.setup.zkey, toy_input())
    assert again.proof["pi_a"] != result.proof["pi_a"]
    assert verify_groth16(toy.vkey, again.public_signals, again.proof).ok


def test_a_tampered_witness_gives_a_proof_no_verifier_accepts(
    toy: Toy, worker: NodeWorker, tmp_path: Path
) -> None:
    data = bytearray(_wtns(toy, worker, tmp_path))
    value = int.from_bytes(data[-32:], "little")
    data[-32:] = ((value + 1) % MODULUS).to_bytes(32, "little")  # the last private signal
    out = proving_key(toy.setup.zkey).prove_wtns(bytes(data))
    public = [str(s) for s in out["public_signals"]]
    assert not verify_groth16(toy.vkey, public, out["proof"]).ok
    assert not worker.verify(toy.vkey, public, out["proof"])
    assert out["verified"] is False  # the key's own check sees it too
    assert proving_key(toy.setup.zkey).prove_wtns(_wtns(toy, worker, tmp_path))["verified"] is True


def test_the_native_prover_refuses_a_proof_its_key_rejects(
    toy: Toy, worker: NodeWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prover.backends import native as native_backend

    real = proving_key(toy.setup.zkey)

    class Rejecting:  # the real key's proof, with the key's verdict turned to "no"
        def prove_wtns(self, data: bytes) -> dict[str, object]:
            return {**real.prove_wtns(data), "verified": False}

    monkeypatch.setattr(native_backend, "proving_key", lambda zkey: Rejecting())
    with pytest.raises(ProverError, match="does not verify against its key"):
        NativeProver(worker).prove(toy.build.wasm, toy.setup.zkey, toy_input())


def test_bad_witnesses_and_keys_are_refused_clearly(toy: Toy, worker: NodeWorker, tmp_path: Path) -> None:
    key = proving_key(toy.setup.zkey)
    data = _wtns(toy, worker, tmp_path)
    with pytest.raises(ValueError, match="truncated"):
        key.prove_wtns(data[:-5])
    with pytest.raises(ValueError, match="magic"):
        key.prove_wtns(b"xtns" + data[4:])
    # one value fewer: header count and section size kept consistent, so only the length is wrong
    count = int.from_bytes(data[60:64], "little")
    short = data[:60] + (count - 1).to_bytes(4, "little") + data[64:68]
    short += (32 * (count - 1)).to_bytes(8, "little") + data[76:-32]
    with pytest.raises(ValueError, match=f"the witness has {count - 1} values, the key's circuit {count}"):
        key.prove_wtns(short)
    not_a_key = tmp_path / "x.zkey"
    not_a_key.write_bytes(b"zkey" + b"\0" * 64)
    with pytest.raises(ProverError, match="cannot load"):
        proving_key(not_a_key)
    with pytest.raises(ProverError, match="cannot load"):
        proving_key(tmp_path / "missing.zkey")


def test_the_key_is_loaded_once(toy: Toy) -> None:
    assert proving_key(toy.setup.zkey) is proving_key(toy.setup.zkey)
    assert native_module().Groth16Prover(str(toy.setup.zkey)).num_public == 5


@pytest.mark.skipif(
    not rapidsnark_available(), reason="the rapidsnark helper is not built (make setup with Go)"
)
def test_rapidsnark_proofs_verify_too(toy: Toy, worker: NodeWorker, worker_proof: ProofResult) -> None:
    prover = RapidsnarkProver(worker, RapidsnarkHelper())
    try:
        result = prover.prove(toy.build.wasm, toy.setup.zkey, toy_input())
        again = prover.prove(toy.build.wasm, toy.setup.zkey, toy_input())  # the key stays loaded
    finally:
        prover.helper.stop()
    assert result.backend == "rapidsnark" and result.public_signals == worker_proof.public_signals
    for proof in (result, again):
        assert worker.verify(toy.vkey, proof.public_signals, proof.proof)
        assert verify_groth16(toy.vkey, proof.public_signals, proof.proof).ok


def test_backend_names_and_a_missing_build(monkeypatch: pytest.MonkeyPatch) -> None:
    from prover.backends import choice as backends
    from zkmargin.cli.options import PROVER_CHOICES

    assert PROVER_CHOICES == backends.BACKENDS
    assert backends.resolve_backend("auto") == "arkworks"  # the fastest built
    monkeypatch.setattr(
        backends, "_BUILT", {**backends._BUILT, "arkworks": lambda: False, "rapidsnark": lambda: False}
    )
    assert backends.resolve_backend("auto") == "snarkjs"
    monkeypatch.setattr("prover.backends.rapidsnark.rapidsnark_available", lambda: False)
    with pytest.raises(ProverError, match="rapidsnark helper is not built"):
        backends.resolve_backend("rapidsnark")

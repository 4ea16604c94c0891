"""The native circuit-specific setup (toy circuit): its keys are snarkjs keys.

* snarkjs exports the verification key and the Solidity verifier from the native zkey;
  proofs by snarkjs and by arkworks on those keys verify with snarkjs and py_ecc;
* the keys are independent of a snarkjs setup of the same circuit (a proof on one does
  not verify with the other's key), and a second native setup makes new keys;
* it is recorded as single-party with no ptau, cached, and chosen by ``prepare_artifacts``
  when no ptau is named (``method="snarkjs"`` still gives snarkjs keys over a ptau);
* an R1CS file that is not one is refused with a clear error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.backends.native import NativeProver, native_available
from prover.backends.node_worker import NodeWorker
from prover.errors import ProverError
from prover.keys.artifacts import prepare_artifacts
from prover.keys.setup import SetupResult, setup_keys_native
from prover.toolchain.build import BuildResult, build_circuit
from prover.verification.verify_py import verify_groth16

from .conftest import Toy, toy_input, toy_spec

pytestmark = pytest.mark.skipif(not native_available(), reason="zkmargin_native is not built (make setup)")


@pytest.fixture(scope="module")
def own_build(toy: Toy, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The toy circuit in a cache of its own: the session's toy keeps only its snarkjs keys."""
    return build_circuit(toy_spec(), tools=toy.tools, cache=tmp_path_factory.mktemp("native-setup"))


@pytest.fixture(scope="module")
def native_keys(toy: Toy, own_build: BuildResult) -> SetupResult:
    return setup_keys_native(own_build, tools=toy.tools)


def test_native_keys_prove_and_verify_with_every_backend(
    toy: Toy, own_build: BuildResult, native_keys: SetupResult, worker: NodeWorker
) -> None:
    vkey = json.loads(native_keys.vkey.read_text())
    assert vkey["protocol"] == "groth16" and vkey["nPublic"] == 5
    assert "contract Groth16Verifier" in native_keys.verifier_sol.read_text()
    by_snarkjs = worker.prove(own_build.wasm, native_keys.zkey, toy_input())
    by_arkworks = NativeProver(worker).prove(own_build.wasm, native_keys.zkey, toy_input())
    assert by_snarkjs.public_signals == by_arkworks.public_signals
    for proof in (by_snarkjs, by_arkworks):
        assert worker.verify(vkey, proof.public_signals, proof.proof)
        assert verify_groth16(vkey, proof.public_signals, proof.proof).ok
    # independent of the snarkjs setup of the same circuit
    assert not verify_groth16(toy.vkey, by_snarkjs.public_signals, by_snarkjs.proof).ok
    assert native_keys.vkey_sha256 != toy.setup.vkey_sha256


def test_the_native_setup_is_recorded_cached_and_redone_only_when_forced(
    toy: Toy, own_build: BuildResult, native_keys: SetupResult
) -> None:
    record = native_keys.record
    assert record["method"] == "native" and record["ptau"] is None and record["single_party"] is True
    assert native_keys.ptau_sha256 == "" and "no ptau" in native_keys.origin()
    note = native_keys.trust_note()
    assert note is not None and "single-party" in note and "never for production" in note
    again = setup_keys_native(own_build, tools=toy.tools)
    assert again.vkey_sha256 == native_keys.vkey_sha256
    fresh = setup_keys_native(own_build, tools=toy.tools, force=True)
    assert fresh.vkey_sha256 != native_keys.vkey_sha256  # new secrets, new keys


def test_prepare_artifacts_picks_native_unless_told(toy: Toy, tmp_path: Path, empty_dir: Path) -> None:
    spec = toy_spec()
    auto = prepare_artifacts(spec, tools=toy.tools, cache=tmp_path, shared_dir=empty_dir)
    assert auto.setup is not None and auto.setup.method == "native"
    snark = prepare_artifacts(spec, tools=toy.tools, cache=tmp_path, shared_dir=empty_dir, method="snarkjs")
    assert (
        snark.setup is not None
        and snark.setup.method == "snarkjs"
        and snark.setup.record["ptau"]["power"] == 8
    )
    native = prepare_artifacts(spec, tools=toy.tools, cache=tmp_path, shared_dir=empty_dir, method="native")
    assert native.setup is not None and native.setup.vkey_sha256 == auto.setup.vkey_sha256  # reused


def test_a_file_that_is_no_r1cs_is_refused(toy: Toy, tmp_path: Path) -> None:
    build = build_circuit(toy_spec(), tools=toy.tools, cache=tmp_path)
    build.r1cs.write_bytes(b"r1cs" + b"\x01\x00\x00\x00" + b"\x00" * 7)
    with pytest.raises(ProverError, match="not a usable circom R1CS"):
        setup_keys_native(build, tools=toy.tools, force=True)

"""Proving with the node worker and with the snarkjs CLI; both proofs verify everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.backends.node_worker import NodeWorker, WorkerStartError, WorkerTimeout
from prover.backends.prove import Prover
from prover.backends.snarkjs_cli import cli_prove, cli_verify
from prover.errors import ProverError
from prover.results import ProofResult
from prover.toolchain.tools import Toolchain
from prover.verification.verify_py import verify_groth16

from .conftest import Toy, toy_input

pytestmark = pytest.mark.circuit

# Toy outputs for toy_input(): status = x0 * market_root, commitment = prod(x) + salt.
EXPECTED_HEAD = ["14"]
EXPECTED_TAIL = ["29", "7", "11"]


@pytest.mark.parametrize("which", ["worker_proof", "cli_proof"])
def test_proof_verifies_with_snarkjs_and_py_ecc(which: str, request: pytest.FixtureRequest, toy: Toy) -> None:
    result: ProofResult = request.getfixturevalue(which)
    assert result.backend == which.removesuffix("_proof")
    assert result.public_signals[:1] == EXPECTED_HEAD and result.public_signals[2:] == EXPECTED_TAIL
    assert cli_verify(toy.setup.vkey, result.public_signals, result.proof, tools=toy.tools) is True
    assert verify_groth16(toy.vkey, result.public_signals, result.proof).ok


def test_worker_and_cli_agree_on_public_signals(worker_proof: ProofResult, cli_proof: ProofResult) -> None:
    assert worker_proof.public_signals == cli_proof.public_signals
    assert worker_proof.proof != cli_proof.proof  # fresh randomness per proof


def test_worker_verify(toy: Toy, worker: NodeWorker, worker_proof: ProofResult) -> None:
    assert worker.verify(toy.setup.vkey, worker_proof.public_signals, worker_proof.proof) is True
    wrong = ["15", *worker_proof.public_signals[1:]]
    assert worker.verify(toy.vkey, wrong, worker_proof.proof) is False
    assert cli_verify(toy.setup.vkey, wrong, worker_proof.proof, tools=toy.tools) is False


def test_worker_reports_unsatisfied_constraints(toy: Toy, worker: NodeWorker) -> None:
    bad = toy_input() | {"commitment": "30"}
    with pytest.raises(ProverError, match="Assert Failed"):
        worker.prove(toy.build.wasm, toy.setup.zkey, bad)
    assert worker.alive  # one bad request does not kill the worker
    assert worker.ping()["pong"] is True


def test_cli_reports_unsatisfied_constraints(toy: Toy) -> None:
    with pytest.raises(ProverError, match="wtns calculate failed"):
        cli_prove(toy.build.wasm, toy.setup.zkey, toy_input() | {"commitment": "30"}, tools=toy.tools)


def test_worker_writes_witness_file(toy: Toy, worker: NodeWorker, tmp_path: Path) -> None:
    wtns = tmp_path / "w.wtns"
    seconds = worker.witness(toy.build.wasm, toy_input(), wtns)
    assert seconds >= 0
    assert wtns.read_bytes()[:4] == b"wtns"


def test_worker_timeout_stops_the_worker(tools: Toolchain, toy: Toy) -> None:
    slow = NodeWorker(tools, request_timeout=0.001)
    slow.start()
    try:
        with pytest.raises(WorkerTimeout, match="timed out"):
            slow.prove(toy.build.wasm, toy.setup.zkey, toy_input())
        assert not slow.alive
        slow.request_timeout = 300  # the next call starts a fresh worker
        result = slow.prove(toy.build.wasm, toy.setup.zkey, toy_input())
        assert slow.alive and result.public_signals[0] == "14"
    finally:
        slow.stop()


def test_worker_that_cannot_start(tools: Toolchain, tmp_path: Path) -> None:
    broken = NodeWorker(tools, script=tmp_path / "missing.js", start_timeout=30)
    with pytest.raises(WorkerStartError, match="cannot start"):
        broken.start()


def test_prover_falls_back_to_cli(tools: Toolchain, toy: Toy, tmp_path: Path) -> None:
    said: list[str] = []
    broken = NodeWorker(tools, script=tmp_path / "missing.js", start_timeout=30)
    with Prover(tools, worker=broken, notify=said.append, backend="snarkjs") as prover:
        result = prover.prove(toy.build.wasm, toy.setup.zkey, toy_input())
        assert prover.backend == "cli" and result.backend == "cli"
        assert prover.verify(toy.setup.vkey, result.public_signals, result.proof)
    assert any("falling back to the snarkjs CLI" in m for m in said)


def test_prover_uses_worker(tools: Toolchain, toy: Toy) -> None:
    with Prover(tools, backend="snarkjs") as prover:
        result = prover.prove(toy.build.wasm, toy.setup.zkey, toy_input())
        assert result.backend == "worker" and prover.backend == "worker"
        assert verify_groth16(toy.vkey, result.public_signals, result.proof).ok


def test_prover_auto_takes_the_native_backend_when_built(tools: Toolchain, toy: Toy) -> None:
    from prover.backends.native import native_available

    with Prover(tools) as prover:
        result = prover.prove(toy.build.wasm, toy.setup.zkey, toy_input())
        expected = "arkworks" if native_available() else "worker"
        assert result.backend == expected and prover.backend == expected
        assert verify_groth16(toy.vkey, result.public_signals, result.proof).ok

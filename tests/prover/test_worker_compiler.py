"""Which WebAssembly compiler the node worker runs: the baseline one only when the worker only
computes witnesses (arkworks, rapidsnark), V8's default when snarkjs proves in it too."""

from __future__ import annotations

from prover.backends.node_worker import LIFTOFF_ONLY, NodeWorker
from prover.backends.prove import Prover
from prover.toolchain.tools import find_toolchain


def test_a_witness_only_worker_runs_the_baseline_compiler_only() -> None:
    tools = find_toolchain()
    assert LIFTOFF_ONLY in NodeWorker(tools, witness_only=True)._command(tools)
    assert LIFTOFF_ONLY not in NodeWorker(tools)._command(tools)


def test_the_prover_asks_for_it_only_when_snarkjs_does_not_prove_in_the_worker() -> None:
    with Prover(backend="arkworks") as fast:
        assert fast._worker is not None and fast._worker.witness_only
    with Prover(backend="snarkjs") as slow:
        assert slow._worker is not None and not slow._worker.witness_only


def test_node_starts_a_witness_only_worker() -> None:
    """node accepts the flag: the worker starts and sends its ready line."""
    with NodeWorker(witness_only=True) as worker:
        assert worker.alive

"""The warm-up of a first proof (``prover.backends.warm``): it changes only the time. The
proof after it is the one without it, and a warm-up that fails is forgotten."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.backends.native import native_available
from prover.backends.node_worker import NodeWorker
from prover.backends.prove import Prover
from prover.backends.warm import Warmup
from prover.toolchain.tools import Toolchain
from prover.verification.verify_py import verify_groth16

from .conftest import Toy, toy_input

pytestmark = pytest.mark.circuit


@pytest.mark.parametrize("backend", ["snarkjs", "arkworks"])
def test_a_warm_worker_proves_as_a_cold_one(tools: Toolchain, toy: Toy, backend: str) -> None:
    if backend == "arkworks" and not native_available():
        pytest.skip("the native prover is not built")
    worker = NodeWorker(tools)
    warm = Warmup(backend, toy.build.wasm, toy.setup.zkey, worker)
    warm.wait()
    assert worker.alive  # started, wasm compiled (and for snarkjs the zkey read)
    with Prover(tools, worker=worker, backend=backend) as prover:
        result = prover.prove(toy.build.wasm, toy.setup.zkey, toy_input())
    assert not worker.alive
    with Prover(tools, backend=backend) as cold:
        again = cold.prove(toy.build.wasm, toy.setup.zkey, toy_input())
    assert result.public_signals == again.public_signals and result.backend == again.backend
    assert verify_groth16(toy.vkey, result.public_signals, result.proof).ok


def test_a_failed_warm_up_is_forgotten(tools: Toolchain, toy: Toy, tmp_path: Path) -> None:
    broken = NodeWorker(tools, script=tmp_path / "missing.js", start_timeout=30)
    warm = Warmup("arkworks", toy.build.wasm, tmp_path / "no.zkey", broken)
    warm.wait()  # neither the worker nor the key: no exception here
    assert not broken.alive
    said: list[str] = []
    with Prover(tools, worker=broken, notify=said.append, backend="snarkjs") as prover:
        result = prover.prove(toy.build.wasm, toy.setup.zkey, toy_input())
    assert result.backend == "cli" and any("falling back" in m for m in said)  # as without it

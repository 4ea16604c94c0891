"""The rapidsnark backend: iden3's C++ Groth16 prover in a separate helper process.

rapidsnark is (L)GPL-3.0, so it is never linked into the Python process: the helper
``build/bin/zkmargin-rapidsnark`` (Go, ``native/rapidsnark/``, linking the prebuilt
static library that the go-rapidsnark ``prover`` module ships) speaks the node worker's
JSON-lines protocol. It keeps each proving key in memory once read; witnesses come from
the node worker, as for arkworks. Built by ``make setup`` when Go is installed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.paths import project_root
from prover.backends.node_worker import NodeWorker
from prover.errors import ProverError
from prover.results import ProofResult
from prover.toolchain.tools import Toolchain

BACKEND = "rapidsnark"


def helper_path() -> Path:
    return project_root() / "build" / "bin" / "zkmargin-rapidsnark"


def rapidsnark_available() -> bool:
    path = helper_path()
    return path.is_file() and os.access(path, os.X_OK)


class RapidsnarkMissing(ProverError):
    """The helper binary is not built."""


def require_rapidsnark() -> Path:
    """The helper's path, or :class:`RapidsnarkMissing` saying how to build it."""
    if not rapidsnark_available():
        raise RapidsnarkMissing(
            f"the rapidsnark helper is not built ({helper_path()}): run `make setup` with Go "
            ">= 1.22 installed (`apt install golang`), or choose --prover arkworks or snarkjs"
        )
    return helper_path()


class RapidsnarkHelper(NodeWorker):
    """The long-lived rapidsnark helper process (the node worker's plumbing, another program)."""

    def _command(self, tools: Toolchain) -> list[str]:
        return [str(require_rapidsnark())]

    def prove_wtns(self, zkey: Path, wtns: Path) -> dict[str, Any]:
        return self.call("prove", zkey=str(zkey), wtns=str(wtns))


class RapidsnarkProver:
    """Proves with rapidsnark; witnesses come from ``worker`` (a node worker)."""

    backend = BACKEND

    def __init__(self, worker: NodeWorker, helper: RapidsnarkHelper | None = None) -> None:
        require_rapidsnark()
        self.worker = worker
        self.helper = helper or RapidsnarkHelper()

    def prove(self, wasm: Path, zkey: Path, circuit_input: dict[str, Any]) -> ProofResult:
        with self.worker.witness_file(wasm, circuit_input) as (wtns, witness_seconds):
            self.helper.start()
            out = self.helper.prove_wtns(zkey, wtns)
        return ProofResult(
            proof=dict(out["proof"]),
            public_signals=[str(s) for s in out["publicSignals"]],
            witness_seconds=witness_seconds,
            prove_seconds=float(out["prove_ms"]) / 1000,
            backend=BACKEND,
        )

    def stop(self) -> None:
        self.helper.stop()
        self.worker.stop()

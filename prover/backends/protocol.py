"""What proves a circuit input: the one interface every backend offers its callers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from prover.results import ProofResult


class ProvesCircuits(Protocol):
    """What proves a circuit input: ``prover.backends.prove.Prover`` or a ``NodeWorker``."""

    def prove(self, wasm: Path, zkey: Path, circuit_input: dict[str, Any]) -> ProofResult: ...

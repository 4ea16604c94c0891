"""Result records shared by the worker and the snarkjs CLI back ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProofResult:
    """A Groth16 proof as snarkjs writes it, with the public signals and timings."""

    proof: dict[str, Any]
    public_signals: list[str]
    witness_seconds: float
    prove_seconds: float
    backend: str  # "worker" or "cli"

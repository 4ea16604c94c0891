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
    #: The backend checked the proof against its proving key's verification key (arkworks
    #: does, in a few milliseconds): the py_ecc check of a new proof is then not repeated.
    key_verified: bool = False

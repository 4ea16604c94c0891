"""The check of a proof just made, before anything is written or sent: the one rule for
every statement. A backend that checked the proof against its proving key's verification
key already (arkworks: ``ProofResult.key_verified``) is trusted for it; any other proof is
verified with the pure-Python verifier against the artifacts' verification key.

``zkmargin verify``, the audit and the gate never take this shortcut: they check a proof
they did not make, against the verification key they were given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prover.errors import ProverError

if TYPE_CHECKING:
    from prover.keys.artifacts import CircuitArtifacts
    from prover.results import ProofResult


def check_new_proof(result: ProofResult, artifacts: CircuitArtifacts, what: str = "proof") -> None:
    """Raise :class:`ProverError` unless ``result``'s proof verifies."""
    if result.key_verified:
        return
    from prover.verification.verify_py import verify_groth16  # py_ecc: only when needed

    verdict = verify_groth16(artifacts.vkey_json(), result.public_signals, result.proof)
    if not verdict.ok:
        raise ProverError(f"the new {what} does not verify: {verdict.reason}")

"""Prove one account's margin status: engine -> circuit input -> Groth16 proof -> bundle.

The engine's own numbers are computed first; the proof's public signals must
equal them (status, shortfall, commitment, market root, params hash), and the
proof is checked with the pure-Python verifier before a bundle is returned. A
disagreement between engine and circuit is an error, never a silent bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.margin import MarginResult, compute_margin
from engine.model import Account, Market, RiskParams
from prover.artifacts import CircuitArtifacts
from prover.bundle import PUBLIC_SIGNAL_NAMES, ProofBundle
from prover.errors import ProverError
from prover.prove import Prover
from prover.results import ProofResult
from prover.verify_py import verify_groth16
from prover.witness_input import build_input, public_signals


@dataclass(frozen=True)
class AccountProof:
    """A bundle plus what produced it (timings, backend, the engine's result)."""

    bundle: ProofBundle
    proof: ProofResult
    margin: MarginResult


def prove_account(
    market: Market, params: RiskParams, account: Account, artifacts: CircuitArtifacts, prover: Prover
) -> AccountProof:
    """Prove ``account``'s status on ``market`` with ``artifacts`` (which must match the market's profile)."""
    profile = market.profile
    if tuple(artifacts.spec.args) != (profile.assets, profile.slots, profile.depth):
        raise ProverError(
            f"circuit {artifacts.spec.label} does not match the market's profile {profile.name}"
        )
    circuit_input = build_input(market, params, account)  # validates every bound first
    margin = compute_margin(market, params, account)
    result = prover.prove(artifacts.wasm, artifacts.zkey, circuit_input)
    expected = [str(x) for x in public_signals(market, params, account, margin.status, margin.shortfall)]
    if result.public_signals != expected:
        diffs = [
            f"{name}: circuit {got} != engine {want}"
            for name, got, want in zip(PUBLIC_SIGNAL_NAMES, result.public_signals, expected, strict=True)
            if got != want
        ]
        raise ProverError("circuit and engine disagree: " + "; ".join(diffs))
    check = verify_groth16(artifacts.vkey_json(), result.public_signals, result.proof)
    if not check.ok:
        raise ProverError(f"the new proof does not verify: {check.reason}")
    bundle = ProofBundle(
        profile=profile.name,
        proof=result.proof,
        public_signals=result.public_signals,
        vkey_sha256=artifacts.vkey_sha256,
        market_epoch=market.epoch,
    )
    return AccountProof(bundle=bundle, proof=result, margin=margin)

"""Prove one account's margin status: engine -> circuit input -> Groth16 proof -> bundle.

The one place that joins witness input, proving and the bundle of the offline statement
(used by ``zkmargin prove`` without ``--batch``, the audit tests and the benches; nothing
on chain takes it: docs/prover.md, "One statement on chain, one offline"). The engine's own
numbers are computed first; the proof's public signals must equal them (status,
shortfall, commitment, market root, params hash), and, unless the caller opts
out, the proof is checked with the pure-Python verifier before a bundle is
returned. A disagreement between engine and circuit is an error, never a silent
bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.commitments import MarketCommitments
from engine.margin import MarginResult, compute_margin
from engine.model import Account, Market, RiskParams
from prover.backends.protocol import ProvesCircuits
from prover.errors import ProofMismatch, ProverError
from prover.keys.artifacts import CircuitArtifacts
from prover.offline.bundle import PUBLIC_SIGNAL_NAMES, ProofBundle
from prover.offline.witness_input import build_input
from prover.results import ProofResult
from prover.verification.new_proof import check_new_proof


@dataclass(frozen=True)
class AccountProof:
    """A bundle plus what produced it (timings, backend, the engine's result)."""

    bundle: ProofBundle
    proof: ProofResult
    margin: MarginResult


def expected_signals(
    margin: MarginResult, account: Account, params: RiskParams, commitments: MarketCommitments
) -> list[str]:
    """``[status, shortfall, commitment, market_root, params_hash]`` as the engine computes them."""
    from engine.commitments import commitment, params_hash

    values = [
        margin.status,
        margin.shortfall,
        commitment(account),
        commitments.market_root,
        params_hash(params),
    ]
    return [str(v) for v in values]


def check_signals(expected: list[str], got: list[str]) -> None:
    """Raise ``ProofMismatch`` naming every public signal that differs."""
    if got == expected:
        return
    diffs = [
        f"{name}: circuit {g} != engine {e}"
        for name, g, e in zip(PUBLIC_SIGNAL_NAMES, got, expected, strict=True)
        if g != e
    ]
    raise ProofMismatch("circuit and engine disagree: " + "; ".join(diffs))


def prove_account(
    market: Market,
    params: RiskParams,
    account: Account,
    artifacts: CircuitArtifacts,
    prover: ProvesCircuits,
    *,
    commitments: MarketCommitments | None = None,
    self_check: bool = True,
) -> AccountProof:
    """Prove ``account``'s status on ``market`` with ``artifacts`` (which must match the
    market's profile). ``commitments`` may be shared by many accounts of one market;
    ``self_check=False`` skips the check of the new proof (for callers that
    verify it elsewhere, e.g. on chain)."""
    profile = market.profile
    if tuple(artifacts.spec.args) != (profile.assets, profile.slots, profile.depth):
        raise ProverError(
            f"circuit {artifacts.spec.label} does not match the market's profile {profile.name}"
        )
    mc = commitments if commitments is not None else MarketCommitments(market)
    circuit_input = build_input(market, params, account, mc)  # validates every bound first
    margin = compute_margin(market, params, account)
    result = prover.prove(artifacts.wasm, artifacts.zkey, circuit_input)
    check_signals(expected_signals(margin, account, params, mc), result.public_signals)
    if self_check:
        check_new_proof(result, artifacts)
    bundle = ProofBundle(
        profile=profile.name,
        proof=result.proof,
        public_signals=result.public_signals,
        vkey_sha256=artifacts.vkey_sha256,
        market_epoch=market.epoch,
    )
    return AccountProof(bundle=bundle, proof=result, margin=margin)

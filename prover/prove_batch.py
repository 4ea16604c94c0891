"""Prove a batch: 1..K accounts of the accounts tree in one ``MarginBatch`` proof
(docs/margin-model.md section 6b).

As for one account (``prover.prove_account``), the engine's own entries are computed
first and the proof's public signals must equal them; unless the caller opts out the
new proof is checked with the pure-Python verifier. The accounts are proved in
strictly increasing id order; the caller's order does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry, batch_public_signals, unpack_words
from engine.commitments import MarketCommitments, params_hash
from engine.model import Account, Market, RiskParams
from prover.artifacts import CircuitArtifacts
from prover.errors import ProverError
from prover.prove_account import ProofMismatch, ProvesCircuits
from prover.results import ProofResult
from prover.verify_py import verify_groth16
from prover.witness_input import build_batch_input


@dataclass(frozen=True)
class BatchProof:
    """One batch proof: its entries (in id order), the proof and its public signals."""

    profile: str
    batch_size: int  # K of the circuit
    entries: tuple[BatchEntry, ...]
    proof: ProofResult
    accounts_root: int
    market_epoch: int
    vkey_sha256: str

    @property
    def public_signals(self) -> list[str]:
        return self.proof.public_signals


def prove_batch(
    market: Market,
    params: RiskParams,
    accounts: Sequence[Account],
    tree: AccountsTree,
    artifacts: CircuitArtifacts,
    prover: ProvesCircuits,
    *,
    commitments: MarketCommitments | None = None,
    self_check: bool = True,
) -> BatchProof:
    """Prove the margin status of ``accounts`` (1..K of ``tree``) on ``market`` with the
    batch circuit ``artifacts`` (of the market's profile; its K may differ from the
    profile's, as in the gas benchmark)."""
    profile = market.profile
    size = artifacts.spec.args[3] if len(artifacts.spec.args) == 5 else -1
    want = (profile.assets, profile.slots, profile.depth, size, profile.accounts_depth)
    if artifacts.spec.template != "MarginBatch" or tuple(artifacts.spec.args) != want:
        raise ProverError(
            f"circuit {artifacts.spec.label} is not a batch circuit of the profile {profile.name}"
        )
    ordered = sorted(accounts, key=lambda a: a.account_id)
    mc = (
        commitments if commitments is not None and commitments.market is market else MarketCommitments(market)
    )
    circuit_input = build_batch_input(market, params, ordered, tree, mc, size=size)  # validates first
    # the engine's entries, as build_batch_input computed and packed them
    entries = unpack_words([int(v) for v in circuit_input["words"]], len(ordered), size)
    expected = batch_public_signals(tree.root, mc.market_root, params_hash(params), entries, size)
    result = prover.prove(artifacts.wasm, artifacts.zkey, circuit_input)
    if result.public_signals != [str(v) for v in expected]:
        raise ProofMismatch("circuit and engine disagree on the batch's public signals")
    if self_check:
        verdict = verify_groth16(artifacts.vkey_json(), result.public_signals, result.proof)
        if not verdict.ok:
            raise ProverError(f"the new batch proof does not verify: {verdict.reason}")
    return BatchProof(
        profile=profile.name,
        batch_size=size,
        entries=tuple(entries),
        proof=result,
        accounts_root=tree.root,
        market_epoch=market.epoch,
        vkey_sha256=artifacts.vkey_sha256,
    )

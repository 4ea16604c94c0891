"""Prove a batch: 1..K accounts of the accounts tree in one ``MarginBatch`` proof
(docs/margin-model.md section 6b).

The engine's own entries are computed first (once: the circuit input packs them and the
expected public signals are made of them) and the proof's public signals must equal
them; unless the caller opts out the new proof is checked with the pure-Python verifier. The accounts are proved in
strictly increasing id order; the caller's order does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry, batch_entries, batch_public_signals
from engine.commitments import MarketCommitments, params_hash
from engine.model import Account, Market, RiskParams
from prover.backends.protocol import ProvesCircuits
from prover.errors import ProofMismatch, ProverError
from prover.keys.artifacts import CircuitArtifacts
from prover.results import ProofResult
from prover.statements.witness_input import build_batch_input
from prover.verification.new_proof import check_new_proof


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


@dataclass(frozen=True)
class BatchWork:
    """A batch made ready to prove: the circuit input and what its proof must say.

    The split lets the input be built where the accounts are (the keeper's head) and the
    proof made elsewhere (a prover worker, ``prover.backends.remote``) from the input alone."""

    profile: str
    batch_size: int
    entries: tuple[BatchEntry, ...]
    circuit_input: dict[str, Any]
    expected_signals: tuple[str, ...]
    accounts_root: int
    market_epoch: int


def prepare_batch(
    market: Market,
    params: RiskParams,
    accounts: Sequence[Account],
    tree: AccountsTree,
    artifacts: CircuitArtifacts,
    *,
    commitments: MarketCommitments | None = None,
    entries: Sequence[BatchEntry] | None = None,
) -> BatchWork:
    """Check and build the input of ``accounts`` (1..K of ``tree``) on ``market`` for the
    batch circuit ``artifacts`` (of the market's profile; its K may differ from the
    profile's, as in the gas benchmark), with the engine's entries and public signals.

    ``entries`` are the engine's entries of ``accounts`` in id order when the caller has
    them already (``engine.batch_statement.batch_entries``, or the keeper's from
    ``engine.margin_batch``); else they are computed here, once. Either way the proof's
    public signals must equal the signals made of them."""
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
    if entries is None:
        entries = batch_entries(market, params, ordered)  # the engine's, once
    circuit_input = build_batch_input(
        market, params, ordered, tree, mc, entries=entries, size=size
    )  # checks the batch, the tree and every bound before encoding
    expected = batch_public_signals(tree.root, mc.market_root, params_hash(params), entries, size)
    return BatchWork(
        profile=profile.name,
        batch_size=size,
        entries=tuple(entries),
        circuit_input=circuit_input,
        expected_signals=tuple(str(v) for v in expected),
        accounts_root=tree.root,
        market_epoch=market.epoch,
    )


def finish_batch(
    work: BatchWork, result: ProofResult, artifacts: CircuitArtifacts, *, self_check: bool = True
) -> BatchProof:
    """The batch proof of ``work`` from a prover's ``result``: its public signals must be
    the engine's (else :class:`ProofMismatch`); with ``self_check`` the proof is checked
    (``prover.verification.new_proof``)."""
    if result.public_signals != list(work.expected_signals):
        raise ProofMismatch("circuit and engine disagree on the batch's public signals")
    if self_check:
        check_new_proof(result, artifacts, "batch proof")
    return BatchProof(
        profile=work.profile,
        batch_size=work.batch_size,
        entries=work.entries,
        proof=result,
        accounts_root=work.accounts_root,
        market_epoch=work.market_epoch,
        vkey_sha256=artifacts.vkey_sha256,
    )


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
    batch circuit ``artifacts``: :func:`prepare_batch`, the proof, :func:`finish_batch`."""
    work = prepare_batch(market, params, accounts, tree, artifacts, commitments=commitments)
    result = prover.prove(artifacts.wasm, artifacts.zkey, work.circuit_input)
    return finish_batch(work, result, artifacts, self_check=self_check)

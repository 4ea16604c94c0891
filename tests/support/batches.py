"""Batched liquidations in one process, without the job log (docs/operator.md, "Batched
liquidations without the job log"): post the accounts root of an epoch, then prove and
settle the liquidatable accounts K at a time.

The engine margins every account; ``engine.batching`` puts those of status 2 or 3 into
batches, insolvent first and then by shortfall, largest first; each batch is proved in
one ``MarginBatch`` proof (``prover.statements.prove_batch``) and sent to ``liquidateBatch``. The gate
skips an entry whose case is already open instead of reverting, so a re-run after a
partial failure settles what is left and re-opens nothing.

The crash-safe keeper (``zkmargin.keeper.keeper``) does the same with a durable job log,
one job per batch; this test support serves the tests that need the batch path
of one snapshot without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry, batch_entries
from engine.batching import liquidation_batches
from engine.commitments import MarketCommitments
from engine.fileio import write_json_atomic
from engine.formats import dump_accounts_tree
from engine.model import Account, Market, RiskParams
from prover.backends.protocol import ProvesCircuits
from prover.keys.artifacts import CircuitArtifacts
from prover.statements.prove_batch import BatchProof, prove_batch
from verifier_contracts.batch_gate import BatchGate, batch_calldata, opened_ids, skipped_ids
from verifier_contracts.gate import TxResult


@dataclass(frozen=True)
class SettledBatch:
    """One batch: its entries, its proof, the transaction and what the gate did."""

    entries: tuple[BatchEntry, ...]
    proof: BatchProof
    tx: TxResult
    opened: tuple[int, ...]
    skipped: tuple[int, ...]
    prove_seconds: float

    @property
    def gas_per_account(self) -> float:
        return self.tx.gas_used / len(self.entries)


@dataclass
class Settlement:
    """Every batch of one run, in the order they were settled."""

    accounts_root: int
    accounts_epoch: int
    post_gas: int | None
    batches: list[SettledBatch] = field(default_factory=list)

    @property
    def opened(self) -> list[int]:
        return [i for b in self.batches for i in b.opened]

    @property
    def gas(self) -> int:
        return sum(b.tx.gas_used for b in self.batches)

    @property
    def accounts(self) -> int:
        return sum(len(b.entries) for b in self.batches)


def post_accounts_if_new(gate: BatchGate, tree: AccountsTree) -> tuple[int, int | None]:
    """Post ``tree``'s root as the next accounts epoch unless it is already the latest;
    return the epoch and the gas of the post (None when nothing was sent)."""
    root, epoch = gate.accounts_root()
    if root == tree.root:
        return epoch, None
    tx = gate.post_accounts(tree.root, epoch + 1)
    return epoch + 1, tx.gas_used


def settle_liquidations(
    gate: BatchGate,
    market: Market,
    params: RiskParams,
    accounts: Sequence[Account],
    artifacts: CircuitArtifacts,
    prover: ProvesCircuits,
    *,
    tree: AccountsTree | None = None,
    publish: Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> Settlement:
    """Post the accounts root (if new) and liquidate every account of status 2 or 3 in
    batches of the gate's K, by priority. ``tree`` defaults to the tree of ``accounts``;
    with ``publish`` the tree's leaves are written there (``zkmargin/accounts-tree@1``,
    atomically) before the root is posted, for anyone to rebuild the root from."""
    size = gate.batch_size()
    tree = tree or AccountsTree.of_accounts(accounts, depth=market.profile.accounts_depth)
    if publish is not None:
        write_json_atomic(publish, dump_accounts_tree(tree))
    epoch, post_gas = post_accounts_if_new(gate, tree)
    settlement = Settlement(tree.root, epoch, post_gas)
    by_id = {a.account_id: a for a in accounts}
    mc = MarketCommitments(market)
    plan = liquidation_batches(batch_entries(market, params, accounts), size)
    for n, planned in enumerate(plan, 1):
        started = time.perf_counter()
        members = [by_id[e.account_id] for e in planned]
        proof = prove_batch(
            market, params, members, tree, artifacts, prover, commitments=mc, self_check=False
        )
        seconds = time.perf_counter() - started
        tx = gate.liquidate_batch(batch_calldata(proof.proof.proof, proof.public_signals))
        opened, skipped = tuple(opened_ids(tx)), tuple(skipped_ids(tx))
        settlement.batches.append(SettledBatch(proof.entries, proof, tx, opened, skipped, seconds))
        if notify:
            notify(
                f"batch {n}/{len(plan)}: {len(planned)} account(s), {len(opened)} case(s) opened, "
                f"{tx.gas_used:,} gas ({tx.gas_used // len(planned):,} per account), proved in {seconds:.1f} s"
            )
    return settlement

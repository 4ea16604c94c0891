"""Steps 2 and 3 of the keeper: a snapshot's market root and the accounts root on the gate.

Each post is recorded in the job log before it is broadcast and followed to its receipt,
with fee replacements (:mod:`zkmargin.keeper.transactions`); after a crash the recorded
transaction and the gate's latest epoch and root say whether it landed. The snapshot's
state is the keeper's to change (:meth:`zkmargin.keeper.keeper.Keeper.process`): this module
only says whether the market is the gate's latest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from engine.fileio import write_json_atomic
from engine.formats import dump_accounts_tree
from verifier_contracts.batch_gate import BatchGate
from verifier_contracts.chain import Roles
from verifier_contracts.gate import GateRevert
from zkmargin.keeper.errors import KeeperError, SnapshotFailed, short
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.snapshot_build import Prepared
from zkmargin.keeper.transactions import DurableTxs, FeePolicy, TxError
from zkmargin.keeper.tx_store import SignedTx

logger = logging.getLogger("zkmargin.keeper.operator")

GAS_HEADROOM = 1.25  # gas limit = estimate x this, for postMarket / postAccounts


def missing_market(gate: BatchGate, market_root: int, epoch: int) -> str | None:
    """None when the gate holds ``market_root`` under ``epoch`` (its ``rootEpoch``), else
    what it holds instead: a reorganisation or a reset removed the post."""
    held = int(gate.contract.functions.rootEpoch(market_root).call())
    if held == epoch:
        return None
    latest = gate.latest_market()
    return (
        f"the gate no longer holds the market root {short(market_root)} of epoch {epoch} "
        f"(it is at market epoch {latest.epoch})"
    )


def missing_posts(gate: BatchGate, p: Prepared) -> str | None:
    """None when the gate still holds what a snapshot in progress was posted and proven
    against (its market root under its epoch; its accounts root as the latest), else what
    it lacks (a reorganisation removed a post)."""
    missing = missing_market(gate, p.commitments.market_root, p.epoch)
    if missing is not None:
        return missing
    if p.accounts_epoch:  # once the accounts root was made the gate's (step 3)
        root, epoch = gate.accounts_root()
        if root != p.tree.root:
            return (
                f"the gate's accounts root is {short(root)} (accounts epoch {epoch}), not "
                f"{short(p.tree.root)} posted as accounts epoch {p.accounts_epoch}"
            )
    return None


class Posting:
    """Posts of the oracle (market roots) and of the operator (the accounts root)."""

    def __init__(self, log: JobLog, gate: BatchGate, roles: Roles, txs: DurableTxs, fees: FeePolicy) -> None:
        self.log = log
        self.gate = gate
        self.roles = roles
        self.txs = txs
        self.fees = fees

    # ------------------------------------------------------------ the market

    def market_is_latest(self, p: Prepared) -> bool:
        """True when the gate's latest market is this snapshot's; False while the gate is at
        an older epoch; a newer or different one supersedes the snapshot (it fails)."""
        latest = self.gate.latest_market()
        if latest.epoch == p.epoch and latest.root == p.commitments.market_root:
            return True
        if latest.epoch >= p.epoch:
            raise SnapshotFailed(
                f"superseded: the gate is at epoch {latest.epoch} (root {short(latest.root)}); "
                f"this snapshot's epoch {p.epoch} can no longer be proven against"
            )
        return False

    def post_market(self, p: Prepared, record: Callable[[SignedTx], None]) -> Mapping[str, Any] | None:
        """Make the snapshot's market root the gate's latest: follow the recorded postMarket
        (and its fee replacements) if it can still be mined, else post it afresh (each attempt
        given to ``record`` before it is sent). The receipt once the root is the latest."""
        if p.record.post_tx is not None:
            receipt = self._follow_post(p.record.post_tx, record)
            if receipt is not None and self._landed(p, receipt):
                return receipt
        root, epoch = p.commitments.market_root, p.epoch
        fn = self.gate.contract.functions.postMarket(root, epoch)
        oracle = self.roles.oracle
        try:
            gas = self.txs.simulate(fn, oracle)
        except GateRevert as exc:
            raise SnapshotFailed(f"postMarket would revert: {exc}") from None
        logger.info("%s: posting market root %s", p.label, short(root))
        _, receipt = self.txs.send_until_mined(
            fn, oracle, int(gas * GAS_HEADROOM), f"postMarket epoch {epoch}", self.fees, record
        )
        return receipt if self._landed(p, receipt) else None

    def _landed(self, p: Prepared, receipt: Mapping[str, Any]) -> bool:
        if receipt["status"] != 1:
            raise SnapshotFailed(f"postMarket reverted: {self.txs.failure_reason(receipt, 'postMarket')}")
        return self.market_is_latest(p)

    def _follow_post(self, tx_hash: str, record: Callable[[SignedTx], None]) -> Mapping[str, Any] | None:
        """Follow a recorded postMarket transaction and its fee replacements (after a
        restart): its receipt, or None when none of them can be mined any more (the node
        lost them and their nonce went elsewhere: post afresh)."""
        newest = self.log.txs.get(tx_hash)
        if newest is None:
            return None
        family = self.log.txs.same_nonce(newest)
        try:
            _, receipt = self.txs.follow(family, self.fees, record)
        except TxError:
            return None  # its nonce went to another transaction: post afresh
        return receipt

    # ------------------------------------------------------------ the accounts root

    def ensure_accounts(self, p: Prepared, tree_path: Path) -> int:
        """Post the accounts tree's root unless it is the gate's latest (the tree written to
        ``tree_path`` first: published); 1 if it was posted now. Sets ``p.accounts_epoch``."""
        operator = self.roles.operator
        self.finish_in_flight(operator)  # a post still in flight must land before we compare
        root, epoch = self.gate.accounts_root()
        posted = 0
        if root != p.tree.root:
            write_json_atomic(tree_path, dump_accounts_tree(p.tree))  # published first
            fn = self.gate.contract.functions.postAccounts(p.tree.root, epoch + 1)
            try:
                gas = self.txs.simulate(fn, operator)
            except GateRevert as exc:
                raise KeeperError(f"postAccounts would revert: {exc}") from None
            _, receipt = self.txs.send_until_mined(
                fn,
                operator,
                int(gas * GAS_HEADROOM),
                f"postAccounts epoch {epoch + 1}",
                self.fees,
                self.log.txs.record,
            )
            if receipt["status"] != 1:
                raise KeeperError(
                    f"postAccounts reverted: {self.txs.failure_reason(receipt, 'postAccounts')}"
                )
            root, epoch = self.gate.accounts_root()
            posted = 1
            logger.info(
                "%s: accounts root %s posted as accounts epoch %d (%d accounts; tree written to %s)",
                p.label,
                short(root),
                epoch,
                len(p.accounts),
                tree_path,
            )
        if root != p.tree.root:
            raise KeeperError(
                f"the gate's accounts root {short(root)} is not the accounts file's {short(p.tree.root)}"
            )
        p.accounts_epoch = epoch
        return posted

    def finish_in_flight(self, sender: str) -> None:
        """Transactions of ``sender`` recorded in the log and not yet mined (a run stopped
        while they waited, say for fees to fall) are followed to the end, with fee
        replacements, before anything new is sent from that account."""
        if not self.txs.in_flight(sender):
            return
        mined = self.txs.w3.eth.get_transaction_count(sender)  # type: ignore[arg-type]
        waiting = [t for t in self.log.txs.all() if t.sender == sender and t.nonce >= mined]
        for nonce in sorted({t.nonce for t in waiting}):
            family = [t for t in waiting if t.nonce == nonce]
            logger.info("%s still in flight from an earlier run: following it", family[-1].purpose)
            try:
                self.txs.follow(family, self.fees, self.log.txs.record)
            except TxError as exc:
                logger.warning("%s", exc)
        self.txs.wait_idle(sender)  # anything else in flight (not the keeper's) lands as it will

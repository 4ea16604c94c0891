"""Steps 5 and 6 of the keeper: each proven batch job's liquidation, from submission to finality.

* **submit** a ``proved`` job: its proof must be against the gate's latest market root
  (else it is proven again); simulate, sign, record hash and bytes, move the job to
  ``submitted``, then broadcast (a transaction the log does not own is never sent);
* **settle** a ``submitted`` job by whichever of its transactions (the first and every fee
  replacement, one nonce) was mined: a receipt of ``liquidateBatch`` confirms the job with
  what became of each account (a case opened, or one already open or closed at these
  epochs, skipped by the gate); a revert fails it with the gate's custom error decoded;
* **rebroadcast** a transaction the node does not know (a crash between recording and
  broadcasting, a dropped or reorganised one), or sign anew when its nonce went elsewhere;
* **replace** one that waited too long or was refused for its fee: same nonce, higher fees,
  up to the cap;
* **finality**: a confirmed job is final once its block has ``confirmations``; a vanished
  receipt (a reorg) puts it back to ``submitted``;
* **market moved**: refused because the market went stale, or mined and reverted for the old
  root after a re-post: back to ``pending``, proven against the fresh market (with no
  re-post left, failed as retryable);
* **chain moved**: a receipt that vanished, a liquidation to be sent again, or one refused
  or reverted for the roots it was proven against, while the gate no longer holds the
  snapshot's posts (:func:`zkmargin.keeper.posting.missing_posts`): nothing is sent, and
  ``chain_moved`` tells the keeper to post them again first; one mined and reverted for
  those roots goes back to ``pending``.

Every move of a job is an edge of :data:`zkmargin.keeper.states.JOB_TRANSITIONS`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from web3.contract.contract import ContractFunction
from web3.logs import DISCARD

from verifier_contracts.batch_gate import BatchGate, batch_calldata, batch_gas_limit
from verifier_contracts.chain import Roles
from verifier_contracts.gate import GateRevert
from zkmargin.keeper.errors import short
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.job_store import Job
from zkmargin.keeper.pool import ProverPool
from zkmargin.keeper.posting import missing_posts
from zkmargin.keeper.snapshot_build import Prepared
from zkmargin.keeper.transactions import DurableTxs, FeePolicy
from zkmargin.keeper.tx_store import SignedTx

logger = logging.getLogger("zkmargin.keeper.operator")

#: What became of an account of a confirmed batch (``Job.outcome``).
OPENED, ALREADY_OPEN, CLOSED_AT_EPOCH = "opened", "open", "closed"
#: The gate's errors for a proof whose roots are not (or no longer) the gate's.
ROOT_ERRORS = ("WrongMarketRoot(", "WrongAccountsRoot(", "NoAccounts(", "NoMarket(")


class Liquidations:
    """The liquidation transactions of a keeper's batch jobs."""

    def __init__(
        self,
        log: JobLog,
        gate: BatchGate,
        roles: Roles,
        pool: ProverPool,
        txs: DurableTxs,
        *,
        fees: FeePolicy,
        confirmations: int,
        max_reposts: int,
        reposts: Counter[str],
    ) -> None:
        self.log = log
        self.gate = gate
        self.roles = roles
        self.pool = pool
        self.txs = txs
        self.fees = fees
        self.confirmations = confirmations
        self.max_reposts = max_reposts
        self.reposts = reposts  # the keeper's re-posts per snapshot in this run
        self.stale_seen = False  # the gate refused a liquidation with StaleMarket
        #: the gate may have lost the snapshot's posts (a receipt vanished, a liquidation was
        #: held back for them): the keeper checks them, and posts them again, before going on
        self.chain_moved = False

    def hold_back(self, p: Prepared, job: Job, what: str) -> bool:
        """True (and ``chain_moved`` set) when the gate lacks the snapshot's posts: ``what``
        (a liquidation of ``job``) must wait until the keeper has posted them again."""
        missing = missing_posts(self.gate, p)
        if missing is None:
            return False
        self.chain_moved = True
        logger.warning("%s: %s held back: %s", job.label, what, missing)
        return True

    def _prove_again(self, p: Prepared) -> None:
        self.pool.enqueue(p.task(), self.log.jobs.select(p.record.snapshot_id, state="pending"))

    def _liquidate_fn(self, job: Job) -> ContractFunction:
        proof = job.proof
        call = batch_calldata(proof.proof, proof.public_signals)
        return self.gate.contract.functions.liquidateBatch(call.proof, call.roots, call.entries)

    def _gas_limit(self) -> int:
        return batch_gas_limit(self.gate.batch_size())

    # ------------------------------------------------------------ submit

    def submit(self, p: Prepared, job: Job, *, expect: str = "proved") -> None:
        """Send a proven job's liquidation (``expect``: the state the job is in)."""
        proof = job.proof
        if proof.market_root != p.commitments.market_root:
            reason = f"proven against epoch {proof.market_epoch}, the market is now epoch {p.epoch}"
            if self.log.jobs.requeue(job, reason, expect=expect):
                self._prove_again(p)
            return
        fn = self._liquidate_fn(job)
        liquidator = self.roles.liquidator
        try:
            self.txs.simulate(fn, liquidator, self._gas_limit())
        except GateRevert as exc:
            if self.market_moved(p, job, str(exc), expect=expect):
                return
            if any(e in str(exc) for e in ROOT_ERRORS) and self.hold_back(p, job, "liquidation"):
                return  # sent once the posts are back
            self.log.jobs.transition(job, "failed", expect=expect, reason=str(exc))
            logger.error("%s: liquidation refused: %s", job.label, exc)
            return
        signed = self.txs.sign(
            fn,
            liquidator,
            self._gas_limit(),
            f"liquidateBatch {job.batch} epoch {p.epoch}",
            max_fee_wei=self.fees.max_fee_wei,
        )
        self.log.txs.record(signed)
        if not self.log.jobs.transition(job, "submitted", expect=expect, tx_hash=signed.tx_hash):
            return  # moved by someone else: never broadcast a transaction the log does not own
        if self.txs.broadcast(signed):
            logger.info("%s: liquidation submitted (tx %s)", job.label, short(signed.tx_hash))
        else:
            logger.warning("%s: liquidation refused by the node for its fee: replacing it", job.label)
            self._replace(p, job, signed)

    # ------------------------------------------------------------ settle

    def settle(self, p: Prepared, job: Job) -> None:
        """A ``submitted`` job: settled by whichever of its transactions (the first and every
        fee replacement, one nonce) was mined; else re-sent, or replaced when it waited too
        long or the node refused its fee."""
        assert job.tx_hash is not None
        newest = self.log.txs.get(job.tx_hash)
        family = self.log.txs.same_nonce(newest) if newest is not None else []
        for tx_hash in reversed([tx.tx_hash for tx in family] or [job.tx_hash]):
            receipt = self.txs.receipt(tx_hash)
            if receipt is not None:
                self._settle_mined(p, job, tx_hash, receipt)
                return
        if newest is None:
            return
        if not any(self.txs.known(tx.tx_hash) for tx in family):
            self._rebroadcast(p, job, newest)
        elif time.time() - newest.created_at > self.fees.replace_after:
            self._replace(p, job, newest)

    def _settle_mined(self, p: Prepared, job: Job, tx_hash: str, receipt: Mapping[str, Any]) -> None:
        if receipt["status"] != 1:
            reason = self.txs.failure_reason(receipt, "liquidateBatch")
            if self.market_moved(p, job, reason, expect="submitted", mined=True):
                return
            self.log.jobs.transition(job, "failed", reason=reason)
            logger.error("%s: liquidation reverted: %s", job.label, reason)
            return
        events = self.gate.contract.events
        accepted = events.BatchAccepted().process_receipt(receipt, errors=DISCARD)
        if not accepted:
            self.log.jobs.transition(job, "failed", reason=f"tx {tx_hash} mined without BatchAccepted")
            return
        outcome: dict[int, str] = {}
        for e in events.LiquidationsOpened().process_receipt(receipt, errors=DISCARD):
            outcome.update((int(i), OPENED) for i in e["args"]["ids"])
        for e in events.LiquidationSkipped().process_receipt(receipt, errors=DISCARD):
            outcome[int(e["args"]["id"])] = ALREADY_OPEN if int(e["args"]["reason"]) == 1 else CLOSED_AT_EPOCH
        missing = [i for i in job.account_ids if i not in outcome]
        if missing:
            self.log.jobs.transition(
                job, "failed", reason=f"tx {tx_hash} mined without a case for account {missing[0]}"
            )
            return
        self.log.jobs.transition(job, "confirmed", tx_hash=tx_hash, outcome=outcome)
        opened = sum(1 for v in outcome.values() if v == OPENED)
        logger.info(
            "%s: liquidation confirmed in block %d (%d case(s) opened, %d skipped)",
            job.label,
            receipt["blockNumber"],
            opened,
            len(outcome) - opened,
        )
        if self.confirmations <= 1:
            self.log.jobs.mark_final(job)

    def _rebroadcast(self, p: Prepared, job: Job, newest: SignedTx) -> None:
        """A ``submitted`` job none of whose transactions the node knows (the crash came
        between recording and broadcasting, the node dropped it, a reorg removed it, or it
        was refused for its fee)."""
        if all(self.gate.status_of(i).liquidation_open for i in job.account_ids):
            # every case opened while this snapshot ran (jobs exist only for closed cases)
            self.log.jobs.transition(
                job,
                "confirmed",
                reason=f"cases already open on chain; tx {job.tx_hash} not found",
                outcome=dict.fromkeys(job.account_ids, ALREADY_OPEN),
            )
            logger.warning("%s: liquidations already open on chain (not by tx %s)", job.label, job.tx_hash)
            if self.confirmations <= 1:
                self.log.jobs.mark_final(job)
            return
        if self.hold_back(p, job, f"re-sending tx {short(newest.tx_hash)}"):
            return  # never sent against a gate that lost the roots it was proven against
        if self.txs.w3.eth.get_transaction_count(newest.sender) > newest.nonce:  # type: ignore[arg-type]
            logger.warning(
                "%s: tx %s is gone, its nonce used: signing a new one", job.label, short(newest.tx_hash)
            )
            self.submit(p, job, expect="submitted")
            return
        if self.txs.broadcast(newest):
            logger.info("%s: re-sent recorded tx %s", job.label, short(newest.tx_hash))
        else:
            self._replace(p, job, newest)

    def _replace(self, p: Prepared, job: Job, last: SignedTx) -> None:
        """Sign the liquidation again with the same nonce and higher fees (recorded before it
        is sent); at the fee cap, wait for fees to fall."""
        fees = self.fees.next_fees(self.txs.fees_of(last), self.txs.pending_base_fee())
        if fees is None:
            logger.warning(
                "%s: liquidation waits: the fee cap (%d gwei) is reached",
                job.label,
                self.fees.max_fee_wei // 10**9,
            )
            return
        signed = self.txs.resign(
            last, fees, f"liquidateBatch {job.batch} epoch {p.epoch} (fee {fees[0] / 10**9:.3g} gwei)"
        )
        self.log.txs.record(signed)
        if not self.log.jobs.transition(job, "submitted", expect="submitted", tx_hash=signed.tx_hash):
            return
        sent = self.txs.broadcast(signed)
        logger.info(
            "%s: replacement tx %s at %.3g gwei %s",
            job.label,
            short(signed.tx_hash),
            fees[0] / 10**9,
            "sent" if sent else "refused for its fee too",
        )

    # ------------------------------------------------------------ finality

    def check_finality(self, job: Job) -> None:
        """A confirmed job: final once its block is ``confirmations`` deep; back to
        ``submitted`` (settled again, its recorded transaction re-sent) if the receipt is gone."""
        assert job.tx_hash is not None
        receipt = self.txs.receipt(job.tx_hash)
        if receipt is None:
            logger.warning(
                "%s: liquidation tx %s is no longer in a block (a reorg): settling it again",
                job.label,
                short(job.tx_hash),
            )
            self.log.jobs.reopen(job, reason=f"receipt of {job.tx_hash} vanished (reorg); settled again")
            self.chain_moved = True  # did the reorganisation take the posts too?
            return
        depth = self.txs.w3.eth.block_number - int(receipt["blockNumber"]) + 1
        if depth >= self.confirmations and self.log.jobs.mark_final(job):
            logger.info("%s: liquidation final (%d confirmations)", job.label, depth)

    # ------------------------------------------------------------ a market that moved

    def market_moved(self, p: Prepared, job: Job, reason: str, *, expect: str, mined: bool = False) -> bool:
        """A liquidation refused because the market went stale, or ``mined`` and reverted
        for the old root after a re-post: back to ``pending`` to be proven against the fresh
        market, or, with no re-post left, failed as retryable. False for any other reason
        (a simulation refused with WrongMarketRoot means another root is on the gate). A
        mined one reverted for its roots (``ROOT_ERRORS``: the gate lacked them when it was
        mined, say after a reorganisation) is proven again too, once the posts are checked."""
        stale = "StaleMarket(" in reason
        lost = mined and any(e in reason for e in ROOT_ERRORS)
        if not stale and not lost:
            return False
        if lost:
            self.chain_moved = True
        sid = p.record.snapshot_id
        if stale and self.reposts[sid] >= self.max_reposts:
            why = (
                f"{reason}; the market was re-posted {self.reposts[sid]} time(s) in this run and went "
                "stale again (is maxMarketAge shorter than proving takes?)"
            )
            self.log.jobs.transition(job, "failed", expect=expect, reason=why, retryable=True)
            logger.error("%s: liquidation refused: %s", job.label, why)
            return True
        if self.log.jobs.requeue(job, f"{reason}: proven again against the fresh market", expect=expect):
            self.stale_seen = self.stale_seen or stale
            logger.warning("%s: %s: proving it again", job.label, reason)
            self._prove_again(p)
        return True

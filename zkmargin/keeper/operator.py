"""The operator's keeper loop: quote snapshots in, proven liquidations on chain out.

For each new snapshot (in order; a snapshot already ``done`` or ``failed`` is skipped):

0. refuse it (``failed``) if its ``as_of`` date is older than that of a snapshot already
   processed (``posted`` or ``done``): the chain never moves back in time; the same date
   is allowed (intraday updates);
1. build the market with the next epoch (a snapshot keeps the epoch it was first given);
2. post its root unless the gate already has it (the post transaction's hash is recorded
   before broadcast; after a crash the gate's latest epoch and root say whether it landed);
3. make the gate's accounts root that of the accounts file: build the accounts tree
   (docs/margin-model.md section 5), write its leaves next to the job log (published:
   ``zkmargin/accounts-tree@1``) and post the root under the next accounts epoch unless
   the gate already has it (one transaction whatever the number of accounts);
4. compute every account's margin (vectorised); the accounts with status 2 or 3 and no
   liquidation case open on chain go into batches of K, insolvent first, then by
   shortfall, largest first (``engine/batching.py``), one ``liquidate`` job per batch;
5. prove the jobs in the :class:`ProverPool` (one ``MarginBatch`` proof per batch) and
   submit each proof as soon as it is ready: simulate, sign, record hash and bytes, move
   the job to ``submitted``, then broadcast (:mod:`zkmargin.keeper.transactions`);
6. settle: a receipt of ``liquidateBatch`` confirms the job, with what became of each
   account (a case opened, or one already open or closed at these epochs, skipped by the
   gate); a revert fails it with the gate's custom error decoded.

A market is fresh on the gate for ``maxMarketAge`` seconds. While jobs still wait to be
submitted and less than ``refresh_before`` seconds (at most half the age) of it are left,
or the gate already calls it stale, the keeper re-posts the snapshot's market under a new
epoch (the same quotes; a new root, as the root binds the epoch): proofs against the old
root that were not yet submitted are made again, and a liquidation mined after the
re-post that reverts for the old root goes back to be proven again. At most
``max_reposts`` re-posts per snapshot and run; beyond that the jobs fail as *retryable*.

A snapshot is ``done`` only when each of its jobs is final or failed for a reason another
run cannot fix; with a retryable failure (a market that went stale more often than it
could be re-posted, a prover that kept crashing) it stays ``posted``, the run reports it
``incomplete`` (non-zero exit) and the next run proves those jobs again.

After a crash, ``JobLog.recover`` re-queues jobs caught ``proving``, and a ``submitted``
job is settled from its recorded transaction: receipt if mined, wait if pending, the same
signed bytes again if the node never saw them, and never a second liquidation.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from web3.contract.contract import ContractFunction
from web3.logs import DISCARD

from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry, capped_shortfall
from engine.batching import liquidation_batches
from engine.commitments import MarketCommitments, params_hash
from engine.errors import InputError, ZkmarginError
from engine.fileio import write_json_atomic
from engine.formats import LabeledAccount, ParamsFile, dump_accounts_tree
from engine.margin_batch import AccountBatch, compute_margins
from engine.model import Market, RiskParams
from engine.pipeline import price_market
from engine.profiles import Profile
from engine.status import Status
from verifier_contracts.batch_gate import BatchGate, batch_calldata, batch_gas_limit
from verifier_contracts.chain import Roles
from verifier_contracts.gate import GateRevert
from zkmargin.keeper.accounts_source import AccountsSource
from zkmargin.keeper.jobs import Job, JobLog, SignedTx, Snapshot
from zkmargin.keeper.pool import ProofTask, ProverPool
from zkmargin.keeper.snapshots import SnapshotFile, scan_folder
from zkmargin.keeper.transactions import DurableTxs, FeePolicy, TxError

logger = logging.getLogger("zkmargin.keeper.operator")

ACTIVE_STATES = ("pending", "proving", "proved", "submitted")
#: How far beyond today (UTC) a snapshot's as_of may lie (time zones, a feed that dates
#: the next session).
FUTURE_TOLERANCE_DAYS = 1
#: Seconds between looks at the deployment block and the market's age while jobs run
#: (each is an RPC call; proofs and receipts are looked at every loop).
CHAIN_CHECK_EVERY = 1.0
GAS_HEADROOM = 1.25  # gas limit = estimate x this, for postMarket / postAccounts
#: What became of an account of a confirmed batch (``Job.outcome``).
OPENED, ALREADY_OPEN, CLOSED_AT_EPOCH = "opened", "open", "closed"


class OperatorError(ZkmarginError):
    """A fatal problem (configuration, chain): the keeper stops with exit code 2."""


class SnapshotFailed(Exception):
    """This snapshot cannot be processed; the reason is recorded and the loop goes on."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class OperatorSettings:
    """What the keeper works with besides the chain: accounts, parameters, profile."""

    accounts_path: Path
    params: ParamsFile
    profile: Profile
    poll: float = 0.2  # seconds between looks at the job log while a snapshot is in flight
    #: A liquidation is final once its block has this many confirmations (1: its own block).
    #: Until then it is re-checked every loop and on restart; a vanished receipt puts it back.
    confirmations: int = 1
    #: Fees of liquidations on a busy chain: replacements up to a cap.
    fees: FeePolicy = field(default_factory=FeePolicy)
    #: The gate's deployment block (number, hash) as recorded: a chain that no longer holds
    #: it was reset or reorganised under the gate, and the keeper stops.
    deployment_block: tuple[int, str] | None = None
    #: Re-post the market under a new epoch when less than this many seconds (at most half
    #: of the gate's maxMarketAge) of its freshness are left and jobs still wait.
    refresh_before: float = 60.0
    #: Re-posts of one snapshot's market per run, at most (a maxMarketAge shorter than a
    #: proof takes would otherwise re-post for ever).
    max_reposts: int = 3
    #: Where the published accounts tree is written before its root is posted (default:
    #: ``<job log>.accounts-tree.json``).
    accounts_tree_path: Path | None = None


@dataclass
class Prepared:
    """One snapshot, built: its log record, market, parameters and accounts."""

    snapshot: SnapshotFile
    record: Snapshot
    market: Market
    commitments: MarketCommitments
    params: RiskParams
    params_hash: int
    accounts: list[LabeledAccount]
    tree: AccountsTree
    batch: AccountBatch  # the accounts' slots and cash, for margins
    accounts_epoch: int = 0  # the gate's accounts epoch of ``tree``, once posted

    @property
    def epoch(self) -> int:
        return self.market.epoch

    @property
    def label(self) -> str:
        return f"{self.snapshot.path.name} (epoch {self.epoch})"


@dataclass
class SnapshotOutcome:
    """What processing one snapshot came to (for logs, the CLI and tests)."""

    snapshot_id: str
    source: str
    state: str  # done, incomplete (retryable job failures: run again), failed, skipped
    epoch: int = 0
    reason: str | None = None
    jobs: dict[str, int] = field(default_factory=dict)
    liquidatable: int = 0
    already_open: int = 0
    accounts_posted: int = 0  # 1 if this run posted the accounts root
    batches: int = 0
    reposts: int = 0
    seconds: float = 0.0


def _short(value: int | str) -> str:
    text = hex(value) if isinstance(value, int) else value
    return text if len(text) <= 14 else f"{text[:10]}…{text[-4:]}"


class Operator:
    """The keeper: one snapshot at a time, jobs proven by the pool and settled on chain."""

    def __init__(
        self,
        settings: OperatorSettings,
        log: JobLog,
        gate: BatchGate,
        roles: Roles,
        pool: ProverPool,
        txs: DurableTxs,
    ) -> None:
        self.settings = settings
        self.log = log
        self.gate = gate
        self.roles = roles
        self.pool = pool
        self.txs = txs
        self._wake = threading.Event()
        pool.on_change = self._wake.set
        self._reposts: Counter[str] = Counter()  # re-posts per snapshot in this run
        self._stale_seen = False  # the gate refused a liquidation with StaleMarket
        self._incomplete: set[str] = set()  # snapshots left incomplete in this run
        self.accounts = AccountsSource(settings.accounts_path, log, settings.profile.accounts_depth)

    # ------------------------------------------------------------------ loops

    def run_folder(
        self,
        folder: Path,
        *,
        poll: float,
        max_snapshots: int | None = None,
        exit_when_idle: bool = False,
        on_outcome: Callable[[SnapshotOutcome], None] | None = None,
    ) -> int:
        """Process new snapshots of ``folder`` as they appear; returns how many were processed."""
        processed = 0
        logger.info("watching %s for quote snapshots (every %.1f s)", folder, poll)
        while True:
            fresh = [
                s
                for s in scan_folder(folder)
                if not self._finished(s) and s.snapshot_id not in self._incomplete
            ]
            for snap in fresh:
                outcome = self.process(snap)
                if on_outcome is not None:
                    on_outcome(outcome)
                processed += 1
                if max_snapshots is not None and processed >= max_snapshots:
                    logger.info("processed %d snapshot(s): --max-snapshots reached", processed)
                    return processed
            if not fresh and exit_when_idle:
                logger.info("no new snapshot: done (%d processed)", processed)
                return processed
            if not fresh:
                time.sleep(poll)

    def _finished(self, snap: SnapshotFile) -> bool:
        record = self.log.snapshot(snap.snapshot_id)
        return record is not None and record.state in ("done", "failed")

    def process(self, snap: SnapshotFile) -> SnapshotOutcome:
        """Take one snapshot as far as it goes: ``done``, ``failed`` (with the reason; also
        when it had failed before), or ``skipped`` when it was done before."""
        started = time.perf_counter()
        self.check_deployment()
        existing = self.log.snapshot(snap.snapshot_id)
        if existing is not None and existing.state in ("done", "failed"):
            logger.info("snapshot %s: already %s, skipped", snap.path.name, existing.state)
            state = "failed" if existing.state == "failed" else "skipped"  # a failure stays one
            return SnapshotOutcome(snap.snapshot_id, snap.source, state, existing.epoch, existing.reason)
        outcome = SnapshotOutcome(snap.snapshot_id, snap.source, "done")
        if existing is not None:
            retried = self.log.retry_failed(snap.snapshot_id)
            if retried:
                logger.info(
                    "snapshot %s: %d job(s) that failed for a fixable reason: again", snap.path.name, retried
                )
        try:
            prepared = self._prepare(snap, existing)
            outcome.epoch = prepared.epoch
            self._ensure_posted(prepared)
            outcome.accounts_posted = self._ensure_accounts(prepared)
            outcome.liquidatable, outcome.already_open = self._create_jobs(prepared)
            outcome.batches = len(self.log.jobs(prepared.record.snapshot_id))
            self._drive_jobs(prepared)
        except SnapshotFailed as exc:
            self._fail_snapshot(snap, exc.reason)
            outcome.state, outcome.reason = "failed", exc.reason
        else:
            retryable = [j for j in self.log.jobs(snap.snapshot_id, state="failed") if j.retryable]
            if retryable:
                outcome.state = "incomplete"
                outcome.reason = (
                    f"{len(retryable)} job(s) failed for a reason a later run can fix "
                    f"({retryable[0].label}: {retryable[0].reason}); run the keeper again"
                )
                self._incomplete.add(snap.snapshot_id)
                logger.error("snapshot %s: INCOMPLETE: %s", snap.path.name, outcome.reason)
            else:
                self.log.set_snapshot_state(snap.snapshot_id, "done")
        outcome.jobs = dict(Counter(j.state for j in self.log.jobs(snap.snapshot_id)))
        outcome.reposts = self._reposts[snap.snapshot_id]
        record = self.log.snapshot(snap.snapshot_id)
        if record is not None and record.epoch:
            outcome.epoch = record.epoch
        outcome.seconds = time.perf_counter() - started
        if outcome.state == "done":
            logger.info(
                "snapshot %s: done in %.1f s, jobs %s",
                snap.path.name,
                outcome.seconds,
                ", ".join(f"{n} {s}" for s, n in sorted(outcome.jobs.items())) or "none",
            )
        return outcome

    def _fail_snapshot(self, snap: SnapshotFile, reason: str) -> None:
        logger.error("snapshot %s: FAILED: %s", snap.path.name, reason)
        if self.log.snapshot(snap.snapshot_id) is None:
            self.log.add_failed_snapshot(snap.snapshot_id, snap.source, reason)
            return
        for job in self.log.jobs(snap.snapshot_id):
            if job.state in ("pending", "proving", "proved"):
                self.log.transition(job, "failed", reason=f"snapshot failed: {reason}")
        self.log.set_snapshot_state(snap.snapshot_id, "failed", reason=reason)

    # ------------------------------------------------------------ 1. building

    def _prepare(self, snap: SnapshotFile, existing: Snapshot | None) -> Prepared:
        profile = self.settings.profile
        params_file = self.settings.params
        try:
            quotes = snap.load(profile)
            self._check_not_stale(snap, quotes.as_of)
            self._check_gate_state()
            epoch = existing.epoch if existing is not None else self._next_epoch()
            priced = price_market(quotes, params_file, profile, epoch)
            market, risk = priced.market, priced.risk
            mc = MarketCommitments(market)
            loaded = self.accounts.load(market)
        except InputError as exc:
            raise SnapshotFailed(f"invalid input: {exc.field}: {exc.message}") from None
        ph = params_hash(risk)
        on_chain = self.gate.params_hash()
        if on_chain != ph:
            raise OperatorError(
                f"the gate's parameters hash {_short(on_chain)} is not the params file's {_short(ph)} "
                "for this market: governance must setParams first"
            )
        if existing is None:
            record = self.log.add_snapshot(
                snap.snapshot_id, snap.source, epoch, mc.market_root, as_of=quotes.as_of.isoformat()
            )
        elif existing.market_root != mc.market_root:
            raise SnapshotFailed(
                f"rebuilding epoch {epoch} gave market root {_short(mc.market_root)}, the log recorded "
                f"{_short(existing.market_root)} (parameters or engine changed since it was first seen)"
            )
        else:
            record = existing
        prepared = Prepared(snap, record, market, mc, risk, ph, loaded.accounts, loaded.tree, loaded.batch)
        stats = self.accounts.stats
        logger.info(
            "snapshot %s: %s, as of %s, market root %s, %d accounts (%s in %.2f s)",
            snap.path.name,
            f"epoch {epoch}" + (" (resumed)" if existing is not None else ""),
            quotes.as_of.isoformat(),
            _short(mc.market_root),
            stats.accounts,
            "file unchanged: reused"
            if stats.reused
            else f"read; {stats.hashed} commitment(s) hashed, {stats.accounts - stats.hashed} from the cache",
            stats.seconds,
        )
        return prepared

    def _check_not_stale(self, snap: SnapshotFile, as_of: dt.date) -> None:
        """Fail a snapshot dated in the future (beyond today plus a tolerance: a typo such
        as 2062 would make every later snapshot look older) or before the newest one already
        processed, before anything is built, posted or proved. The same date is fine:
        intraday updates."""
        latest_allowed = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=FUTURE_TOLERANCE_DAYS)
        if as_of > latest_allowed:
            raise SnapshotFailed(
                f"as_of {as_of.isoformat()} is in the future (today is {dt.datetime.now(dt.UTC).date()}, "
                f"tolerance {FUTURE_TOLERANCE_DAYS} day): check the date"
            )
        newest = self.log.newest_processed(excluding=snap.snapshot_id)
        if newest is None or newest.as_of is None or as_of.isoformat() >= newest.as_of:
            return
        raise SnapshotFailed(
            f"as_of {as_of.isoformat()} is older than {newest.as_of} of snapshot "
            f"{Path(newest.source).name} already processed"
        )

    def _next_epoch(self) -> int:
        return max(self.log.max_epoch(), self.gate.latest_market().epoch) + 1

    def _check_gate_state(self) -> None:
        """The gate must hold at least the epochs the log says were posted: a gate behind the
        log was redeployed (or its chain reset), even at the same address."""
        posted = self.log.max_posted_epoch()
        on_chain = self.gate.latest_market().epoch
        if on_chain < posted:
            raise OperatorError(
                f"the gate is at epoch {on_chain}, but the job log records epoch {posted} as posted: "
                "the chain was reset or the gate replaced; deploy again and start a new job log"
            )

    # ------------------------------------------------------------- 2. posting

    def _ensure_posted(self, p: Prepared) -> None:
        root, epoch = p.commitments.market_root, p.epoch
        if self._market_is_latest(p):
            if p.record.state == "new":
                logger.info("%s: root already on chain", p.label)
                self.log.set_snapshot_state(p.record.snapshot_id, "posted")
            return
        if p.record.post_tx is not None and self._settle_post(p, p.record.post_tx):
            return
        fn = self.gate.contract.functions.postMarket(root, epoch)
        oracle = self.roles.oracle
        try:
            gas = self.txs.simulate(fn, oracle)
        except GateRevert as exc:
            raise SnapshotFailed(f"postMarket would revert: {exc}") from None
        logger.info("%s: posting market root %s", p.label, _short(root))
        _, receipt = self.txs.send_until_mined(
            fn,
            oracle,
            int(gas * GAS_HEADROOM),
            f"postMarket epoch {epoch}",
            self.settings.fees,
            self._post_recorder(p),
        )
        self._posted(p, receipt)

    def _post_recorder(self, p: Prepared) -> Callable[[SignedTx], None]:
        """Record a postMarket attempt (the first or a fee replacement) before it is sent."""

        def record(signed: SignedTx) -> None:
            self.log.record_tx(signed)
            self.log.set_snapshot_state(p.record.snapshot_id, "new", post_tx=signed.tx_hash)

        return record

    def _posted(self, p: Prepared, receipt: Mapping[str, Any]) -> bool:
        if receipt["status"] != 1:
            raise SnapshotFailed(f"postMarket reverted: {self.txs.failure_reason(receipt, 'postMarket')}")
        if not self._market_is_latest(p):
            return False
        self.log.set_snapshot_state(p.record.snapshot_id, "posted")
        logger.info("%s: market posted in block %d", p.label, receipt["blockNumber"])
        return True

    def _market_is_latest(self, p: Prepared) -> bool:
        latest = self.gate.latest_market()
        if latest.epoch == p.epoch and latest.root == p.commitments.market_root:
            return True
        if latest.epoch >= p.epoch:
            raise SnapshotFailed(
                f"superseded: the gate is at epoch {latest.epoch} (root {_short(latest.root)}); "
                f"this snapshot's epoch {p.epoch} can no longer be proven against"
            )
        return False

    def _settle_post(self, p: Prepared, tx_hash: str) -> bool:
        """Follow a recorded postMarket transaction and its fee replacements (after a
        restart); True once the root is the gate's latest, False when none of them can be
        mined any more (the node lost them and their nonce went elsewhere: post afresh)."""
        newest = self.log.signed_tx(tx_hash)
        if newest is None:
            return False
        family = self.log.same_nonce(newest)
        try:
            _, receipt = self.txs.follow(family, self.settings.fees, self._post_recorder(p))
        except TxError:
            return False  # its nonce went to another transaction: post afresh
        return self._posted(p, receipt)

    # ----------------------------------------------------- 3. the accounts root

    def tree_path(self) -> Path:
        """Where the published accounts tree is written."""
        if self.settings.accounts_tree_path is not None:
            return self.settings.accounts_tree_path
        return self.log.path.with_name(self.log.path.name + ".accounts-tree.json")

    def _ensure_accounts(self, p: Prepared) -> int:
        """Post the accounts tree's root unless it is the gate's latest; 1 if it was posted now."""
        operator = self.roles.operator
        self._finish_in_flight(operator)  # a post still in flight must land before we compare
        root, epoch = self.gate.accounts_root()
        posted = 0
        if root != p.tree.root:
            write_json_atomic(self.tree_path(), dump_accounts_tree(p.tree))  # published first
            fn = self.gate.contract.functions.postAccounts(p.tree.root, epoch + 1)
            try:
                gas = self.txs.simulate(fn, operator)
            except GateRevert as exc:
                raise OperatorError(f"postAccounts would revert: {exc}") from None
            _, receipt = self.txs.send_until_mined(
                fn,
                operator,
                int(gas * GAS_HEADROOM),
                f"postAccounts epoch {epoch + 1}",
                self.settings.fees,
                self.log.record_tx,
            )
            if receipt["status"] != 1:
                raise OperatorError(
                    f"postAccounts reverted: {self.txs.failure_reason(receipt, 'postAccounts')}"
                )
            root, epoch = self.gate.accounts_root()
            posted = 1
            logger.info(
                "%s: accounts root %s posted as accounts epoch %d (%d accounts; tree written to %s)",
                p.label,
                _short(root),
                epoch,
                len(p.accounts),
                self.tree_path(),
            )
        if root != p.tree.root:
            raise OperatorError(
                f"the gate's accounts root {_short(root)} is not the accounts file's {_short(p.tree.root)}"
            )
        p.accounts_epoch = epoch
        return posted

    def _finish_in_flight(self, sender: str) -> None:
        """Transactions of ``sender`` recorded in the log and not yet mined (a run stopped
        while they waited, say for fees to fall) are followed to the end, with fee
        replacements, before anything new is sent from that account."""
        if not self.txs.in_flight(sender):
            return
        mined = self.txs.w3.eth.get_transaction_count(sender)  # type: ignore[arg-type]
        waiting = [t for t in self.log.transactions() if t.sender == sender and t.nonce >= mined]
        for nonce in sorted({t.nonce for t in waiting}):
            family = [t for t in waiting if t.nonce == nonce]
            logger.info("%s still in flight from an earlier run: following it", family[-1].purpose)
            try:
                self.txs.follow(family, self.settings.fees, self.log.record_tx)
            except TxError as exc:
                logger.warning("%s", exc)
        self.txs.wait_idle(sender)  # anything else in flight (not the keeper's) lands as it will

    # ---------------------------------------------------------------- 4. jobs

    def _create_jobs(self, p: Prepared) -> tuple[int, int]:
        margins = compute_margins(p.market, p.params, p.batch)
        counts = Counter(int(s) for s in margins.status)
        liquidatable = [
            BatchEntry(
                acc.account.account_id, int(margins.status[i]), capped_shortfall(int(margins.shortfall[i]))
            )
            for i, acc in enumerate(p.accounts)
            if int(margins.status[i]) >= Status.LIQUIDATABLE
        ]
        # the gate's records of those accounts only, read in bulk (statusesOf)
        records = self.gate.statuses_of([e.account_id for e in liquidatable])
        due = [e for e in liquidatable if not records[e.account_id].liquidation_open]
        already_open = len(liquidatable) - len(due)
        batches = liquidation_batches(due, self.gate.batch_size())
        new = self.log.add_jobs(p.record.snapshot_id, "liquidate", batches)
        self.log.set_snapshot_state(p.record.snapshot_id, "posted", accounts=len(p.accounts))
        logger.info(
            "%s: margins: %d healthy, %d restricted, %d liquidatable, %d insolvent; "
            "%d new batch job(s) of up to %d (%d in the log), %d already under liquidation",
            p.label,
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            new,
            self.gate.batch_size(),
            len(self.log.jobs(p.record.snapshot_id)),
            already_open,
        )
        return counts[2] + counts[3], already_open

    # ------------------------------------------------------- 5./6. prove, submit, settle

    def _task(self, p: Prepared) -> ProofTask:
        return ProofTask(
            snapshot_id=p.record.snapshot_id,
            market=p.market,
            commitments=p.commitments,
            params=p.params,
            accounts={a.account.account_id: a.account for a in p.accounts},
            tree=p.tree,
            accounts_epoch=p.accounts_epoch,
        )

    def _drive_jobs(self, p: Prepared) -> None:
        sid = p.record.snapshot_id
        max_age = self.gate.max_market_age()
        self._stale_seen = False
        for job in self.log.jobs(sid, state="submitted"):
            self._settle(p, job)  # left over from an earlier run
        queued = self.pool.enqueue(self._task(p), self.log.jobs(sid, state="pending"))
        if queued:
            logger.info("%s: proving %d job(s) with %d worker(s)", p.label, queued, self.pool.size)
        checked = 0.0
        while True:
            self._wake.clear()
            now = time.monotonic()
            if self._stale_seen or now - checked >= CHAIN_CHECK_EVERY:
                # the chain's own state (deployment block, market age): at most once a second
                checked = now
                self.check_deployment()
                if self._refresh_due(p, max_age):
                    self._repost(p)
            for job in self.log.jobs(sid, state="proved"):
                self._submit(p, job)
            for job in self.log.jobs(sid, state="submitted"):
                self._settle(p, job)
            for job in self.log.jobs(sid, state="confirmed"):
                if not job.final:
                    self._check_finality(job)
            active = [j for j in self.log.jobs(sid) if j.state in ACTIVE_STATES or _unfinal(j)]
            if not active:
                return
            if self.pool.idle():
                self.pool.enqueue(self._task(p), active)  # pending jobs nobody holds (a safety net)
            self._wake.wait(self.settings.poll)

    # ------------------------------------------------------- a market going stale

    def _refresh_due(self, p: Prepared, max_age: int) -> bool:
        """Re-post now? Jobs wait to be submitted, re-posts are left, and the gate called the
        market stale or less than ``refresh_before`` (at most half of ``max_age``) is left."""
        sid = p.record.snapshot_id
        if self._reposts[sid] >= self.settings.max_reposts:
            return False
        if not any(j.state in ("pending", "proving", "proved") for j in self.log.jobs(sid)):
            return False
        if self._stale_seen:
            return True
        latest = self.gate.latest_market()
        if latest.epoch != p.epoch:
            return False  # not ours: superseded, found when it is posted or submitted
        block_time = int(self.txs.w3.eth.get_block("latest")["timestamp"])
        next_block_time = max(block_time, int(time.time()))
        left = latest.posted_at + max_age - next_block_time
        return left < min(self.settings.refresh_before, max_age / 2)

    def _repost(self, p: Prepared) -> None:
        """Post the snapshot's market again under the next epoch; jobs proven against the old
        root and not yet submitted are proven again (the pool switches to the new market)."""
        sid = p.record.snapshot_id
        self._reposts[sid] += 1
        self._stale_seen = False
        old_epoch = p.epoch
        epoch = self._next_epoch()
        market = replace(p.market, epoch=epoch)
        commitments = MarketCommitments(market)
        reset = self.log.repost_snapshot(sid, epoch, commitments.market_root)
        record = self.log.snapshot(sid)
        assert record is not None
        p.market, p.commitments, p.record = market, commitments, record
        logger.warning(
            "%s: the market of epoch %d is about to go stale with jobs waiting: re-posting it as epoch %d "
            "(re-post %d of at most %d; %d proof(s) made again)",
            p.label,
            old_epoch,
            epoch,
            self._reposts[sid],
            self.settings.max_reposts,
            reset,
        )
        self.pool.enqueue(self._task(p), self.log.jobs(sid, state="pending"))
        self._ensure_posted(p)

    def _market_moved(self, p: Prepared, job: Job, reason: str, *, expect: str, mined: bool = False) -> bool:
        """A liquidation refused because the market went stale, or ``mined`` and reverted
        for the old root after a re-post: back to ``pending`` to be proven against the fresh
        market, or, with no re-post left, failed as retryable. False for any other reason
        (a simulation refused with WrongMarketRoot means another root is on the gate)."""
        stale = "StaleMarket(" in reason
        if not stale and not (mined and "WrongMarketRoot(" in reason):
            return False
        sid = p.record.snapshot_id
        if stale and self._reposts[sid] >= self.settings.max_reposts:
            why = (
                f"{reason}; the market was re-posted {self._reposts[sid]} time(s) in this run and went "
                "stale again (is maxMarketAge shorter than proving takes?)"
            )
            self.log.transition(job, "failed", expect=expect, reason=why, retryable=True)
            logger.error("%s: liquidation refused: %s", job.label, why)
            return True
        if self.log.requeue(job, f"{reason}: proven again against the fresh market", expect=expect):
            self._stale_seen = self._stale_seen or stale
            logger.warning("%s: %s: proving it again", job.label, reason)
            self.pool.enqueue(self._task(p), self.log.jobs(sid, state="pending"))
        return True

    # ------------------------------------------------------- 5./6. submit, settle

    def _liquidate_fn(self, job: Job) -> ContractFunction:
        assert job.bundle is not None
        bundle = json.loads(job.bundle)
        call = batch_calldata(bundle["proof"], bundle["public_signals"])
        return self.gate.contract.functions.liquidateBatch(call.proof, call.roots, call.entries)

    def _gas_limit(self) -> int:
        return batch_gas_limit(self.gate.batch_size())

    def _submit(self, p: Prepared, job: Job, *, expect: str = "proved") -> None:
        assert job.bundle is not None
        bundle = json.loads(job.bundle)
        root = int(bundle["public_signals"][1])  # [accounts root, market root, ...]
        if root != p.commitments.market_root:
            reason = f"proven against epoch {bundle.get('market_epoch')}, the market is now epoch {p.epoch}"
            if self.log.requeue(job, reason, expect=expect):
                self.pool.enqueue(self._task(p), self.log.jobs(p.record.snapshot_id, state="pending"))
            return
        fn = self._liquidate_fn(job)
        liquidator = self.roles.liquidator
        try:
            self.txs.simulate(fn, liquidator, self._gas_limit())
        except GateRevert as exc:
            if self._market_moved(p, job, str(exc), expect=expect):
                return
            self.log.transition(job, "failed", expect=expect, reason=str(exc))
            logger.error("%s: liquidation refused: %s", job.label, exc)
            return
        signed = self.txs.sign(
            fn, liquidator, self._gas_limit(), f"liquidateBatch {job.batch} epoch {p.epoch}"
        )
        self.log.record_tx(signed)
        if not self.log.transition(job, "submitted", expect=expect, tx_hash=signed.tx_hash):
            return  # moved by someone else: never broadcast a transaction the log does not own
        if self.txs.broadcast(signed):
            logger.info("%s: liquidation submitted (tx %s)", job.label, _short(signed.tx_hash))
        else:
            logger.warning("%s: liquidation refused by the node for its fee: replacing it", job.label)
            self._replace(p, job, signed)

    def _settle(self, p: Prepared, job: Job) -> None:
        """A ``submitted`` job: settled by whichever of its transactions (the first and every
        fee replacement, one nonce) was mined; else re-sent, or replaced when it waited too
        long or the node refused its fee."""
        assert job.tx_hash is not None
        newest = self.log.signed_tx(job.tx_hash)
        family = self.log.same_nonce(newest) if newest is not None else []
        for tx_hash in reversed([tx.tx_hash for tx in family] or [job.tx_hash]):
            receipt = self.txs.receipt(tx_hash)
            if receipt is not None:
                self._settle_mined(p, job, tx_hash, receipt)
                return
        if newest is None:
            return
        if not any(self.txs.known(tx.tx_hash) for tx in family):
            self._rebroadcast(p, job, newest)
        elif time.time() - newest.created_at > self.settings.fees.replace_after:
            self._replace(p, job, newest)

    def _settle_mined(self, p: Prepared, job: Job, tx_hash: str, receipt: Mapping[str, Any]) -> None:
        if receipt["status"] != 1:
            reason = self.txs.failure_reason(receipt, "liquidateBatch")
            if self._market_moved(p, job, reason, expect="submitted", mined=True):
                return
            self.log.transition(job, "failed", reason=reason)
            logger.error("%s: liquidation reverted: %s", job.label, reason)
            return
        events = self.gate.contract.events
        accepted = events.BatchAccepted().process_receipt(receipt, errors=DISCARD)
        if not accepted:
            self.log.transition(job, "failed", reason=f"tx {tx_hash} mined without BatchAccepted")
            return
        outcome: dict[int, str] = {}
        for e in events.LiquidationsOpened().process_receipt(receipt, errors=DISCARD):
            outcome.update((int(i), OPENED) for i in e["args"]["ids"])
        for e in events.LiquidationSkipped().process_receipt(receipt, errors=DISCARD):
            outcome[int(e["args"]["id"])] = ALREADY_OPEN if int(e["args"]["reason"]) == 1 else CLOSED_AT_EPOCH
        missing = [i for i in job.account_ids if i not in outcome]
        if missing:
            self.log.transition(
                job, "failed", reason=f"tx {tx_hash} mined without a case for account {missing[0]}"
            )
            return
        self.log.transition(job, "confirmed", tx_hash=tx_hash, outcome=outcome)
        opened = sum(1 for v in outcome.values() if v == OPENED)
        logger.info(
            "%s: liquidation confirmed in block %d (%d case(s) opened, %d skipped)",
            job.label,
            receipt["blockNumber"],
            opened,
            len(outcome) - opened,
        )
        if self.settings.confirmations <= 1:
            self.log.mark_final(job)

    def _rebroadcast(self, p: Prepared, job: Job, newest: SignedTx) -> None:
        """A ``submitted`` job none of whose transactions the node knows (the crash came
        between recording and broadcasting, the node dropped it, a reorg removed it, or it
        was refused for its fee)."""
        if all(self.gate.status_of(i).liquidation_open for i in job.account_ids):
            # every case opened while this snapshot ran (jobs exist only for closed cases)
            self.log.transition(
                job,
                "confirmed",
                reason=f"cases already open on chain; tx {job.tx_hash} not found",
                outcome=dict.fromkeys(job.account_ids, ALREADY_OPEN),
            )
            logger.warning("%s: liquidations already open on chain (not by tx %s)", job.label, job.tx_hash)
            if self.settings.confirmations <= 1:
                self.log.mark_final(job)
            return
        if self.txs.w3.eth.get_transaction_count(newest.sender) > newest.nonce:  # type: ignore[arg-type]
            logger.warning(
                "%s: tx %s is gone, its nonce used: signing a new one", job.label, _short(newest.tx_hash)
            )
            self._submit(p, job, expect="submitted")
            return
        if self.txs.broadcast(newest):
            logger.info("%s: re-sent recorded tx %s", job.label, _short(newest.tx_hash))
        else:
            self._replace(p, job, newest)

    def _replace(self, p: Prepared, job: Job, last: SignedTx) -> None:
        """Sign the liquidation again with the same nonce and higher fees (recorded before it
        is sent); at the fee cap, wait for fees to fall."""
        fees = self.settings.fees.next_fees(self.txs.fees_of(last), self.txs.pending_base_fee())
        if fees is None:
            logger.warning(
                "%s: liquidation waits: the fee cap (%d gwei) is reached",
                job.label,
                self.settings.fees.max_fee_wei // 10**9,
            )
            return
        signed = self.txs.resign(
            last, fees, f"liquidateBatch {job.batch} epoch {p.epoch} (fee {fees[0] / 10**9:.3g} gwei)"
        )
        self.log.record_tx(signed)
        if not self.log.transition(job, "submitted", expect="submitted", tx_hash=signed.tx_hash):
            return
        sent = self.txs.broadcast(signed)
        logger.info(
            "%s: replacement tx %s at %.3g gwei %s",
            job.label,
            _short(signed.tx_hash),
            fees[0] / 10**9,
            "sent" if sent else "refused for its fee too",
        )

    def _check_finality(self, job: Job) -> None:
        """A confirmed job: final once its block is ``confirmations`` deep; back to
        ``submitted`` (settled again, its recorded transaction re-sent) if the receipt is gone."""
        assert job.tx_hash is not None
        receipt = self.txs.receipt(job.tx_hash)
        if receipt is None:
            logger.warning(
                "%s: liquidation tx %s is no longer in a block (a reorg): settling it again",
                job.label,
                _short(job.tx_hash),
            )
            self.log.reopen(job, reason=f"receipt of {job.tx_hash} vanished (reorg); settled again")
            return
        depth = self.txs.w3.eth.block_number - int(receipt["blockNumber"]) + 1
        if depth >= self.settings.confirmations and self.log.mark_final(job):
            logger.info("%s: liquidation final (%d confirmations)", job.label, depth)

    def check_deployment(self) -> None:
        """Stop (``OperatorError``) when the chain no longer holds the gate's deployment block:
        a reset or a deep reorganisation, possibly with another gate at the same address."""
        if self.settings.deployment_block is None:
            return
        number, recorded = self.settings.deployment_block
        try:
            block = self.txs.w3.eth.get_block(number)
        except Exception:  # BlockNotFound, or a node that forgot it
            block = None
        found = None if block is None else "0x" + bytes(block["hash"]).hex()
        if found != recorded.lower():
            raise OperatorError(
                f"the chain no longer holds the gate's deployment: block {number} is "
                f"{found or 'missing'}, the deployment file recorded {recorded}; the chain was reset "
                "or reorganised under the gate: deploy again and start a new job log"
            )


def _unfinal(job: Job) -> bool:
    return job.state == "confirmed" and not job.final


def outcome_json(outcome: SnapshotOutcome) -> dict[str, Any]:
    """A snapshot outcome as JSON-ready data."""
    return {
        "snapshot_id": outcome.snapshot_id,
        "source": outcome.source,
        "state": outcome.state,
        "epoch": outcome.epoch,
        "reason": outcome.reason,
        "jobs": outcome.jobs,
        "liquidatable": outcome.liquidatable,
        "already_open": outcome.already_open,
        "accounts_posted": outcome.accounts_posted,
        "batches": outcome.batches,
        "reposts": outcome.reposts,
        "seconds": round(outcome.seconds, 3),
    }

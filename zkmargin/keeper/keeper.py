"""The keeper: quote snapshots in, proven liquidations on chain out.

For each new snapshot (in order; a snapshot already ``done`` or ``failed`` is skipped),
:meth:`Keeper.process` takes it through its states (``new -> posted -> done``, or
``failed``; the edges in :data:`zkmargin.keeper.states.SNAPSHOT_TRANSITIONS`), every change
of the snapshot's state made here:

0. refuse it (``failed``) if its ``as_of`` date is older than that of a snapshot already
   processed (``posted`` or ``done``): the chain never moves back in time; the same date
   is allowed (intraday updates);
1. build the market with the next epoch (a snapshot keeps the epoch it was first given;
   :mod:`zkmargin.keeper.snapshot_build`) and record it (``new``);
2. post its root unless the gate already has it (the post transaction's hash is recorded
   before broadcast; after a crash the gate's latest epoch and root say whether it landed;
   :mod:`zkmargin.keeper.posting`): ``posted``;
3. make the gate's accounts root that of the accounts file: build the accounts tree
   (docs/margin-model.md section 5), write its leaves next to the job log (published:
   ``zkmargin/accounts-tree@1``) and post the root under the next accounts epoch unless
   the gate already has it (one transaction whatever the number of accounts);
4. compute every account's margin (vectorised); the accounts with status 2 or 3 and no
   liquidation case open on chain go into batches of K, insolvent first, then by
   shortfall, largest first (``engine/batching.py``), one ``liquidate`` job per batch;
5. prove the jobs in the :class:`ProverPool` (one ``MarginBatch`` proof per batch) and
   submit each proof as soon as it is ready; 6. settle each on chain
   (:mod:`zkmargin.keeper.liquidations`: submit, settle, rebroadcast, replace, finality).

A market is fresh on the gate for ``maxMarketAge`` seconds. While jobs still wait to be
submitted and less than ``refresh_before`` seconds (at most half the age) of it are left,
or the gate already calls it stale, the keeper re-posts the snapshot's market under a new
epoch (the same quotes; a new root, as the root binds the epoch; ``posted -> new ->
posted``): proofs against the old root that were not yet submitted are made again, and a
liquidation mined after the re-post that reverts for the old root goes back to be proven
again. At most ``max_reposts`` re-posts per snapshot and run; beyond that the jobs fail as
*retryable*.

A snapshot is ``done`` only when each of its jobs is final or failed for a reason another
run cannot fix; with a retryable failure (a market that went stale more often than it
could be re-posted, a prover that kept crashing) it stays ``posted``, the run reports it
``incomplete`` (non-zero exit) and the next run proves those jobs again.

After a crash, ``JobStore.recover`` re-queues jobs caught ``proving``, and a ``submitted``
job is settled from its recorded transaction: receipt if mined, wait if pending, the same
signed bytes again if the node never saw them, and never a second liquidation.

Nothing the log calls done is taken on trust. The log is bound to its chain
(:meth:`Keeper.bind_chain`: another chain or gate stops the keeper); a ``done`` snapshot is
skipped only while the gate holds its market root and each confirmed liquidation
(:meth:`Keeper.still_done`; else ``done -> new`` and it is processed again); while jobs run,
a gate that lost the snapshot's posts (a reorganisation) gets them again before any
liquidation goes out (:meth:`Keeper._check_posts`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.batch_statement import BatchEntry, capped_shortfall
from engine.batching import liquidation_batches
from engine.commitments import MarketCommitments
from engine.formats import ParamsFile
from engine.margin_batch import compute_margins
from engine.profiles import Profile
from engine.status import Status
from verifier_contracts.batch_gate import BatchGate
from verifier_contracts.chain import Roles
from zkmargin.keeper import chain_guard
from zkmargin.keeper.accounts_source import AccountsSource
from zkmargin.keeper.errors import SnapshotFailed, short
from zkmargin.keeper.job_log import ChainBinding, JobLog
from zkmargin.keeper.liquidations import Liquidations
from zkmargin.keeper.pool import ProverPool
from zkmargin.keeper.posting import Posting, missing_posts
from zkmargin.keeper.snapshot_build import Prepared, build_snapshot, next_epoch
from zkmargin.keeper.snapshot_store import Snapshot
from zkmargin.keeper.snapshots import SnapshotFile, scan_folder
from zkmargin.keeper.status import SnapshotOutcome
from zkmargin.keeper.transactions import DurableTxs, FeePolicy
from zkmargin.keeper.tx_store import SignedTx

logger = logging.getLogger("zkmargin.keeper.operator")

ACTIVE_STATES = ("pending", "proving", "proved", "submitted")
#: Seconds between looks at the deployment block and the market's age while jobs run
#: (each is an RPC call; proofs and receipts are looked at every loop).
CHAIN_CHECK_EVERY = 1.0


@dataclass(frozen=True)
class KeeperSettings:
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


class Keeper:
    """One snapshot at a time, jobs proven by the pool and settled on chain."""

    def __init__(
        self,
        settings: KeeperSettings,
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
        self._incomplete: set[str] = set()  # snapshots left incomplete in this run
        self._held: set[str] = set()  # done snapshots found on chain in this run
        self._held_epoch = 0  # the gate's market epoch when they were
        self.accounts = AccountsSource(settings.accounts_path, log, settings.profile.accounts_depth)
        self.posting = Posting(log, gate, roles, txs, settings.fees)
        self.liquidations = Liquidations(
            log,
            gate,
            roles,
            pool,
            txs,
            fees=settings.fees,
            confirmations=settings.confirmations,
            max_reposts=settings.max_reposts,
            reposts=self._reposts,
        )

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
            latest = self.gate.latest_market().epoch
            if latest < self._held_epoch:  # the gate went back: every done one is looked at again
                self._held.clear()
            self._held_epoch = latest
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
        """Done (and still on chain: see :meth:`still_done`) or failed."""
        record = self.log.snapshots.get(snap.snapshot_id)
        if record is None or record.state not in ("done", "failed"):
            return False
        if record.state == "failed" or record.snapshot_id in self._held:
            return True
        return self.still_done(record, snap.path.name)

    # ------------------------------------------------------- the chain under the log

    def chain_here(self) -> ChainBinding:
        """The chain and gate this keeper runs on, as a job log records them."""
        return chain_guard.binding_here(self.txs, self.gate, self.settings.deployment_block)

    def bind_chain(self) -> None:
        """Bind the job log to this chain, or stop on another (:mod:`.chain_guard`)."""
        chain_guard.bind_log(self.log, self.chain_here())

    def lost_on_chain(self, record: Snapshot) -> str | None:
        """What the chain no longer holds of a ``done`` snapshot (None: all of it)."""
        return chain_guard.lost_on_chain(self.log, self.gate, self.txs, record)

    def still_done(self, record: Snapshot, name: str) -> bool:
        """True when the chain holds what the log says of the ``done`` snapshot ``record``;
        else (a reorganisation deeper than the confirmations removed a post or a
        liquidation) it goes back to ``new`` to be processed again."""
        lost = self.lost_on_chain(record)
        if lost is None:
            self._held.add(record.snapshot_id)
            return True
        logger.warning(
            "snapshot %s: done in the job log, but %s: the chain was reorganised under the log; "
            "processing it again (epoch %d)",
            name,
            lost,
            record.epoch,
        )
        chain_guard.reopen_jobs(self.log, self.txs, record)
        self.log.snapshots.set_state(record.snapshot_id, "new")
        return False

    # ------------------------------------------------------- one snapshot

    def process(self, snap: SnapshotFile) -> SnapshotOutcome:
        """Take one snapshot as far as it goes: ``done``, ``failed`` (with the reason; also
        when it had failed before), or ``skipped`` when it was done before."""
        started = time.perf_counter()
        self.check_deployment()
        existing = self.log.snapshots.get(snap.snapshot_id)
        if (
            existing is not None
            and existing.state == "done"
            and not self.still_done(existing, snap.path.name)
        ):
            existing = self.log.snapshots.get(snap.snapshot_id)
        if existing is not None and existing.state in ("done", "failed"):
            logger.info("snapshot %s: already %s, skipped", snap.path.name, existing.state)
            state = "failed" if existing.state == "failed" else "skipped"  # a failure stays one
            return SnapshotOutcome(snap.snapshot_id, snap.source, state, existing.epoch, existing.reason)
        outcome = SnapshotOutcome(snap.snapshot_id, snap.source, "done")
        if existing is not None:
            retried = self.log.jobs.retry_failed(snap.snapshot_id)
            if retried:
                logger.info(
                    "snapshot %s: %d job(s) that failed for a fixable reason: again", snap.path.name, retried
                )
        try:
            prepared = self._prepare(snap, existing)  # 1. new
            outcome.epoch = prepared.epoch
            self._ensure_posted(prepared)  # 2. posted
            outcome.accounts_posted = self.posting.ensure_accounts(prepared, self.tree_path())  # 3.
            outcome.liquidatable, outcome.already_open = self._create_jobs(prepared)  # 4.
            outcome.batches = len(self.log.jobs.select(prepared.record.snapshot_id))
            self._drive_jobs(prepared)  # 5., 6.
        except SnapshotFailed as exc:
            self._fail_snapshot(snap, exc.reason)
            outcome.state, outcome.reason = "failed", exc.reason
        else:
            retryable = [j for j in self.log.jobs.select(snap.snapshot_id, state="failed") if j.retryable]
            if retryable:
                outcome.state = "incomplete"
                outcome.reason = (
                    f"{len(retryable)} job(s) failed for a reason a later run can fix "
                    f"({retryable[0].label}: {retryable[0].reason}); run the keeper again"
                )
                self._incomplete.add(snap.snapshot_id)
                logger.error("snapshot %s: INCOMPLETE: %s", snap.path.name, outcome.reason)
            else:
                self.log.snapshots.set_state(snap.snapshot_id, "done")
        outcome.jobs = dict(Counter(j.state for j in self.log.jobs.select(snap.snapshot_id)))
        outcome.reposts = self._reposts[snap.snapshot_id]
        record = self.log.snapshots.get(snap.snapshot_id)
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
        if self.log.snapshots.get(snap.snapshot_id) is None:
            self.log.snapshots.add_failed(snap.snapshot_id, snap.source, reason)
            return
        for job in self.log.jobs.select(snap.snapshot_id):
            if job.state in ("pending", "proving", "proved"):
                self.log.jobs.transition(job, "failed", reason=f"snapshot failed: {reason}")
        self.log.snapshots.set_state(snap.snapshot_id, "failed", reason=reason)

    def _prepare(self, snap: SnapshotFile, existing: Snapshot | None) -> Prepared:
        """1. The snapshot built and recorded (``new``), or checked against its record."""
        built = build_snapshot(
            snap,
            existing.epoch if existing is not None else None,
            log=self.log,
            gate=self.gate,
            accounts=self.accounts,
            params_file=self.settings.params,
            profile=self.settings.profile,
        )
        epoch, root = built.market.epoch, built.commitments.market_root
        if existing is None:
            record = self.log.snapshots.add(
                snap.snapshot_id, snap.source, epoch, root, built.as_of.isoformat()
            )
        elif existing.market_root != root:
            raise SnapshotFailed(
                f"rebuilding epoch {epoch} gave market root {short(root)}, the log recorded "
                f"{short(existing.market_root)} (parameters or engine changed since it was first seen)"
            )
        else:
            record = existing
        b = built
        prepared = Prepared(
            snap, record, b.market, b.commitments, b.params, b.params_hash, b.accounts, b.tree, b.batch
        )
        stats = self.accounts.stats
        logger.info(
            "snapshot %s: %s, as of %s, market root %s, %d accounts (%s in %.2f s)",
            snap.path.name,
            f"epoch {epoch}" + (" (resumed)" if existing is not None else ""),
            built.as_of.isoformat(),
            short(root),
            stats.accounts,
            "file unchanged: reused"
            if stats.reused
            else f"read; {stats.hashed} commitment(s) hashed, {stats.accounts - stats.hashed} from the cache",
            stats.seconds,
        )
        return prepared

    def _ensure_posted(self, p: Prepared) -> None:
        """2. ``new -> posted`` once the snapshot's market root is the gate's latest."""
        sid = p.record.snapshot_id
        if self.posting.market_is_latest(p):
            if p.record.state == "new":
                logger.info("%s: root already on chain", p.label)
                self.log.snapshots.set_state(sid, "posted")
            return
        receipt = self.posting.post_market(p, self._post_recorder(p))
        if receipt is not None:
            self.log.snapshots.set_state(sid, "posted")
            logger.info("%s: market posted in block %d", p.label, receipt["blockNumber"])

    def _post_recorder(self, p: Prepared) -> Callable[[SignedTx], None]:
        """Record a postMarket attempt (the first or a fee replacement) before it is sent."""

        def record(signed: SignedTx) -> None:
            self.log.txs.record(signed)
            self.log.snapshots.set_state(p.record.snapshot_id, "new", post_tx=signed.tx_hash)

        return record

    def _create_jobs(self, p: Prepared) -> tuple[int, int]:
        """4. One job per batch of the liquidatable accounts with no case open on chain."""
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
        new = self.log.jobs.add(p.record.snapshot_id, "liquidate", batches)
        self.log.snapshots.set_state(p.record.snapshot_id, "posted", accounts=len(p.accounts))
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
            len(self.log.jobs.select(p.record.snapshot_id)),
            already_open,
        )
        return counts[2] + counts[3], already_open

    def _drive_jobs(self, p: Prepared) -> None:
        """5., 6. Prove, submit and settle until no job of the snapshot is active."""
        sid = p.record.snapshot_id
        max_age = self.gate.max_market_age()
        lq = self.liquidations
        lq.stale_seen = False
        for job in self.log.jobs.select(sid, state="submitted"):
            lq.settle(p, job)  # left over from an earlier run
        queued = self.pool.enqueue(p.task(), self.log.jobs.select(sid, state="pending"))
        if queued:
            logger.info("%s: proving %d job(s) with %d worker(s)", p.label, queued, self.pool.size)
        checked = 0.0
        while True:
            self._wake.clear()
            now = time.monotonic()
            if lq.stale_seen or lq.chain_moved or now - checked >= CHAIN_CHECK_EVERY:
                # the chain's own state (deployment block, posts, market age): once a second
                checked = now
                self.check_deployment()
                self._check_posts(p)
                if self._refresh_due(p, max_age):
                    self._repost(p)
            for job in self.log.jobs.select(sid, state="proved"):
                lq.submit(p, job)
            for job in self.log.jobs.select(sid, state="submitted"):
                lq.settle(p, job)
            for job in self.log.jobs.select(sid, state="confirmed"):
                if not job.final:
                    lq.check_finality(job)
            active = [j for j in self.log.jobs.select(sid) if j.state in ACTIVE_STATES or j.unfinal]
            if not active:
                return
            if self.pool.idle():
                self.pool.enqueue(p.task(), active)  # pending jobs nobody holds (a safety net)
            self._wake.wait(self.settings.poll)

    def _check_posts(self, p: Prepared) -> None:
        """The gate must still hold the snapshot's market root (its epoch) and accounts root:
        a reorganisation that removed a post gets it made again (the recorded transaction
        sent again, same bytes, or a new one), ``posted -> new -> posted``, before any
        liquidation goes out (proofs bind the roots, not the blocks: they stand)."""
        self.liquidations.chain_moved = False
        missing = missing_posts(self.gate, p)
        if missing is None:
            return
        sid = p.record.snapshot_id
        logger.warning("%s: %s: the chain was reorganised under the keeper: posting again", p.label, missing)
        self.log.snapshots.set_state(sid, "new")
        record = self.log.snapshots.get(sid)
        assert record is not None
        p.record = record
        self._ensure_posted(p)
        self.posting.ensure_accounts(p, self.tree_path())
        record = self.log.snapshots.get(sid)
        assert record is not None
        p.record = record

    # ------------------------------------------------------- a market going stale

    def _refresh_due(self, p: Prepared, max_age: int) -> bool:
        """Re-post now? Jobs wait to be submitted, re-posts are left, and the gate called the
        market stale or less than ``refresh_before`` (at most half of the market's life) is
        left before its expiry, fixed when it was posted (a later ``max_age`` is for new
        markets; ``max_age`` serves only a gate that reports no expiry)."""
        sid = p.record.snapshot_id
        if self._reposts[sid] >= self.settings.max_reposts:
            return False
        if not any(j.state in ("pending", "proving", "proved") for j in self.log.jobs.select(sid)):
            return False
        if self.liquidations.stale_seen:
            return True
        latest = self.gate.latest_market()
        if latest.epoch != p.epoch:
            return False  # not ours: superseded, found when it is posted or submitted
        block_time = int(self.txs.w3.eth.get_block("latest")["timestamp"])
        next_block_time = max(block_time, int(time.time()))
        expires_at = latest.expires_at or latest.posted_at + max_age
        left = expires_at - next_block_time
        return left < min(self.settings.refresh_before, (expires_at - latest.posted_at) / 2)

    def _repost(self, p: Prepared) -> None:
        """``posted -> new -> posted``: the snapshot's market again under the next epoch; jobs
        proven against the old root and not yet submitted are proven again (the pool switches
        to the new market)."""
        sid = p.record.snapshot_id
        self._reposts[sid] += 1
        self.liquidations.stale_seen = False
        old_epoch = p.epoch
        epoch = next_epoch(self.log, self.gate)
        market = replace(p.market, epoch=epoch)
        commitments = MarketCommitments(market)
        reset = self.log.repost_snapshot(sid, epoch, commitments.market_root)
        record = self.log.snapshots.get(sid)
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
        self.pool.enqueue(p.task(), self.log.jobs.select(sid, state="pending"))
        self._ensure_posted(p)

    # ------------------------------------------------------- where things are

    def tree_path(self) -> Path:
        """Where the published accounts tree is written."""
        if self.settings.accounts_tree_path is not None:
            return self.settings.accounts_tree_path
        return self.log.path.with_name(self.log.path.name + ".accounts-tree.json")

    def check_deployment(self) -> None:
        """Stop when the chain no longer holds the gate's deployment block."""
        chain_guard.check_deployment(self.txs, self.settings.deployment_block)  # no node call without a block

"""A pool of N prover workers fed from the operator's job log.

Each worker is a thread that owns one long-lived node process (:class:`NodeWorker`,
snarkjs loaded once) and its own SQLite connection to the job log. A worker claims a
job (one batch of up to K accounts) with the guarded transition ``pending -> proving``
(so two workers never prove the same job), proves the batch with
:func:`prover.prove_batch.prove_batch` (circuit input, proof, the public signals checked
against the engine), checks that the entries are also the ones the job was created for
(the vectorised engine), and stores the batch proof bundle, with each account's path in
the accounts tree, with ``proving -> proved``. The proof is not verified again here: the
gate verifies it when the liquidation is simulated, before anything is sent.

A failed proof is retried up to ``max_attempts`` times (the worker process is
restarted by :class:`NodeWorker` if it died), then fails as retryable (a later run tries
again); bad input or a proof that disagrees with the engine fails the job at once, with
the reason. A job caught in ``proving`` by a crash goes back to ``pending`` on restart
(``JobLog.recover``).

The queue holds jobs, not markets: a worker proves a job against its snapshot's *current*
:class:`ProofTask`, the one last given to :meth:`ProverPool.enqueue`. When the keeper
re-posts a snapshot's market under a new epoch it enqueues the new task; queued jobs are
then proven against the new market, and a proof finished against the old one is dropped
(the job goes back to ``pending`` and is proven again).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.accounts_tree import AccountsTree
from engine.commitments import MarketCommitments
from engine.errors import InputError
from engine.model import Account, Market, RiskParams
from prover.artifacts import CircuitArtifacts
from prover.backends import AUTO, prover_for, resolve_backend
from prover.batch_bundle import BatchBundle
from prover.errors import ProverError
from prover.node_worker import NodeWorker
from prover.prove_account import ProofMismatch, ProvesCircuits
from prover.prove_batch import prove_batch
from prover.toolchain import Toolchain
from zkmargin.keeper.jobs import Job, JobLog

logger = logging.getLogger("zkmargin.keeper.pool")

DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class ProofTask:
    """Everything the workers need to prove the jobs of one snapshot."""

    snapshot_id: str
    market: Market
    commitments: MarketCommitments
    params: RiskParams
    accounts: Mapping[int, Account]
    tree: AccountsTree  # the accounts tree whose root is posted on the gate
    accounts_epoch: int  # the gate's accounts epoch of that root


@dataclass(frozen=True)
class ProofTiming:
    """One finished proof: which worker, wall time, and the worker's witness/prove split."""

    worker: int
    batch: int
    accounts: int
    seconds: float
    witness_seconds: float
    prove_seconds: float
    finished_at: float


class ProverPool:
    """N threads, each with its own node worker and job-log connection."""

    def __init__(
        self,
        artifacts: CircuitArtifacts,
        db_path: Path,
        workers: int = 1,
        *,
        tools: Toolchain | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        on_change: Callable[[], None] | None = None,
        backend: str = AUTO,
    ) -> None:
        if workers < 1:
            raise ValueError("a prover pool needs at least one worker")
        self.backend = resolve_backend(backend)  # a missing native build fails here, clearly
        self.artifacts = artifacts
        self.db_path = Path(db_path)
        self.size = workers
        self.tools = tools
        self.max_attempts = max_attempts
        self.on_change = on_change
        self.timings: list[ProofTiming] = []
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._tasks: dict[str, ProofTask] = {}  # snapshot id -> its current market
        self._queued: set[tuple[str, int, str]] = set()  # (snapshot, batch, kind) queued or proving
        self._outstanding = 0  # queued or being proved
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._workers: list[NodeWorker] = []
        self._provers: list[ProvesCircuits] = []  # per worker: the node worker or a native backend

    # ------------------------------------------------------------ life cycle

    def start(self) -> ProverPool:
        """Start every node worker (snarkjs loaded, ready to prove) and its thread."""
        for index in range(self.size):
            worker = NodeWorker(self.tools).start()
            self._workers.append(worker)
            prover = prover_for(self.backend, worker)
            self._provers.append(prover)
            thread = threading.Thread(
                target=self._serve, args=(index, prover), name=f"prover-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        logger.info(
            "prover pool: %d worker(s) ready (%s, %s)", self.size, self.artifacts.spec.label, self.backend
        )
        return self

    def close(self) -> None:
        """Drop queued jobs (they stay ``pending`` in the log), stop threads and node workers."""
        try:
            while True:
                job = self._queue.get_nowait()
                if job is not None:
                    with self._lock:
                        self._outstanding -= 1
                        self._queued.discard((job.snapshot_id, job.batch, job.kind))
        except queue.Empty:
            pass
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=60)
        for prover in self._provers:
            stop = getattr(prover, "stop", None)
            if stop is not None:
                stop()  # a native backend's helper process too (rapidsnark)
        for worker in self._workers:
            worker.stop()
        self._threads.clear()
        self._workers.clear()
        self._provers.clear()

    def __enter__(self) -> ProverPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- feeding

    def enqueue(self, task: ProofTask, jobs: Iterable[Job]) -> int:
        """Make ``task`` its snapshot's current market and queue the ``pending`` jobs of that
        snapshot not already queued; returns how many were queued."""
        with self._lock:
            self._tasks[task.snapshot_id] = task
        count = 0
        for job in jobs:
            if job.state == "pending" and job.snapshot_id == task.snapshot_id and self._put(job):
                count += 1
        return count

    def current_task(self, snapshot_id: str) -> ProofTask | None:
        with self._lock:
            return self._tasks.get(snapshot_id)

    def _put(self, job: Job) -> bool:
        key = (job.snapshot_id, job.batch, job.kind)
        with self._lock:
            if key in self._queued:
                return False
            self._queued.add(key)
            self._outstanding += 1
        self._queue.put(job)
        return True

    def idle(self) -> bool:
        """True when nothing is queued or being proved."""
        with self._lock:
            return self._outstanding == 0

    # ----------------------------------------------------------------- workers

    def _serve(self, index: int, worker: ProvesCircuits) -> None:
        log = JobLog(self.db_path)
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    return
                key = (job.snapshot_id, job.batch, job.kind)
                requeue: Job | None = None
                try:
                    requeue = self._prove_one(index, worker, log, job)
                except Exception as exc:  # keep the worker alive; the job records why
                    logger.exception("prover %d: unexpected error on %s", index, job.label)
                    log.transition(job, "failed", expect="proving", reason=f"prover error: {exc}")
                finally:
                    with self._lock:
                        self._outstanding -= 1
                        self._queued.discard(key)
                    if requeue is not None:
                        self._put(requeue)
                    if self.on_change is not None:
                        self.on_change()
        finally:
            log.close()

    def _prove_one(self, index: int, worker: ProvesCircuits, log: JobLog, job: Job) -> Job | None:
        """Prove one job; returns the job when it went back to ``pending`` to be queued again."""
        task = self.current_task(job.snapshot_id)
        if task is None or not log.transition(job, "proving", expect="pending"):
            return None  # another worker took it, or it moved on
        attempt = job.attempts + 1
        job = dataclasses.replace(job, state="proving", attempts=attempt)
        again = dataclasses.replace(job, state="pending")
        missing = [i for i in job.account_ids if i not in task.accounts]
        if missing:
            log.transition(
                job, "failed", expect="proving", reason=f"account {missing[0]} is not in the accounts file"
            )
            return None
        accounts = [task.accounts[i] for i in job.account_ids]
        started = time.perf_counter()
        try:
            proved = prove_batch(
                task.market,
                task.params,
                accounts,
                task.tree,
                self.artifacts,
                worker,
                commitments=task.commitments,
                self_check=False,
            )
            if proved.entries != job.entries:
                raise ProofMismatch(
                    f"the proof's entries {_entries_text(proved.entries)} are not the ones the job was "
                    f"created for {_entries_text(job.entries)}"
                )
            paths = {i: task.tree.path(i) for i in job.account_ids}
            bundle = BatchBundle.of(proved, paths, accounts_epoch=task.accounts_epoch)
        except (InputError, ProofMismatch) as exc:
            log.transition(job, "failed", expect="proving", reason=str(exc))
            logger.error("%s: proof failed: %s", job.label, exc)
            return None
        except ProverError as exc:
            if attempt >= self.max_attempts:
                log.transition(
                    job, "failed", expect="proving", reason=f"after {attempt} attempts: {exc}", retryable=True
                )
                logger.error("%s: proof failed after %d attempts: %s", job.label, attempt, exc)
                return None
            logger.warning("%s: proof attempt %d failed (%s); retrying", job.label, attempt, exc)
            return again if log.transition(job, "pending", expect="proving") else None
        seconds = time.perf_counter() - started
        if self.current_task(job.snapshot_id) is not task:
            logger.info(
                "%s: proof for epoch %d dropped: the market was re-posted; proving again",
                job.label,
                task.market.epoch,
            )
            return again if log.transition(job, "pending", expect="proving") else None
        log.transition(job, "proved", expect="proving", bundle=json.dumps(bundle.to_dict()))
        result = proved.proof
        with self._lock:
            self.timings.append(
                ProofTiming(
                    index,
                    job.batch,
                    len(accounts),
                    seconds,
                    result.witness_seconds,
                    result.prove_seconds,
                    time.time(),
                )
            )
        logger.info("%s: proved in %.2f s (worker %d)", job.label, seconds, index)
        return None


def _entries_text(entries: Iterable[object]) -> str:
    return "[" + ", ".join(str(e) for e in entries) + "]"

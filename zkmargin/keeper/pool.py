"""A pool of N prover workers fed from the operator's job log.

Each worker is a thread that owns one long-lived node process (:class:`NodeWorker`,
snarkjs loaded once) and its own SQLite connection to the job log. A worker claims a
job with the guarded transition ``pending -> proving`` (so two workers never prove the
same job), proves the account with :func:`prover.prove_account.prove_account` (circuit
input, proof, the public signals checked against the engine), checks that status and
shortfall are also the ones the job was created for (the vectorised engine), and stores
the proof bundle with ``proving -> proved``. The proof is not verified again here: the
gate verifies it when the liquidation is simulated, before anything is sent.

A failed proof is retried up to ``max_attempts`` times (the worker process is
restarted by :class:`NodeWorker` if it died); bad input or a proof that disagrees
with the engine fails the job at once, with the reason. A job caught in ``proving``
by a crash goes back to ``pending`` on restart (``JobLog.recover``).
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

from engine.commitments import MarketCommitments
from engine.errors import InputError
from engine.model import Account, Market, RiskParams
from prover.artifacts import CircuitArtifacts
from prover.errors import ProverError
from prover.node_worker import NodeWorker
from prover.prove_account import ProofMismatch, prove_account
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


@dataclass(frozen=True)
class ProofTiming:
    """One finished proof: which worker, wall time, and the worker's witness/prove split."""

    worker: int
    account_id: int
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
    ) -> None:
        if workers < 1:
            raise ValueError("a prover pool needs at least one worker")
        self.artifacts = artifacts
        self.db_path = Path(db_path)
        self.size = workers
        self.tools = tools
        self.max_attempts = max_attempts
        self.on_change = on_change
        self.timings: list[ProofTiming] = []
        self._queue: queue.Queue[tuple[ProofTask, Job] | None] = queue.Queue()
        self._outstanding = 0  # queued or being proved
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._workers: list[NodeWorker] = []

    # ------------------------------------------------------------ life cycle

    def start(self) -> ProverPool:
        """Start every node worker (snarkjs loaded, ready to prove) and its thread."""
        for index in range(self.size):
            worker = NodeWorker(self.tools).start()
            self._workers.append(worker)
            thread = threading.Thread(
                target=self._serve, args=(index, worker), name=f"prover-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        logger.info("prover pool: %d worker(s) ready (%s)", self.size, self.artifacts.spec.label)
        return self

    def close(self) -> None:
        """Drop queued jobs (they stay ``pending`` in the log), stop threads and node workers."""
        try:
            while True:
                if self._queue.get_nowait() is not None:
                    with self._lock:
                        self._outstanding -= 1
        except queue.Empty:
            pass
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=60)
        for worker in self._workers:
            worker.stop()
        self._threads.clear()
        self._workers.clear()

    def __enter__(self) -> ProverPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- feeding

    def enqueue(self, task: ProofTask, jobs: Iterable[Job]) -> int:
        """Queue ``pending`` jobs of ``task``'s snapshot; returns how many were queued."""
        count = 0
        for job in jobs:
            if job.state == "pending" and job.snapshot_id == task.snapshot_id:
                self._put(task, job)
                count += 1
        return count

    def _put(self, task: ProofTask, job: Job) -> None:
        with self._lock:
            self._outstanding += 1
        self._queue.put((task, job))

    def idle(self) -> bool:
        """True when nothing is queued or being proved."""
        with self._lock:
            return self._outstanding == 0

    # ----------------------------------------------------------------- workers

    def _serve(self, index: int, worker: NodeWorker) -> None:
        log = JobLog(self.db_path)
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                try:
                    self._prove_one(index, worker, log, *item)
                except Exception as exc:  # keep the worker alive; the job records why
                    logger.exception("prover %d: unexpected error on account %s", index, item[1].account_id)
                    log.transition(item[1], "failed", expect="proving", reason=f"prover error: {exc}")
                finally:
                    with self._lock:
                        self._outstanding -= 1
                    if self.on_change is not None:
                        self.on_change()
        finally:
            log.close()

    def _prove_one(self, index: int, worker: NodeWorker, log: JobLog, task: ProofTask, job: Job) -> None:
        if not log.transition(job, "proving"):
            return  # another worker took it, or it moved on
        attempt = job.attempts + 1
        account = task.accounts.get(job.account_id)
        if account is None:
            log.transition(job, "failed", expect="proving", reason="account is not in the accounts file")
            return
        started = time.perf_counter()
        try:
            proved = prove_account(
                task.market,
                task.params,
                account,
                self.artifacts,
                worker,
                commitments=task.commitments,
                self_check=False,
            )
            bundle, result = proved.bundle, proved.proof
            if (bundle.status, bundle.shortfall) != (job.status, job.shortfall):
                raise ProofMismatch(
                    f"proof says status {bundle.status}, shortfall {bundle.shortfall}; the job was "
                    f"created for status {job.status}, shortfall {job.shortfall}"
                )
        except (InputError, ProofMismatch) as exc:
            log.transition(job, "failed", expect="proving", reason=str(exc))
            logger.error("account %d: proof failed: %s", job.account_id, exc)
            return
        except ProverError as exc:
            if attempt >= self.max_attempts:
                log.transition(job, "failed", expect="proving", reason=f"after {attempt} attempts: {exc}")
                logger.error("account %d: proof failed after %d attempts: %s", job.account_id, attempt, exc)
            else:
                logger.warning(
                    "account %d: proof attempt %d failed (%s); retrying", job.account_id, attempt, exc
                )
                if log.transition(job, "pending", expect="proving"):
                    self._put(task, dataclasses.replace(job, state="pending", attempts=attempt))
            return
        seconds = time.perf_counter() - started
        log.transition(job, "proved", expect="proving", bundle=json.dumps(bundle.to_dict()))
        with self._lock:
            self.timings.append(
                ProofTiming(
                    index, job.account_id, seconds, result.witness_seconds, result.prove_seconds, time.time()
                )
            )
        logger.info(
            "account %d: proved status %d in %.2f s (worker %d)",
            job.account_id,
            bundle.status,
            seconds,
            index,
        )

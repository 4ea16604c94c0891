"""The prover pool's bookkeeping: which jobs wait, in what order, and which are leased.

A job waits in the queue until the pool's dispatcher takes it for a free worker thread,
highest priority first: snapshots in the order they were first enqueued, and inside one its
batches by number (insolvent first, then by shortfall, largest first:
``engine/batching.py``). A job the dispatcher holds (its lease being made, or its proof
being checked and stored) is neither queued nor leased for a moment; the queue counts it
all the same, so that :meth:`ProofQueue.idle` is true only once every job given to the
pool has come out of it.

The queue holds jobs, not markets: a job is proved against its snapshot's *current*
:class:`ProofTask`, the one last given to :meth:`ProofQueue.enqueue`. When the keeper
re-posts a snapshot's market under a new epoch it enqueues the new task; queued jobs are
then proved against the new market, and a proof of the old one is dropped (the job goes
back to ``pending`` and is proved again).

Nothing here talks to the cluster or writes the job log (``zkmargin/keeper/pool.py`` does).
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.accounts_tree import AccountsTree
from engine.commitments import MarketCommitments
from engine.model import Account, Market, RiskParams
from prover.statements.prove_batch import BatchWork
from zkmargin.keeper.job_store import Job

JobKey = tuple[str, int, str]  # snapshot id, batch, kind: ``Job.key``


@dataclass(frozen=True)
class ProofTask:
    """Everything the head needs to build the inputs of one snapshot's jobs."""

    snapshot_id: str
    market: Market
    commitments: MarketCommitments
    params: RiskParams
    accounts: Mapping[int, Account]
    tree: AccountsTree  # the accounts tree whose root is posted on the gate
    accounts_epoch: int  # the gate's accounts epoch of that root


@dataclass
class Flight:
    """A leased job: its proof is being made on ``worker``."""

    job: Job  # as claimed: state proving, attempts = this lease's attempt
    worker: str
    task: ProofTask
    work: BatchWork
    future: Any
    head_seconds: float

    @property
    def attempt(self) -> int:
        return self.job.attempts

    @property
    def expiry(self) -> float:
        """When the lease runs out, as the log holds it."""
        assert self.job.lease_expiry is not None
        return self.job.lease_expiry


class ProofQueue:
    """The pool's jobs, queued or leased, and each snapshot's current task; thread-safe (the
    keeper enqueues and asks, the pool's dispatcher takes, leases and lands)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, ProofTask] = {}  # snapshot id -> its current market
        self._order: dict[str, int] = {}  # snapshot id -> order it was first enqueued
        self._heap: list[tuple[int, int, str, str]] = []  # (snapshot order, batch, kind, sid)
        self._queued: dict[JobKey, Job] = {}
        self._flights: dict[JobKey, Flight] = {}
        self._held: set[JobKey] = set()  # in the dispatcher's hands, between queue, lease and log

    # ------------------------------------------------------------ the keeper's side

    def enqueue(self, task: ProofTask, jobs: Iterable[Job]) -> int:
        """Make ``task`` its snapshot's current market and queue the ``pending`` jobs of that
        snapshot not already queued or leased; returns how many were queued."""
        count = 0
        with self._lock:
            self._tasks[task.snapshot_id] = task
            order = self._order.setdefault(task.snapshot_id, len(self._order))
            for job in jobs:
                if job.state != "pending" or job.snapshot_id != task.snapshot_id:
                    continue
                if job.key in self._queued or job.key in self._flights:
                    continue
                self._queued[job.key] = job
                heapq.heappush(self._heap, (order, job.batch, job.kind, job.snapshot_id))
                count += 1
        return count

    def current_task(self, snapshot_id: str) -> ProofTask | None:
        with self._lock:
            return self._tasks.get(snapshot_id)

    def idle(self) -> bool:
        """True when nothing is queued, leased or in the dispatcher's hands."""
        with self._lock:
            return not self._queued and not self._flights and not self._held

    def waiting(self) -> bool:
        """True when a job is queued."""
        with self._lock:
            return bool(self._queued)

    def leases(self) -> dict[str, int]:
        """Jobs leased per worker address now."""
        with self._lock:
            out: dict[str, int] = {}
            for flight in self._flights.values():
                out[flight.worker] = out.get(flight.worker, 0) + 1
            return out

    # ------------------------------------------------------- the dispatcher's side

    def take(self) -> Job | None:
        """The next queued job, highest priority first, now in the dispatcher's hands until
        :meth:`done`; None when nothing is queued."""
        with self._lock:
            while self._heap:
                _, batch, kind, sid = heapq.heappop(self._heap)
                job = self._queued.pop((sid, batch, kind), None)
                if job is not None:
                    self._held.add(job.key)
                    return job
        return None

    def fly(self, flight: Flight) -> None:
        """Record the lease ``flight``."""
        with self._lock:
            self._flights[flight.job.key] = flight

    def land(self, future: Any) -> Flight | None:
        """The lease whose proof ``future`` is, ended and in the dispatcher's hands until
        :meth:`done`; None when no lease has that future (it was lost)."""
        with self._lock:
            flight = next((f for f in self._flights.values() if f.future is future), None)
            if flight is not None:
                del self._flights[flight.job.key]
                self._held.add(flight.job.key)
            return flight

    def drop(self, flight: Flight) -> bool:
        """End the lease ``flight`` (lost), in the dispatcher's hands until :meth:`done`; False
        when it had ended already."""
        with self._lock:
            if self._flights.get(flight.job.key) is not flight:
                return False
            del self._flights[flight.job.key]
            self._held.add(flight.job.key)
            return True

    def done(self, key: JobKey) -> None:
        """The dispatcher is through with the job ``key`` (leased, queued again, or out)."""
        with self._lock:
            self._held.discard(key)

    def flights(self) -> list[Flight]:
        """The leases now."""
        with self._lock:
            return list(self._flights.values())

    def leased_keys(self) -> set[JobKey]:
        with self._lock:
            return set(self._flights)

    def clear(self) -> None:
        """Forget every queued job and lease (the pool stops; the tasks stay)."""
        with self._lock:
            self._flights.clear()
            self._queued.clear()
            self._heap.clear()
            self._held.clear()

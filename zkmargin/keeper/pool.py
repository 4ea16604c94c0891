"""The keeper's prover pool: batch jobs of the job log proved on a Dask cluster.

The head (this process) owns the job log and is the only writer to it. For each free
worker thread the cluster reports it takes the next ``pending`` job, highest priority first
(the batches of a snapshot are numbered insolvent first, then by shortfall, largest
first: ``engine/batching.py``), and **leases** it to that worker in the log: ``pending ->
proving`` with the worker's address, the next attempt number and an expiry
(``JobStore.claim``). It then builds the batch's circuit input (the head holds the accounts
and the tree; ``prover.statements.prove_batch.prepare_batch``) and submits only that input to the
worker, pinned to it; the worker proves it with the circuit it keeps loaded
(``prover.backends.remote``). When the proof comes back, the head checks its public signals against
the engine's and that its entries are the job's, and stores the batch proof bundle only if
the lease is still held (``JobStore.store_proof``, guarded by the attempt).

A lease is lost when its worker leaves the cluster (killed, crashed, disconnected: the
scheduler drops it) or when it runs out (``lease_seconds``): the job goes back to
``pending`` and is proved again on whichever worker is free, up to ``max_attempts``
leases, after which it fails as retryable (a later run proves it again). A proof that
comes back after its lease was lost is dropped (counted in :attr:`ProverPool.late`): a
job is proved, and so submitted, once. Bad input or a proof that disagrees with the
engine fails the job at once, with the reason. After a crash of the head, ``JobStore.recover``
puts every ``proving`` job back to ``pending`` (its lease died with the head).

Which jobs wait, in what order, against which market, and which are leased is the pool's
queue (``zkmargin/keeper/proof_queue.py``); this module is the cluster's side: leasing,
sending, and what comes back.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InputError
from prover.backends.choice import AUTO, resolve_backend
from prover.backends.remote import ProvingPlugin, RemoteProof, prove_on_worker
from prover.errors import ProofMismatch, ProverError
from prover.keys.artifacts import CircuitArtifacts
from prover.statements.batch_bundle import BatchBundle
from prover.statements.prove_batch import BatchWork, finish_batch, prepare_batch
from zkmargin.keeper.cluster import LOCAL, ProvingCluster
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.job_store import Job
from zkmargin.keeper.proof_queue import Flight, ProofQueue, ProofTask

logger = logging.getLogger("zkmargin.keeper.pool")

DEFAULT_MAX_ATTEMPTS = 3
#: A lease runs out after this long (seconds) unless its proof is back: far above one
#: batch proof (about 14 s for K = 32 of the test profile here), far below "stuck".
DEFAULT_LEASE_SECONDS = 600.0
_TICK = 0.2  # seconds between looks at the cluster when nothing happens
_SWEEP_EVERY = 5.0  # seconds between looks at the log's leases for ones nobody holds


@dataclass(frozen=True)
class ProofTiming:
    """One proof kept: which worker, its time there, and the head's own time for it."""

    worker: str
    batch: int
    accounts: int
    seconds: float  # on the worker (witness + proof)
    witness_seconds: float
    prove_seconds: float
    head_seconds: float  # on the head: lease, input, checks, bundle, log
    finished_at: float


class ProverPool:
    """Leases the job log's pending jobs to the workers of a Dask cluster and stores their proofs."""

    def __init__(
        self,
        artifacts: CircuitArtifacts,
        db_path: Path,
        workers: int = 1,
        *,
        cluster: str = LOCAL,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        prover_threads: int | None = None,
        on_change: Callable[[], None] | None = None,
        backend: str = AUTO,
    ) -> None:
        if workers < 1:
            raise ValueError("a prover pool needs at least one worker")
        if lease_seconds <= 0:
            raise ValueError("a lease must last a positive number of seconds")
        self.backend = resolve_backend(backend)  # a missing native build fails here, clearly
        self.artifacts = artifacts
        self.db_path = Path(db_path)
        self.cluster = ProvingCluster(cluster, workers)
        self.max_attempts = max_attempts
        self.lease_seconds = lease_seconds
        # arkworks threads per worker: a local cluster shares this machine's cores among its
        # workers; a remote worker uses every core of its machine unless told otherwise
        if prover_threads is None:
            prover_threads = max(1, (os.cpu_count() or 1) // workers) if self.cluster.is_local else 0
        self.prover_threads = prover_threads
        self.on_change = on_change
        self.timings: list[ProofTiming] = []
        self.late = 0  # proofs back after their lease was lost: dropped
        self.lost_leases = 0
        self._queue = ProofQueue()
        self._late_futures: dict[Any, Flight] = {}
        self._done: queue.Queue[Any] = queue.Queue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._log: JobLog | None = None
        self._waiting_logged = False
        self._swept = 0.0

    # ------------------------------------------------------------ life cycle

    @property
    def size(self) -> int:
        """Worker threads the cluster has now (a local cluster: its worker count until started)."""
        if self.cluster.client is None:
            return self.cluster.local_workers
        return sum(w.threads for w in self.cluster.workers().values()) or 0

    def start(self) -> ProverPool:
        """Start (or join) the cluster, load the circuit on every worker, start dispatching."""
        self.cluster.start()
        try:
            plugin = ProvingPlugin(
                self.artifacts.wasm, self.artifacts.zkey, self.backend, threads=self.prover_threads
            )
            self._zkey_sha256 = plugin.zkey_sha256
            self.cluster.client.register_plugin(plugin)
        except Exception:
            self.cluster.close()
            raise
        self._log = JobLog(self.db_path)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="prover-pool", daemon=True)
        self._thread.start()
        workers = self.cluster.workers(fresh=True)
        logger.info(
            "prover pool: %d worker(s) ready (%s, %s) on %s",
            len(workers),
            self.artifacts.spec.label,
            self.backend,
            "a local Dask cluster" if self.cluster.is_local else f"the Dask scheduler {self.cluster.address}",
        )
        return self

    def close(self) -> None:
        """Stop dispatching; leased jobs go back to ``pending`` (queued ones stay there)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        if self._log is not None:
            for flight in self._queue.flights():
                self._log.jobs.release(flight.job, flight.attempt, "the keeper stopped while it was proved")
                flight.future.cancel()
            self._log.close()
            self._log = None
        self._queue.clear()
        self.cluster.close()

    def __enter__(self) -> ProverPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- feeding

    def enqueue(self, task: ProofTask, jobs: Iterable[Job]) -> int:
        """Make ``task`` its snapshot's current market and queue the ``pending`` jobs of that
        snapshot not already queued or leased; returns how many were queued."""
        count = self._queue.enqueue(task, jobs)
        self._wake.set()
        return count

    def current_task(self, snapshot_id: str) -> ProofTask | None:
        return self._queue.current_task(snapshot_id)

    def idle(self) -> bool:
        """True when nothing is queued or being proved (nor its lease or proof being
        handled by the head)."""
        return self._queue.idle()

    def leases(self) -> dict[str, int]:
        """Jobs leased per worker address now."""
        return self._queue.leases()

    # ----------------------------------------------------------- dispatching

    def _run(self) -> None:
        assert self._log is not None
        log = self._log
        while not self._stop.is_set():
            try:
                self._collect(log)
                self._check_leases(log)
                self._dispatch(log)
            except Exception:  # keep dispatching; the next tick looks again
                logger.exception("prover pool: unexpected error")
            self._wake.wait(_TICK)
            self._wake.clear()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _dispatch(self, log: JobLog) -> None:
        if not self._queue.waiting():
            return
        workers = self.cluster.workers()
        if not workers:
            if not self._waiting_logged:
                logger.warning("prover pool: the cluster has no worker; jobs wait for one")
                self._waiting_logged = True
            return
        self._waiting_logged = False
        busy = self.leases()
        for address, info in sorted(workers.items()):
            for _ in range(max(0, info.threads - busy.get(address, 0))):
                job = self._queue.take()
                if job is None:
                    return
                try:
                    self._lease(log, job, address)
                finally:
                    self._queue.done(job.key)

    def _lease(self, log: JobLog, job: Job, worker: str) -> None:
        started = time.perf_counter()
        task = self.current_task(job.snapshot_id)
        if task is None:
            return
        claimed = log.jobs.claim(job, worker, self.lease_seconds)
        if claimed is None:
            return  # it moved on (requeued by the operator, failed, ...)
        missing = [i for i in claimed.account_ids if i not in task.accounts]
        if missing:
            log.jobs.release(
                claimed, claimed.attempts, f"account {missing[0]} is not in the accounts file", fail=True
            )
            self._changed()
            return
        try:
            work = prepare_batch(
                task.market,
                task.params,
                [task.accounts[i] for i in claimed.account_ids],
                task.tree,
                self.artifacts,
                commitments=task.commitments,
            )
        except (InputError, ProverError) as exc:
            log.jobs.release(claimed, claimed.attempts, str(exc), fail=True)
            logger.error("%s: cannot be proved: %s", claimed.label, exc)
            self._changed()
            return
        try:
            future = self._submit(job, claimed.attempts, work, worker)
        except Exception as exc:  # the scheduler went away, say: the lease ends, the job waits
            logger.warning("%s: could not be sent to %s (%s); it waits", claimed.label, worker, exc)
            self._release_again(log, claimed, claimed.attempts, f"could not be sent to {worker}: {exc}")
            return
        flight = Flight(claimed, worker, task, work, future, time.perf_counter() - started)
        self._queue.fly(flight)
        future.add_done_callback(self._on_done)
        logger.debug("%s: leased to %s (attempt %d)", claimed.label, worker, claimed.attempts)

    def _submit(self, job: Job, attempt: int, work: BatchWork, worker: str) -> Any:
        return self.cluster.client.submit(
            prove_on_worker,
            work.circuit_input,
            self._zkey_sha256,
            key=f"prove-{job.snapshot_id[:12]}-{job.kind}-{job.batch}-{attempt}",
            workers=[worker],
            allow_other_workers=False,
            pure=False,
            retries=0,
        )

    def _on_done(self, future: Any) -> None:
        self._done.put(future)  # on the client's event loop: only hand it over
        self._wake.set()

    # ------------------------------------------------------------- results

    def _collect(self, log: JobLog) -> None:
        while True:
            try:
                future = self._done.get_nowait()
            except queue.Empty:
                return
            flight = self._queue.land(future)
            if flight is None:
                late = self._late_futures.pop(future, None)
                if late is not None and future.status == "finished":
                    self._late_proof(late, future)
                continue
            try:
                self._finish(log, flight)
            finally:
                self._queue.done(flight.job.key)
            self._changed()

    def _late_proof(self, flight: Flight, future: Any) -> None:
        """A proof back after its lease ran out: dropped (the lease was released, so the
        attempt guard of ``JobStore.store_proof`` would refuse it as well)."""
        remote: RemoteProof = future.result()
        self.late += 1
        logger.warning(
            "%s: proof of attempt %d from %s came back after its lease ran out: dropped",
            flight.job.label,
            flight.attempt,
            remote.worker,
        )

    def _finish(self, log: JobLog, flight: Flight) -> None:
        job, attempt = flight.job, flight.attempt
        future = flight.future
        if future.status != "finished":
            exc = future.exception() if future.status == "error" else None
            self._retry(log, flight, f"{type(exc).__name__}: {exc}" if exc else f"task {future.status}")
            return
        started = time.perf_counter()
        remote: RemoteProof = future.result()
        if self.current_task(job.snapshot_id) is not flight.task:
            logger.info(
                "%s: proof for epoch %d dropped: the market was re-posted; proving again",
                job.label,
                flight.task.market.epoch,
            )
            self._release_again(log, job, attempt, "market re-posted: proved again")
            return
        try:
            proved = finish_batch(flight.work, remote.result, self.artifacts, self_check=False)
            if proved.entries != job.entries:
                raise ProofMismatch(
                    f"the proof's entries {_entries_text(proved.entries)} are not the ones the job was "
                    f"created for {_entries_text(job.entries)}"
                )
            paths = {i: flight.task.tree.path(i) for i in job.account_ids}
            bundle = BatchBundle.of(proved, paths, accounts_epoch=flight.task.accounts_epoch)
        except ProofMismatch as exc:
            log.jobs.release(job, attempt, str(exc), fail=True)
            logger.error("%s: proof failed: %s", job.label, exc)
            return
        if not log.jobs.store_proof(
            job, attempt, json.dumps(bundle.to_dict()), remote.worker, remote.seconds
        ):
            self.late += 1
            logger.warning("%s: proof of attempt %d dropped: its lease was lost", job.label, attempt)
            return
        result = remote.result
        with self._lock:
            self.timings.append(
                ProofTiming(
                    remote.worker,
                    job.batch,
                    len(job.entries),
                    remote.seconds,
                    result.witness_seconds,
                    result.prove_seconds,
                    flight.head_seconds + time.perf_counter() - started,
                    time.time(),
                )
            )
        logger.info("%s: proved in %.2f s on %s", job.label, remote.seconds, remote.worker)

    def _retry(self, log: JobLog, flight: Flight, why: str) -> None:
        """A lease that ended without a proof: prove again elsewhere, or fail as retryable."""
        job, attempt = flight.job, flight.attempt
        if attempt >= self.max_attempts:
            log.jobs.release(job, attempt, f"after {attempt} attempts: {why}", fail=True, retryable=True)
            logger.error("%s: proof failed after %d attempts: %s", job.label, attempt, why)
            self._changed()
            return
        logger.warning(
            "%s: attempt %d on %s failed (%s); proving it again", job.label, attempt, flight.worker, why
        )
        self._release_again(log, job, attempt, f"attempt {attempt} on {flight.worker}: {why}")

    def _release_again(self, log: JobLog, job: Job, attempt: int, reason: str) -> None:
        """End lease ``attempt`` of ``job`` and queue the job again (it is proved elsewhere)."""
        if log.jobs.release(job, attempt, reason):
            again = log.jobs.get(job.key)
            task = self.current_task(job.snapshot_id)
            if again is not None and task is not None:
                self.enqueue(task, [again])
        self._changed()

    def _check_leases(self, log: JobLog) -> None:
        """Leases whose worker left the cluster, or that ran out, are lost; so is a lease the
        log holds that no task of this pool stands behind (the log's expiry is the rule)."""
        now = time.time()
        if now - self._swept >= _SWEEP_EVERY:
            self._swept = now
            held = self._queue.leased_keys()
            for job in log.jobs.select(state="proving"):
                if job.key not in held and job.lease_expiry is not None and job.lease_expiry < now:
                    self.lost_leases += 1
                    self._release_again(log, job, job.attempts, f"lease of {job.lease_worker} ran out")
        flights = self._queue.flights()
        if not flights:
            return
        workers = self.cluster.workers()
        for flight in flights:
            gone = flight.worker not in workers
            if not gone and now < flight.expiry:
                continue
            if not self._queue.drop(flight):
                continue
            self.lost_leases += 1
            if gone:
                flight.future.cancel()
                why = f"worker {flight.worker} left the cluster"
            else:
                self._late_futures[flight.future] = flight  # its proof, if it comes, is dropped
                why = f"lease of {self.lease_seconds:g} s ran out"
            try:
                self._retry(log, flight, why)
            finally:
                self._queue.done(flight.job.key)


def _entries_text(entries: Iterable[object]) -> str:
    return "[" + ", ".join(str(e) for e in entries) + "]"

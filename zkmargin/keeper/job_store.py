"""The job log's jobs: one row per (snapshot, batch) proof job.

A job is a batch of up to K accounts proven in one ``MarginBatch`` proof and settled in
one ``liquidateBatch`` transaction (docs/batching.md). Its states and every move between
them are declared in :data:`zkmargin.keeper.states.JOB_TRANSITIONS`; each method here that
changes a state is one of those edges and goes through :meth:`JobStore._move`, which
refuses an edge the table lacks. Every change is one committed transaction, guarded by
the state the caller saw (and, for leases, by the attempt), so a stale view never moves a
job twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.batch_statement import BatchEntry
from zkmargin.keeper.log_db import LogDatabase
from zkmargin.keeper.states import FIRST_JOB_STATE, JOB_STATES, check_job_edge

if TYPE_CHECKING:
    from prover.statements.batch_bundle import BatchBundle

_KEY = "snapshot_id = ? AND batch = ? AND kind = ?"


@dataclass(frozen=True)
class Job:
    """One batch of a snapshot: its accounts' entries as the engine computed them."""

    snapshot_id: str
    batch: int
    kind: str
    state: str
    entries: tuple[BatchEntry, ...]
    bundle: str | None
    tx_hash: str | None
    reason: str | None
    attempts: int
    final: bool = False  # a confirmed job whose block has enough confirmations
    retryable: bool = False  # failed for a reason a later run can fix (a stale market, a prover crash)
    outcome: dict[int, str] | None = None  # once confirmed: per account, opened / open / closed
    lease_worker: str | None = None  # while proving: the worker holding the lease
    lease_expiry: float | None = None  # while proving: when the lease runs out
    proved_by: str | None = None  # the worker whose proof was kept
    proved_at: float | None = None  # when it was stored
    prove_seconds: float | None = None  # how long it took on its worker

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.snapshot_id, self.batch, self.kind)

    @property
    def account_ids(self) -> list[int]:
        return [e.account_id for e in self.entries]

    @property
    def label(self) -> str:
        ids = self.account_ids
        shown = ", ".join(str(i) for i in ids[:4]) + (", ..." if len(ids) > 4 else "")
        return f"batch {self.batch} ({len(ids)} account(s): {shown})"

    @property
    def proof(self) -> BatchBundle:
        """The batch proof bundle kept for this job (once proved)."""
        from prover.statements.batch_bundle import BatchBundle  # py_ecc: only where proofs are read

        assert self.bundle is not None, f"{self.label} has no proof"
        return BatchBundle.from_dict(json.loads(self.bundle))

    @property
    def unfinal(self) -> bool:
        """Confirmed, but its block does not have the confirmations yet."""
        return self.state == "confirmed" and not self.final


def _entries_json(entries: Sequence[BatchEntry]) -> str:
    return json.dumps([[str(e.account_id), e.status, str(e.shortfall)] for e in entries])


def _entries_of(text: str) -> tuple[BatchEntry, ...]:
    return tuple(BatchEntry(int(i), int(s), int(sh)) for i, s, sh in json.loads(text))


@dataclass(frozen=True)
class Progress:
    """How proving goes (``JobStore.progress``)."""

    counts: dict[str, int]
    proofs_per_second: float  # proofs kept per second over the window
    workers: list[str]  # holding a lease now or proving in the window
    leased: int  # workers holding a lease now
    busy_seconds: float  # worker time of the proofs kept in the window
    eta_seconds: float | None  # pending + proving jobs at that rate; None without a rate
    window: float


class JobStore:
    """The ``jobs`` table of a job log."""

    def __init__(self, db: LogDatabase) -> None:
        self._db = db

    def _move(self, old: Sequence[str], new: str, sets: str, where: str, args: Sequence[object]) -> int:
        """The one UPDATE of a job's state: jobs matching ``where`` and in one of ``old``
        move to ``new`` (setting ``sets`` too), each ``old -> new`` an edge of the table.
        Returns how many moved. ``args``: those of ``sets``, then those of ``where``."""
        for state in old:
            check_job_edge(state, new)
        marks = ", ".join("?" for _ in old)
        with self._db.transaction() as db:
            cur = db.execute(
                f"UPDATE jobs SET state = ?, {sets}, updated_at = ? WHERE {where} AND state IN ({marks})",
                (new, *args[: sets.count("?")], time.time(), *args[sets.count("?") :], *old),
            )
            return cur.rowcount

    # ------------------------------------------------------------ reading

    def add(self, snapshot_id: str, kind: str, batches: Sequence[Sequence[BatchEntry]]) -> int:
        """Create the snapshot's jobs, one per batch (numbered 0, 1, ... in the given order),
        in state ``pending``, unless the snapshot has jobs of ``kind`` already: the batches
        of a snapshot are fixed when they are first made (idempotent). Returns how many were
        new."""
        now = time.time()
        with self._db.transaction() as db:
            (existing,) = db.execute(
                "SELECT COUNT(*) FROM jobs WHERE snapshot_id = ? AND kind = ?", (snapshot_id, kind)
            ).fetchone()
            if existing:
                return 0
            db.executemany(
                "INSERT INTO jobs (snapshot_id, batch, kind, state, entries, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (snapshot_id, n, kind, FIRST_JOB_STATE, _entries_json(b), now, now)
                    for n, b in enumerate(batches)
                    if b
                ],
            )
            return sum(1 for b in batches if b)

    def select(self, snapshot_id: str | None = None, state: str | None = None) -> list[Job]:
        """The jobs (of ``snapshot_id``, in ``state``), oldest first, by batch."""
        where, args = "1 = 1", []
        if snapshot_id is not None:
            where += " AND snapshot_id = ?"
            args.append(snapshot_id)
        if state is not None:
            where += " AND state = ?"
            args.append(state)
        return self._rows(where, tuple(args))

    def get(self, key: tuple[str, int, str]) -> Job | None:
        """One job by (snapshot, batch, kind)."""
        found = self._rows(_KEY, key)
        return found[0] if found else None

    def _rows(self, where: str, args: tuple[object, ...]) -> list[Job]:
        sql = (
            "SELECT snapshot_id, batch, kind, state, entries, bundle, tx_hash, reason, "
            "attempts, final, retryable, outcome, lease_worker, lease_expiry, proved_by, proved_at, "
            f"prove_seconds FROM jobs WHERE {where} ORDER BY created_at, batch, kind"
        )
        return [
            Job(
                r[0],
                int(r[1]),
                r[2],
                r[3],
                _entries_of(r[4]),
                r[5],
                r[6],
                r[7],
                int(r[8]),
                bool(r[9]),
                bool(r[10]),
                None if r[11] is None else {int(k): v for k, v in json.loads(r[11]).items()},
                r[12],
                r[13],
                r[14],
                r[15],
                r[16],
            )
            for r in self._db.read(sql, args).fetchall()
        ]

    def counts(self) -> dict[str, int]:
        """Jobs by state (every state, 0 when none)."""
        out = dict.fromkeys(JOB_STATES, 0)
        for state, n in self._db.read("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
            out[state] = int(n)
        return out

    # ------------------------------------------------------------ moving

    def transition(
        self,
        job: Job,
        new_state: str,
        *,
        expect: str | None = None,
        bundle: str | None = None,
        tx_hash: str | None = None,
        reason: str | None = None,
        retryable: bool = False,
        outcome: dict[int, str] | None = None,
    ) -> bool:
        """Move ``job`` to ``new_state`` if it is still in ``expect`` (default: its
        current state). Returns False when another writer moved it first. ``retryable``
        (with ``failed``): the reason is one a later run can fix, so the snapshot is not
        done and the next run proves the job again. ``outcome``: what became of each
        account (with ``confirmed``)."""
        expected = expect if expect is not None else job.state
        outcome_json = None if outcome is None else json.dumps({str(k): v for k, v in outcome.items()})
        sets = (
            "bundle = COALESCE(?, bundle), tx_hash = COALESCE(?, tx_hash), reason = ?, "
            "attempts = attempts + ?, retryable = ?, outcome = COALESCE(?, outcome)"
        )
        args = (
            bundle,
            tx_hash,
            reason,
            int(new_state == "proving"),
            int(retryable and new_state == "failed"),
            outcome_json,
            *job.key,
        )
        return self._move((expected,), new_state, sets, _KEY, args) == 1

    def claim(self, job: Job, worker: str, lease_seconds: float) -> Job | None:
        """Lease a ``pending`` job to ``worker`` for ``lease_seconds``: ``pending -> proving``
        with the next attempt number; ``None`` if it is no longer pending. Only a proof of
        this attempt, back while the lease is held, is stored (:meth:`store_proof`)."""
        sets = "attempts = attempts + 1, lease_worker = ?, lease_expiry = ?"
        moved = self._move(
            ("pending",), "proving", sets, _KEY, (worker, time.time() + lease_seconds, *job.key)
        )
        return self.get(job.key) if moved == 1 else None

    def store_proof(self, job: Job, attempt: int, bundle: str, worker: str, seconds: float) -> bool:
        """Keep the proof of lease ``attempt`` (``proving -> proved``); False, and nothing
        written, when that lease was lost or re-let meanwhile: a late proof is dropped, so a
        job is proved (and later submitted) once whatever came back."""
        sets = (
            "bundle = ?, reason = NULL, lease_worker = NULL, lease_expiry = NULL, proved_by = ?, "
            "proved_at = ?, prove_seconds = ?"
        )
        where = f"{_KEY} AND attempts = ?"
        return (
            self._move(
                ("proving",), "proved", sets, where, (bundle, worker, time.time(), seconds, *job.key, attempt)
            )
            == 1
        )

    def release(
        self, job: Job, attempt: int, reason: str, *, fail: bool = False, retryable: bool = False
    ) -> bool:
        """End lease ``attempt``: the job goes back to ``pending`` (to be proved again,
        elsewhere) or, with ``fail``, to ``failed``; False when that lease was not held."""
        sets = "reason = ?, retryable = ?, lease_worker = NULL, lease_expiry = NULL"
        where = f"{_KEY} AND attempts = ?"
        new = "failed" if fail else "pending"
        return (
            self._move(("proving",), new, sets, where, (reason, int(fail and retryable), *job.key, attempt))
            == 1
        )

    def mark_final(self, job: Job) -> bool:
        """A confirmed job whose block has enough confirmations is final."""
        return self._move(("confirmed",), "confirmed", "final = 1", _KEY, job.key) == 1

    def requeue(self, job: Job, reason: str, *, expect: str | None = None) -> bool:
        """Send a ``proved`` or ``submitted`` job back to ``pending`` without its proof (the
        market it was proven against is no longer the gate's latest): it is proven again."""
        expected = expect if expect is not None else job.state
        if expected not in ("proved", "submitted"):
            raise ValueError(f"only proved or submitted jobs are requeued, not {expected!r}")
        return self._move((expected,), "pending", "bundle = NULL, reason = ?", _KEY, (reason, *job.key)) == 1

    def requeue_proved(self, snapshot_id: str, reason: str) -> int:
        """Every ``proved`` job of ``snapshot_id`` back to ``pending`` without its proof (its
        market was re-posted under a new root); returns how many."""
        return self._move(
            ("proved",), "pending", "bundle = NULL, reason = ?", "snapshot_id = ?", (reason, snapshot_id)
        )

    def retry_failed(self, snapshot_id: str, *, every: bool = False) -> int:
        """Jobs of ``snapshot_id`` that failed for a reason a later run can fix (``every``:
        every failed job, for a snapshot the chain no longer holds) go back to ``pending``
        (keeping the reason until they move on); returns how many."""
        sets = "bundle = NULL, retryable = 0, attempts = 0"
        where = "snapshot_id = ?" if every else "snapshot_id = ? AND retryable = 1"
        return self._move(("failed",), "pending", sets, where, (snapshot_id,))

    def reopen(self, job: Job, reason: str, *, final_too: bool = False) -> bool:
        """A confirmed, not final job whose receipt vanished (a reorg) goes back to
        ``submitted``: it keeps its transaction hash and is settled again. ``final_too``:
        a final one as well (a reorganisation deeper than the confirmations, found later)."""
        where = _KEY if final_too else f"{_KEY} AND final = 0"
        return (
            self._move(("confirmed",), "submitted", "final = 0, reason = ?", where, (reason, *job.key)) == 1
        )

    def recover(self) -> int:
        """After a crash: jobs caught in ``proving`` go back to ``pending``.
        (``submitted`` jobs keep their tx hash and are reconciled by the keeper.)"""
        return self._move(("proving",), "pending", "lease_worker = NULL, lease_expiry = NULL", "1 = 1", ())

    # ------------------------------------------------------------ progress

    def progress(self, window: float = 60.0, now: float | None = None) -> Progress:
        """Jobs by state, proofs kept per second over the last ``window`` seconds, the
        workers holding leases or proving in that window, and the time the jobs left to
        prove would take at that rate (what ``operator status`` and the live display show)."""
        now = time.time() if now is None else now
        since = now - window
        counts = self.counts()
        (recent, first) = self._db.read(
            "SELECT COUNT(*), MIN(proved_at) FROM jobs WHERE proved_at IS NOT NULL AND proved_at >= ?",
            (since,),
        ).fetchone()
        leased = {
            str(w)
            for (w,) in self._db.read(
                "SELECT DISTINCT lease_worker FROM jobs WHERE state = 'proving' AND lease_worker IS NOT NULL"
            )
        }
        proving = {
            str(w)
            for (w,) in self._db.read(
                "SELECT DISTINCT proved_by FROM jobs WHERE proved_by IS NOT NULL AND proved_at >= ?", (since,)
            )
        }
        (busy,) = self._db.read(
            "SELECT COALESCE(SUM(prove_seconds), 0) FROM jobs WHERE proved_at IS NOT NULL AND proved_at >= ?",
            (since,),
        ).fetchone()
        span = min(window, now - float(first)) if recent else 0.0
        rate = recent / span if recent and span > 0 else 0.0
        left = counts["pending"] + counts["proving"]
        return Progress(
            counts=counts,
            proofs_per_second=rate,
            workers=sorted(leased | proving),
            leased=len(leased),
            busy_seconds=float(busy),
            eta_seconds=(left / rate) if rate > 0 else None,
            window=window,
        )

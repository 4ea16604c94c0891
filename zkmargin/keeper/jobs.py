"""The operator's durable job log (SQLite).

One row per (snapshot, batch) proof job: a batch of up to K accounts proven in one
``MarginBatch`` proof and settled in one ``liquidateBatch`` transaction
(docs/batching.md), moving through

    pending -> proving -> proved -> submitted -> confirmed
    any active state -> failed (with the reason)
    proved, submitted -> pending (the market was re-posted under a new epoch: proved again)
    failed (retryable) -> pending (a later run, for a reason a later run can fix)

and one row per market snapshot (``new`` -> ``posted`` -> ``done``, or ``failed``
with the reason; its quotes' ``as_of`` date is kept, so that a snapshot older than one
already processed can be refused). Every state
change is one committed transaction, so a crash (even SIGKILL) loses at most the
work in flight: on restart ``proving`` jobs go back to ``pending`` (the proof is
simply made again) and ``submitted`` jobs are reconciled against the chain by the
transaction hash recorded *before* the transaction was broadcast, so no
liquidation is ever sent twice. The signed bytes of every transaction are kept
next to its hash (table ``txs``), so one recorded but never broadcast can be sent
again unchanged: same hash, same nonce, never a second transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engine.batch_statement import BatchEntry
from engine.errors import ZkmarginError

JOB_STATES = ("pending", "proving", "proved", "submitted", "confirmed", "failed")
SNAPSHOT_STATES = ("new", "posted", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id TEXT PRIMARY KEY,      -- sha256 of the snapshot file
    source      TEXT NOT NULL,         -- file it came from
    epoch       INTEGER NOT NULL,
    market_root TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('new', 'posted', 'done', 'failed')),
    post_tx     TEXT,                  -- postMarket tx hash, recorded before broadcast
    accounts    INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    reason      TEXT,                  -- why it failed
    as_of       TEXT                   -- the quotes' as_of date (ISO), NULL if unknown
);
CREATE TABLE IF NOT EXISTS jobs (
    snapshot_id TEXT NOT NULL REFERENCES snapshots(snapshot_id),
    batch       INTEGER NOT NULL,      -- 0, 1, ... in priority order within the snapshot
    kind        TEXT NOT NULL CHECK (kind IN ('liquidate', 'attest')),
    state       TEXT NOT NULL CHECK (state IN
                ('pending', 'proving', 'proved', 'submitted', 'confirmed', 'failed')),
    entries     TEXT NOT NULL,         -- JSON [[id, status, shortfall], ...] in id order, as
                                       -- the engine computed them (shortfall capped, text)
    outcome     TEXT,                  -- JSON {id: opened | open | closed} once confirmed
    bundle      TEXT,                  -- batch proof bundle JSON once proved
    tx_hash     TEXT,                  -- recorded before broadcast
    reason      TEXT,                  -- why it failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    final       INTEGER NOT NULL DEFAULT 0,  -- 1 once a confirmed job has its confirmations
    retryable   INTEGER NOT NULL DEFAULT 0,  -- 1: failed for a reason a later run can fix
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    lease_worker TEXT,                 -- while proving: the prover worker that holds the job
    lease_expiry REAL,                 -- while proving: when its lease runs out (unix time)
    proved_by   TEXT,                  -- the worker whose proof was kept
    proved_at   REAL,                  -- when that proof was stored
    prove_seconds REAL,                -- how long it took on the worker
    PRIMARY KEY (snapshot_id, batch, kind)
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL          -- format: zkmargin/joblog@2
);
CREATE TABLE IF NOT EXISTS commitments (
    state       BLOB PRIMARY KEY,      -- sha256 of an account's committed state (accounts_source)
    commitment  TEXT NOT NULL          -- its commitment (spec section 5), decimal
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS txs (
    tx_hash     TEXT PRIMARY KEY,      -- 0x-prefixed keccak of raw
    raw         TEXT NOT NULL,         -- signed transaction, 0x-prefixed hex
    sender      TEXT NOT NULL,
    nonce       INTEGER NOT NULL,
    purpose     TEXT NOT NULL,         -- e.g. "liquidateBatch 0 epoch 2", "postMarket epoch 7"
    created_at  REAL NOT NULL
);
"""


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


def _entries_json(entries: Sequence[BatchEntry]) -> str:
    return json.dumps([[str(e.account_id), e.status, str(e.shortfall)] for e in entries])


def _entries_of(text: str) -> tuple[BatchEntry, ...]:
    return tuple(BatchEntry(int(i), int(s), int(sh)) for i, s, sh in json.loads(text))


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    source: str
    epoch: int
    market_root: int
    state: str
    post_tx: str | None
    accounts: int
    reason: str | None = None
    as_of: str | None = None  # ISO date of the quotes; None for a failed read or an older log


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction recorded before broadcast."""

    tx_hash: str
    raw: str
    sender: str
    nonce: int
    purpose: str
    created_at: float = field(default=0.0, compare=False)  # when it was recorded


@dataclass(frozen=True)
class Progress:
    """How proving goes (``JobLog.progress``)."""

    counts: dict[str, int]
    proofs_per_second: float  # proofs kept per second over the window
    workers: list[str]  # holding a lease now or proving in the window
    leased: int  # workers holding a lease now
    busy_seconds: float  # worker time of the proofs kept in the window
    eta_seconds: float | None  # pending + proving jobs at that rate; None without a rate
    window: float


#: Columns added to ``jobs`` with leases (a log written before them is migrated in place).
_LEASE_COLUMNS = (
    ("lease_worker", "TEXT"),
    ("lease_expiry", "REAL"),
    ("proved_by", "TEXT"),
    ("proved_at", "REAL"),
    ("prove_seconds", "REAL"),
)

#: What a job log says it is (table ``meta``); a file without it is not opened for writing
#: unless it is empty. A log of an earlier format (``@1``: one account per job, for the
#: retired per-account gate) is refused with a message saying so.
LOG_FORMAT = "zkmargin/joblog@2"
OLDER_FORMATS = ("zkmargin/joblog@1",)
_OWN_TABLES = {"snapshots", "jobs", "txs", "meta", "commitments"}
_SQLITE_HEADER = b"SQLite format 3\x00"


class JobLogError(ZkmarginError):
    """The file is not a job log, is damaged, or cannot be written; the message says which."""


class JobLog:
    """SQLite-backed job log; safe to reopen after a crash.

    Opening checks the file first: an existing file must be an SQLite database holding a
    zkmargin job log (or nothing at all), else :class:`JobLogError` names what it is and
    nothing is written into it. ``read_only`` opens an existing log without any write
    (for ``operator status``).
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        existing = self.path.exists() and self.path.stat().st_size > 0
        if existing:
            _check_header(self.path)
        elif read_only:
            raise JobLogError(f"no job log at {self.path}")
        try:
            if read_only:
                uri = f"file:{self.path.resolve()}?mode=ro"
                self._db = sqlite3.connect(
                    uri, uri=True, isolation_level=None, timeout=30, check_same_thread=False
                )
                self._check_tables(required=True)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, one transaction per change.
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            self._check_tables(required=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc) or "read-only" in str(exc):
                raise JobLogError(f"cannot write the job log {self.path}: the file is read-only") from None
            raise JobLogError(f"cannot open the job log {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise JobLogError(f"{self.path} is not a usable job log: {exc}") from None

    def _check_tables(self, *, required: bool) -> None:
        """The file holds a job log (tagged, or an older log with its tables), or is empty."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables and not required:
            return
        older = None
        if "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is not None and row[0] == LOG_FORMAT:
                return
            older = row[0] if row is not None and row[0] in OLDER_FORMATS else None
        elif tables <= _OWN_TABLES and "snapshots" in tables:
            older = "zkmargin/joblog@1 (untagged)"
        if older is not None:
            raise JobLogError(
                f"{self.path} is a job log of format {older}: one account per job, for the retired "
                f"per-account gate; this keeper writes {LOG_FORMAT} (batches on BatchGate): "
                "start a new job log (--db) for the new gate"
            )
        shown = ", ".join(sorted(tables)) or "none"
        raise JobLogError(f"{self.path} is an SQLite database but not a zkmargin job log (tables: {shown})")

    def _migrate(self) -> None:
        """Tag a new log with its format; a log written before leases gets their columns
        (empty: no job of it holds a lease)."""
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('format', ?)", (LOG_FORMAT,))
        have = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for column, kind in _LEASE_COLUMNS:
            if column not in have:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ----------------------------------------------------- commitment cache

    def cached_commitments(self) -> dict[bytes, int]:
        """Every cached account commitment, by the sha256 of the account state it belongs to
        (``zkmargin.keeper.accounts_source.state_key``)."""
        return {bytes(k): int(c) for k, c in self._db.execute("SELECT state, commitment FROM commitments")}

    def cache_commitments(self, fresh: Sequence[tuple[bytes, int]], keep: Sequence[bytes]) -> None:
        """Add ``fresh`` (state key, commitment) pairs in one transaction; once the cache holds
        more than twice ``keep`` (the keys of the accounts file just read), drop every other
        entry, so the cache stays the size of the venue, not of its history."""
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO commitments (state, commitment) VALUES (?, ?)",
                [(k, str(c)) for k, c in fresh],
            )
            (held,) = db.execute("SELECT COUNT(*) FROM commitments").fetchone()
            if held > 2 * len(keep):
                db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (state BLOB PRIMARY KEY) WITHOUT ROWID")
                db.execute("DELETE FROM kept")
                db.executemany("INSERT OR IGNORE INTO kept (state) VALUES (?)", [(k,) for k in keep])
                db.execute("DELETE FROM commitments WHERE state NOT IN (SELECT state FROM kept)")
                db.execute("DELETE FROM kept")

    # ----------------------------------------------------------- snapshots

    def snapshot(self, snapshot_id: str) -> Snapshot | None:
        row = self._db.execute(
            "SELECT snapshot_id, source, epoch, market_root, state, post_tx, accounts, reason, as_of "
            "FROM snapshots WHERE snapshot_id = ?",
            (snapshot_id,),
        ).fetchone()
        if row is None:
            return None
        return Snapshot(row[0], row[1], int(row[2]), int(row[3]), row[4], row[5], int(row[6]), row[7], row[8])

    def add_snapshot(
        self, snapshot_id: str, source: str, epoch: int, market_root: int, as_of: str | None = None
    ) -> Snapshot:
        """Record a snapshot once (``as_of``: its quotes' ISO date); a second call with the
        same id returns the stored one."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO snapshots "
                "(snapshot_id, source, epoch, market_root, state, created_at, updated_at, as_of) "
                "VALUES (?, ?, ?, ?, 'new', ?, ?, ?)",
                (snapshot_id, source, epoch, str(market_root), now, now, as_of),
            )
        snap = self.snapshot(snapshot_id)
        assert snap is not None
        return snap

    def set_snapshot_state(
        self,
        snapshot_id: str,
        state: str,
        *,
        post_tx: str | None = None,
        accounts: int | None = None,
        reason: str | None = None,
    ) -> None:
        if state not in SNAPSHOT_STATES:
            raise ValueError(f"unknown snapshot state {state!r}")
        with self._tx() as db:
            db.execute(
                "UPDATE snapshots SET state = ?, post_tx = COALESCE(?, post_tx), "
                "accounts = COALESCE(?, accounts), reason = COALESCE(?, reason), updated_at = ? "
                "WHERE snapshot_id = ?",
                (state, post_tx, accounts, reason, time.time(), snapshot_id),
            )

    def add_failed_snapshot(self, snapshot_id: str, source: str, reason: str) -> Snapshot:
        """Record a snapshot that could not be read or built (epoch 0, root 0) as ``failed``;
        a snapshot already recorded keeps its row and is marked failed with ``reason``."""
        self.add_snapshot(snapshot_id, source, 0, 0)
        self.set_snapshot_state(snapshot_id, "failed", reason=reason)
        snap = self.snapshot(snapshot_id)
        assert snap is not None
        return snap

    def max_epoch(self) -> int:
        """The largest epoch given to a snapshot so far (0 if none)."""
        row = self._db.execute("SELECT MAX(epoch) FROM snapshots").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def max_posted_epoch(self) -> int:
        """The highest epoch whose market root the log saw posted (0 if none)."""
        row = self._db.execute(
            "SELECT MAX(epoch) FROM snapshots WHERE state IN ('posted', 'done')"
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def newest_processed(self, *, excluding: str | None = None) -> Snapshot | None:
        """The ``posted`` or ``done`` snapshot with the latest ``as_of`` date (the highest
        epoch among those of that date), leaving out ``excluding``; rows without a date
        (written by an older version) are not considered. ``None`` if there is none."""
        row = self._db.execute(
            "SELECT snapshot_id FROM snapshots WHERE state IN ('posted', 'done') AND as_of IS NOT NULL "
            "AND snapshot_id != ? ORDER BY as_of DESC, epoch DESC LIMIT 1",
            (excluding or "",),
        ).fetchone()
        return None if row is None else self.snapshot(row[0])

    def snapshots(self) -> list[Snapshot]:
        rows = self._db.execute("SELECT snapshot_id FROM snapshots ORDER BY epoch, created_at").fetchall()
        return [s for (sid,) in rows if (s := self.snapshot(sid)) is not None]

    # ---------------------------------------------------------------- jobs

    def add_jobs(self, snapshot_id: str, kind: str, batches: Sequence[Sequence[BatchEntry]]) -> int:
        """Create the snapshot's jobs, one per batch (numbered 0, 1, ... in the given order),
        in state ``pending``, unless the snapshot has jobs of ``kind`` already: the batches
        of a snapshot are fixed when they are first made (idempotent). Returns how many were
        new."""
        now = time.time()
        with self._tx() as db:
            (existing,) = db.execute(
                "SELECT COUNT(*) FROM jobs WHERE snapshot_id = ? AND kind = ?", (snapshot_id, kind)
            ).fetchone()
            if existing:
                return 0
            db.executemany(
                "INSERT INTO jobs (snapshot_id, batch, kind, state, entries, created_at, updated_at) "
                "VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                [(snapshot_id, n, kind, _entries_json(b), now, now) for n, b in enumerate(batches) if b],
            )
            return sum(1 for b in batches if b)

    def jobs(self, snapshot_id: str | None = None, state: str | None = None) -> list[Job]:
        where, args = "1 = 1", []
        if snapshot_id is not None:
            where += " AND snapshot_id = ?"
            args.append(snapshot_id)
        if state is not None:
            where += " AND state = ?"
            args.append(state)
        return self._jobs(where, tuple(args))

    def job(self, key: tuple[str, int, str]) -> Job | None:
        """One job by (snapshot, batch, kind)."""
        found = self._jobs("snapshot_id = ? AND batch = ? AND kind = ?", key)
        return found[0] if found else None

    def _jobs(self, where: str, args: tuple[object, ...]) -> list[Job]:
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
            for r in self._db.execute(sql, args).fetchall()
        ]

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
        if new_state not in JOB_STATES:
            raise ValueError(f"unknown job state {new_state!r}")
        expected = expect if expect is not None else job.state
        outcome_json = None if outcome is None else json.dumps({str(k): v for k, v in outcome.items()})
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state = ?, bundle = COALESCE(?, bundle), tx_hash = COALESCE(?, tx_hash), "
                "reason = ?, attempts = attempts + (CASE WHEN ? = 'proving' THEN 1 ELSE 0 END), "
                "retryable = ?, outcome = COALESCE(?, outcome), updated_at = ? "
                "WHERE snapshot_id = ? AND batch = ? AND kind = ? AND state = ?",
                (
                    new_state,
                    bundle,
                    tx_hash,
                    reason,
                    new_state,
                    int(retryable and new_state == "failed"),
                    outcome_json,
                    time.time(),
                    job.snapshot_id,
                    job.batch,
                    job.kind,
                    expected,
                ),
            )
            return cur.rowcount == 1

    # -------------------------------------------------------------- leases

    def claim(self, job: Job, worker: str, lease_seconds: float) -> Job | None:
        """Lease a ``pending`` job to ``worker`` for ``lease_seconds``: ``pending -> proving``
        with the next attempt number; ``None`` if it is no longer pending. Only a proof of
        this attempt, back while the lease is held, is stored (:meth:`store_proof`)."""
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state = 'proving', attempts = attempts + 1, lease_worker = ?, "
                "lease_expiry = ?, updated_at = ? "
                "WHERE snapshot_id = ? AND batch = ? AND kind = ? AND state = 'pending'",
                (worker, now + lease_seconds, now, *job.key),
            )
            if cur.rowcount != 1:
                return None
        return self.job(job.key)

    def store_proof(self, job: Job, attempt: int, bundle: str, worker: str, seconds: float) -> bool:
        """Keep the proof of lease ``attempt`` (``proving -> proved``); False, and nothing
        written, when that lease was lost or re-let meanwhile: a late proof is dropped, so a
        job is proved (and later submitted) once whatever came back."""
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state = 'proved', bundle = ?, reason = NULL, lease_worker = NULL, "
                "lease_expiry = NULL, proved_by = ?, proved_at = ?, prove_seconds = ?, updated_at = ? "
                "WHERE snapshot_id = ? AND batch = ? AND kind = ? AND state = 'proving' AND attempts = ?",
                (bundle, worker, now, seconds, now, *job.key, attempt),
            )
            return cur.rowcount == 1

    def release(
        self, job: Job, attempt: int, reason: str, *, fail: bool = False, retryable: bool = False
    ) -> bool:
        """End lease ``attempt``: the job goes back to ``pending`` (to be proved again,
        elsewhere) or, with ``fail``, to ``failed``; False when that lease was not held."""
        state = "failed" if fail else "pending"
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state = ?, reason = ?, retryable = ?, lease_worker = NULL, "
                "lease_expiry = NULL, updated_at = ? "
                "WHERE snapshot_id = ? AND batch = ? AND kind = ? AND state = 'proving' AND attempts = ?",
                (state, reason, int(fail and retryable), time.time(), *job.key, attempt),
            )
            return cur.rowcount == 1

    def mark_final(self, job: Job) -> bool:
        """A confirmed job whose block has enough confirmations is final."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET final = 1, updated_at = ? WHERE snapshot_id = ? AND batch = ? "
                "AND kind = ? AND state = 'confirmed'",
                (time.time(), job.snapshot_id, job.batch, job.kind),
            )
            return cur.rowcount == 1

    def requeue(self, job: Job, reason: str, *, expect: str | None = None) -> bool:
        """Send a ``proved`` or ``submitted`` job back to ``pending`` without its proof (the
        market it was proven against is no longer the gate's latest): it is proven again."""
        expected = expect if expect is not None else job.state
        if expected not in ("proved", "submitted"):
            raise ValueError(f"only proved or submitted jobs are requeued, not {expected!r}")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state = 'pending', bundle = NULL, reason = ?, updated_at = ? "
                "WHERE snapshot_id = ? AND batch = ? AND kind = ? AND state = ?",
                (reason, time.time(), job.snapshot_id, job.batch, job.kind, expected),
            )
            return cur.rowcount == 1

    def retry_failed(self, snapshot_id: str) -> int:
        """Jobs of ``snapshot_id`` that failed for a reason a later run can fix go back to
        ``pending`` (keeping the reason until they move on); returns how many."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state = 'pending', bundle = NULL, retryable = 0, attempts = 0, updated_at = ? "
                "WHERE snapshot_id = ? AND state = 'failed' AND retryable = 1",
                (time.time(), snapshot_id),
            )
            return cur.rowcount

    def repost_snapshot(self, snapshot_id: str, epoch: int, market_root: int) -> int:
        """Give a snapshot a new epoch and market root (its market is re-posted before it
        goes stale) and send its ``proved`` jobs, proven against the old root, back to
        ``pending``, in one transaction; returns how many jobs were sent back."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE snapshots SET epoch = ?, market_root = ?, state = 'new', post_tx = NULL, "
                "updated_at = ? WHERE snapshot_id = ?",
                (epoch, str(market_root), now, snapshot_id),
            )
            cur = db.execute(
                "UPDATE jobs SET state = 'pending', bundle = NULL, reason = ?, updated_at = ? "
                "WHERE snapshot_id = ? AND state = 'proved'",
                (f"market re-posted as epoch {epoch}: proven again", now, snapshot_id),
            )
            return cur.rowcount

    def reopen(self, job: Job, reason: str) -> bool:
        """A confirmed, not final job whose receipt vanished (a reorg) goes back to
        ``submitted``: it keeps its transaction hash and is settled again."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state = 'submitted', final = 0, reason = ?, updated_at = ? "
                "WHERE snapshot_id = ? AND batch = ? AND kind = ? AND state = 'confirmed' AND final = 0",
                (reason, time.time(), job.snapshot_id, job.batch, job.kind),
            )
            return cur.rowcount == 1

    # ----------------------------------------------------------------- txs

    def record_tx(self, tx: SignedTx) -> None:
        """Keep a signed transaction (before it is broadcast); recording it twice is a no-op."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO txs (tx_hash, raw, sender, nonce, purpose, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (tx.tx_hash, tx.raw, tx.sender, tx.nonce, tx.purpose, time.time()),
            )

    def transactions(self) -> list[SignedTx]:
        """Every recorded transaction, oldest first."""
        return self._txs("1 = 1", ())

    def same_nonce(self, tx: SignedTx) -> list[SignedTx]:
        """``tx`` and every replacement of it (same sender and nonce), oldest first: at most
        one of them can ever be mined."""
        return self._txs("sender = ? AND nonce = ?", (tx.sender, tx.nonce))

    def signed_tx(self, tx_hash: str) -> SignedTx | None:
        found = self._txs("tx_hash = ?", (tx_hash,))
        return found[0] if found else None

    def _txs(self, where: str, args: tuple[object, ...]) -> list[SignedTx]:
        rows = self._db.execute(
            f"SELECT tx_hash, raw, sender, nonce, purpose, created_at FROM txs WHERE {where} "
            "ORDER BY created_at, rowid",
            args,
        ).fetchall()
        return [SignedTx(r[0], r[1], r[2], int(r[3]), r[4], float(r[5])) for r in rows]

    def recover(self) -> int:
        """After a crash: jobs caught in ``proving`` go back to ``pending``.
        (``submitted`` jobs keep their tx hash and are reconciled by the operator.)"""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state = 'pending', lease_worker = NULL, lease_expiry = NULL, updated_at = ? "
                "WHERE state = 'proving'",
                (time.time(),),
            )
            return cur.rowcount

    def progress(self, window: float = 60.0, now: float | None = None) -> Progress:
        """Jobs by state, proofs kept per second over the last ``window`` seconds, the
        workers holding leases or proving in that window, and the time the jobs left to
        prove would take at that rate (what ``operator status`` and the live display show)."""
        now = time.time() if now is None else now
        since = now - window
        counts = self.counts()
        (recent, first) = self._db.execute(
            "SELECT COUNT(*), MIN(proved_at) FROM jobs WHERE proved_at IS NOT NULL AND proved_at >= ?",
            (since,),
        ).fetchone()
        leased = {
            str(w)
            for (w,) in self._db.execute(
                "SELECT DISTINCT lease_worker FROM jobs WHERE state = 'proving' AND lease_worker IS NOT NULL"
            )
        }
        proving = {
            str(w)
            for (w,) in self._db.execute(
                "SELECT DISTINCT proved_by FROM jobs WHERE proved_by IS NOT NULL AND proved_at >= ?", (since,)
            )
        }
        (busy,) = self._db.execute(
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

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(JOB_STATES, 0)
        for state, n in self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
            out[state] = int(n)
        return out


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise JobLogError(f"cannot read the job log {path}: {exc.strerror}") from None
    if head != _SQLITE_HEADER:
        raise JobLogError(f"{path} is not a zkmargin job log (not an SQLite database)")

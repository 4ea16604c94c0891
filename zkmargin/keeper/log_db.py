"""The job log's SQLite file: opening it, its schema and migrations, one transaction helper.

Every store of the log (jobs, snapshots, transactions, the commitment cache:
:mod:`zkmargin.keeper.job_log`) shares the one connection of a :class:`LogDatabase` and
writes through :meth:`LogDatabase.transaction`, so every change is one committed
transaction (``BEGIN IMMEDIATE``; a crash, even SIGKILL, loses at most the work in flight).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import ZkmarginError

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
    value       TEXT NOT NULL          -- format: zkmargin/joblog@2; chain: the chain binding (JSON)
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


class LogDatabase:
    """The job log's connection; safe to reopen after a crash.

    Opening checks the file first: an existing file must be an SQLite database holding a
    zkmargin job log (or nothing at all), else :class:`JobLogError` names what it is and
    nothing is written into it. ``read_only`` opens an existing log without any write
    (for ``operator status``).
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._depth = 0  # transactions open (nested ones join the outermost)
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
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; a transaction opened inside another joins it (so a
        change spanning two stores, such as a re-post, is still one)."""
        if self._depth:
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0
        self._db.execute("COMMIT")

    def meta(self, key: str) -> str | None:
        """The value of ``key`` in the ``meta`` table (``None`` if unset)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set ``key`` in the ``meta`` table (one transaction)."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def read(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        """A query outside any write."""
        return self._db.execute(sql, args)


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise JobLogError(f"cannot read the job log {path}: {exc.strerror}") from None
    if head != _SQLITE_HEADER:
        raise JobLogError(f"{path} is not a zkmargin job log (not an SQLite database)")

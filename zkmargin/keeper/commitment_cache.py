"""The job log's cache of account commitments (table ``commitments``).

An account's commitment (spec section 5) is keyed by the sha256 of the state it commits to
(``zkmargin.keeper.accounts_source.state_key``), so an accounts file read again hashes only
the accounts that changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkmargin.keeper.log_db import LogDatabase


class CommitmentCache:
    """The ``commitments`` table of a job log."""

    def __init__(self, db: LogDatabase) -> None:
        self._db = db

    def all(self) -> dict[bytes, int]:
        """Every cached account commitment, by the sha256 of the account state it belongs to."""
        return {bytes(k): int(c) for k, c in self._db.read("SELECT state, commitment FROM commitments")}

    def add(self, fresh: Sequence[tuple[bytes, int]], keep: Sequence[bytes]) -> None:
        """Add ``fresh`` (state key, commitment) pairs in one transaction; once the cache holds
        more than twice ``keep`` (the keys of the accounts file just read), drop every other
        entry, so the cache stays the size of the venue, not of its history."""
        with self._db.transaction() as db:
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

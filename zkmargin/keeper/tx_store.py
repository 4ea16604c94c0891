"""The job log's signed transactions (table ``txs``), each recorded before it is broadcast.

The signed bytes are kept next to the hash, so a transaction recorded but never broadcast
(a crash in between, a node that dropped it) can be sent again unchanged: same hash, same
nonce, never a second transaction (:mod:`zkmargin.keeper.transactions`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from zkmargin.keeper.log_db import LogDatabase


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction recorded before broadcast."""

    tx_hash: str
    raw: str
    sender: str
    nonce: int
    purpose: str
    created_at: float = field(default=0.0, compare=False)  # when it was recorded


class TxStore:
    """The ``txs`` table of a job log."""

    def __init__(self, db: LogDatabase) -> None:
        self._db = db

    def record(self, tx: SignedTx) -> None:
        """Keep a signed transaction (before it is broadcast); recording it twice is a no-op."""
        with self._db.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO txs (tx_hash, raw, sender, nonce, purpose, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (tx.tx_hash, tx.raw, tx.sender, tx.nonce, tx.purpose, time.time()),
            )

    def all(self) -> list[SignedTx]:
        """Every recorded transaction, oldest first."""
        return self._rows("1 = 1", ())

    def same_nonce(self, tx: SignedTx) -> list[SignedTx]:
        """``tx`` and every replacement of it (same sender and nonce), oldest first: at most
        one of them can ever be mined."""
        return self._rows("sender = ? AND nonce = ?", (tx.sender, tx.nonce))

    def get(self, tx_hash: str) -> SignedTx | None:
        found = self._rows("tx_hash = ?", (tx_hash,))
        return found[0] if found else None

    def _rows(self, where: str, args: tuple[object, ...]) -> list[SignedTx]:
        rows = self._db.read(
            f"SELECT tx_hash, raw, sender, nonce, purpose, created_at FROM txs WHERE {where} "
            "ORDER BY created_at, rowid",
            args,
        ).fetchall()
        return [SignedTx(r[0], r[1], r[2], int(r[3]), r[4], float(r[5])) for r in rows]

"""The job log's snapshots: one row per market snapshot the keeper has seen.

A snapshot keeps its epoch, market root, state, the postMarket transaction recorded before
broadcast and its quotes' ``as_of`` date (so that a snapshot older than one already
processed can be refused). Its states and moves are declared in
:data:`zkmargin.keeper.states.SNAPSHOT_TRANSITIONS`; :meth:`SnapshotStore._move` is the one
UPDATE of a snapshot's state and refuses an edge the table lacks. Which edge is taken when
is the keeper's loop (``zkmargin.keeper.keeper.Keeper.process``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from zkmargin.keeper.log_db import LogDatabase
from zkmargin.keeper.states import FIRST_SNAPSHOT_STATE, SNAPSHOT_STATES, TransitionError, check_snapshot_edge


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


class SnapshotStore:
    """The ``snapshots`` table of a job log."""

    def __init__(self, db: LogDatabase) -> None:
        self._db = db

    def get(self, snapshot_id: str) -> Snapshot | None:
        row = self._db.read(
            "SELECT snapshot_id, source, epoch, market_root, state, post_tx, accounts, reason, as_of "
            "FROM snapshots WHERE snapshot_id = ?",
            (snapshot_id,),
        ).fetchone()
        if row is None:
            return None
        return Snapshot(row[0], row[1], int(row[2]), int(row[3]), row[4], row[5], int(row[6]), row[7], row[8])

    def all(self) -> list[Snapshot]:
        """Every snapshot, by epoch."""
        rows = self._db.read("SELECT snapshot_id FROM snapshots ORDER BY epoch, created_at").fetchall()
        return [s for (sid,) in rows if (s := self.get(sid)) is not None]

    def add(
        self, snapshot_id: str, source: str, epoch: int, market_root: int, as_of: str | None = None
    ) -> Snapshot:
        """Record a snapshot once (``as_of``: its quotes' ISO date); a second call with the
        same id returns the stored one."""
        now = time.time()
        with self._db.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO snapshots "
                "(snapshot_id, source, epoch, market_root, state, created_at, updated_at, as_of) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (snapshot_id, source, epoch, str(market_root), FIRST_SNAPSHOT_STATE, now, now, as_of),
            )
        snap = self.get(snapshot_id)
        assert snap is not None
        return snap

    def add_failed(self, snapshot_id: str, source: str, reason: str) -> Snapshot:
        """Record a snapshot that could not be read or built (epoch 0, root 0) as ``failed``;
        a snapshot already recorded keeps its row and is marked failed with ``reason``."""
        self.add(snapshot_id, source, 0, 0)
        self.set_state(snapshot_id, "failed", reason=reason)
        snap = self.get(snapshot_id)
        assert snap is not None
        return snap

    def _move(self, snapshot_id: str, new: str, sets: str, args: Sequence[object]) -> None:
        """The one UPDATE of a snapshot's state: ``snapshot_id`` moves from its state to
        ``new`` (setting ``sets`` too), an edge of the table; nothing for an unknown id."""
        if new not in SNAPSHOT_STATES:
            raise TransitionError(f"unknown snapshot state {new!r}")
        with self._db.transaction() as db:
            row = db.execute("SELECT state FROM snapshots WHERE snapshot_id = ?", (snapshot_id,)).fetchone()
            if row is None:
                return
            check_snapshot_edge(row[0], new)
            db.execute(
                f"UPDATE snapshots SET state = ?, {sets}, updated_at = ? WHERE snapshot_id = ? AND state = ?",
                (new, *args, time.time(), snapshot_id, row[0]),
            )

    def set_state(
        self,
        snapshot_id: str,
        state: str,
        *,
        post_tx: str | None = None,
        accounts: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Move a snapshot to ``state``, keeping the fields not given."""
        sets = (
            "post_tx = COALESCE(?, post_tx), accounts = COALESCE(?, accounts), reason = COALESCE(?, reason)"
        )
        self._move(snapshot_id, state, sets, (post_tx, accounts, reason))

    def renew(self, snapshot_id: str, epoch: int, market_root: int) -> None:
        """A new epoch and market root (its market re-posted): back to ``new``, no post yet."""
        self._move(
            snapshot_id, "new", "epoch = ?, market_root = ?, post_tx = NULL", (epoch, str(market_root))
        )

    def max_epoch(self) -> int:
        """The largest epoch given to a snapshot so far (0 if none)."""
        row = self._db.read("SELECT MAX(epoch) FROM snapshots").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def max_posted_epoch(self) -> int:
        """The highest epoch whose market root the log saw posted (0 if none)."""
        row = self._db.read("SELECT MAX(epoch) FROM snapshots WHERE state IN ('posted', 'done')").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def newest_processed(self, *, excluding: str | None = None) -> Snapshot | None:
        """The ``posted`` or ``done`` snapshot with the latest ``as_of`` date (the highest
        epoch among those of that date), leaving out ``excluding``; rows without a date
        (written by an older version) are not considered. ``None`` if there is none."""
        row = self._db.read(
            "SELECT snapshot_id FROM snapshots WHERE state IN ('posted', 'done') AND as_of IS NOT NULL "
            "AND snapshot_id != ? ORDER BY as_of DESC, epoch DESC LIMIT 1",
            (excluding or "",),
        ).fetchone()
        return None if row is None else self.get(row[0])

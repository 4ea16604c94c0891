"""The keeper's durable job log: one SQLite file, four stores on one connection.

* ``jobs`` (:class:`~zkmargin.keeper.job_store.JobStore`): one row per (snapshot, batch)
  proof job, moving ``pending -> proving -> proved -> submitted -> confirmed`` (or
  ``failed`` with the reason) along the edges of :data:`zkmargin.keeper.states.JOB_TRANSITIONS`;
* ``snapshots`` (:class:`~zkmargin.keeper.snapshot_store.SnapshotStore`): one row per market
  snapshot, ``new -> posted -> done`` (or ``failed``), edges in
  :data:`zkmargin.keeper.states.SNAPSHOT_TRANSITIONS`;
* ``txs`` (:class:`~zkmargin.keeper.tx_store.TxStore`): every signed transaction, recorded
  before it is broadcast;
* ``commitments`` (:class:`~zkmargin.keeper.commitment_cache.CommitmentCache`): account
  commitments by account state.

Every change is one committed transaction (:mod:`zkmargin.keeper.log_db`), so a crash
(even SIGKILL) loses at most the work in flight: on restart ``proving`` jobs go back to
``pending`` (the proof is simply made again) and ``submitted`` jobs are reconciled against
the chain by the transaction hash recorded *before* the transaction was broadcast, so no
liquidation is ever sent twice.
"""

from __future__ import annotations

from pathlib import Path

from zkmargin.keeper.commitment_cache import CommitmentCache
from zkmargin.keeper.job_store import JobStore
from zkmargin.keeper.log_db import LogDatabase
from zkmargin.keeper.snapshot_store import SnapshotStore
from zkmargin.keeper.tx_store import TxStore


class JobLog:
    """A job log file and its stores (``read_only``: no write at all, for ``operator status``)."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.db = LogDatabase(path, read_only=read_only)
        self.jobs = JobStore(self.db)
        self.snapshots = SnapshotStore(self.db)
        self.txs = TxStore(self.db)
        self.commitments = CommitmentCache(self.db)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        self.db.close()

    def repost_snapshot(self, snapshot_id: str, epoch: int, market_root: int) -> int:
        """Give a snapshot a new epoch and market root (its market is re-posted before it
        goes stale) and send its ``proved`` jobs, proven against the old root, back to
        ``pending``, in one transaction; returns how many jobs were sent back."""
        with self.db.transaction():
            self.snapshots.renew(snapshot_id, epoch, market_root)
            return self.jobs.requeue_proved(snapshot_id, f"market re-posted as epoch {epoch}: proven again")

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

A log is bound to the chain it was first used against (:class:`ChainBinding`, in ``meta``
under ``chain``): chain id, genesis block hash, the gate's address, its deployment block
and the hash of its code. The keeper checks the binding before it skips anything the log
calls done (:meth:`zkmargin.keeper.keeper.Keeper.bind_chain`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from zkmargin.keeper.commitment_cache import CommitmentCache
from zkmargin.keeper.job_store import JobStore
from zkmargin.keeper.log_db import LogDatabase
from zkmargin.keeper.snapshot_store import SnapshotStore
from zkmargin.keeper.tx_store import TxStore

#: The ``meta`` key of the chain binding.
CHAIN_KEY = "chain"


@dataclass(frozen=True)
class ChainBinding:
    """What a job log was written against; any field differing means another chain or gate."""

    chain_id: int
    genesis_hash: str  # 0x-prefixed hash of block 0
    gate: str  # the gate's address, checksummed
    deployment_block: str  # "NUMBER:0xHASH" from the deployment file, "" when it records none
    gate_code_hash: str  # keccak of the gate's runtime code (immutables included)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ChainBinding:
        data = json.loads(text)
        return cls(**{f.name: type(getattr(_EXAMPLE, f.name))(data[f.name]) for f in fields(cls)})

    def differences(self, other: ChainBinding) -> list[str]:
        """What differs between the recorded binding (``self``) and ``other`` (the chain
        here), one phrase each; a deployment block unknown on either side is not compared."""
        out = []
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "deployment_block" and not (mine and theirs):
                continue
            if str(mine).lower() != str(theirs).lower():
                out.append(f"{f.name.replace('_', ' ')} {theirs} (the log recorded {mine})")
        return out


_EXAMPLE = ChainBinding(0, "", "", "", "")


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

    def chain_binding(self) -> ChainBinding | None:
        """The chain this log was bound to (``None``: a new log, or one of an older version)."""
        text = self.db.meta(CHAIN_KEY)
        return None if text is None else ChainBinding.from_json(text)

    def bind_chain(self, binding: ChainBinding) -> None:
        """Record the chain this log is written against (once: the keeper checks it after)."""
        self.db.set_meta(CHAIN_KEY, binding.to_json())

    def repost_snapshot(self, snapshot_id: str, epoch: int, market_root: int) -> int:
        """Give a snapshot a new epoch and market root (its market is re-posted before it
        goes stale) and send its ``proved`` jobs, proven against the old root, back to
        ``pending``, in one transaction; returns how many jobs were sent back."""
        with self.db.transaction():
            self.snapshots.renew(snapshot_id, epoch, market_root)
            return self.jobs.requeue_proved(snapshot_id, f"market re-posted as epoch {epoch}: proven again")

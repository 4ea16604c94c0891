"""Step 1 of the keeper: a snapshot's market and accounts built, and checked before anything
is posted or proved (its date, the gate's epochs and parameters).

Nothing here writes the job log: :meth:`zkmargin.keeper.keeper.Keeper.process` records the
snapshot once it is built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from engine.accounts_tree import AccountsTree
from engine.commitments import MarketCommitments, params_hash
from engine.errors import InputError
from engine.formats import LabeledAccount, ParamsFile
from engine.margin_arrays import AccountBatch
from engine.model import Market, RiskParams
from engine.pipeline import price_market
from engine.profiles import Profile
from verifier_contracts.batch_gate import BatchGate
from zkmargin.keeper.accounts_source import AccountsSource
from zkmargin.keeper.errors import KeeperError, SnapshotFailed, short
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.proof_queue import ProofTask
from zkmargin.keeper.snapshot_store import Snapshot
from zkmargin.keeper.snapshots import SnapshotFile

#: How far beyond today (UTC) a snapshot's as_of may lie (time zones, a feed that dates
#: the next session).
FUTURE_TOLERANCE_DAYS = 1


@dataclass
class SnapshotContents:
    """One snapshot's market, parameters and accounts (what :class:`Built` and
    :class:`Prepared` both hold)."""

    market: Market
    commitments: MarketCommitments
    params: RiskParams
    params_hash: int
    accounts: list[LabeledAccount]
    tree: AccountsTree
    batch: AccountBatch  # the accounts' slots and cash, for margins


@dataclass
class Built(SnapshotContents):
    """One snapshot's contents, before it is recorded."""

    as_of: dt.date


@dataclass
class _Source:
    """Where a prepared snapshot comes from: its file and its record in the job log."""

    snapshot: SnapshotFile
    record: Snapshot


@dataclass
class Prepared(SnapshotContents, _Source):
    """One snapshot, built: its file and log record (first: a dataclass lays out the fields
    of its last base first), then its contents."""

    accounts_epoch: int = 0  # the gate's accounts epoch of ``tree``, once posted

    @property
    def epoch(self) -> int:
        return self.market.epoch

    @property
    def label(self) -> str:
        return f"{self.snapshot.path.name} (epoch {self.epoch})"

    def task(self) -> ProofTask:
        """What the prover pool needs to prove this snapshot's jobs."""
        return ProofTask(
            snapshot_id=self.record.snapshot_id,
            market=self.market,
            commitments=self.commitments,
            params=self.params,
            accounts={a.account.account_id: a.account for a in self.accounts},
            tree=self.tree,
            accounts_epoch=self.accounts_epoch,
        )


def build_snapshot(
    snap: SnapshotFile,
    epoch: int | None,
    *,
    log: JobLog,
    gate: BatchGate,
    accounts: AccountsSource,
    params_file: ParamsFile,
    profile: Profile,
) -> Built:
    """Load, check and price ``snap`` under ``epoch`` (None: the next one): bad input and a
    stale date fail the snapshot; a gate behind the log or with other parameters stops the
    keeper."""
    try:
        quotes = snap.load(profile)
        check_not_stale(log, snap, quotes.as_of)
        check_gate_state(log, gate)
        priced = price_market(quotes, params_file, profile, next_epoch(log, gate) if epoch is None else epoch)
        market, risk = priced.market, priced.risk
        mc = MarketCommitments(market)
        loaded = accounts.load(market)
    except InputError as exc:
        raise SnapshotFailed(f"invalid input: {exc.field}: {exc.message}") from None
    ph = params_hash(risk)
    on_chain = gate.params_hash()
    if on_chain != ph:
        raise KeeperError(
            f"the gate's parameters hash {short(on_chain)} is not the params file's {short(ph)} "
            "for this market: governance must setParams first"
        )
    return Built(market, mc, risk, ph, loaded.accounts, loaded.tree, loaded.batch, as_of=quotes.as_of)


def check_not_stale(log: JobLog, snap: SnapshotFile, as_of: dt.date) -> None:
    """Fail a snapshot dated in the future (beyond today plus a tolerance: a typo such
    as 2062 would make every later snapshot look older) or before the newest one already
    processed, before anything is built, posted or proved. The same date is fine:
    intraday updates."""
    latest_allowed = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=FUTURE_TOLERANCE_DAYS)
    if as_of > latest_allowed:
        raise SnapshotFailed(
            f"as_of {as_of.isoformat()} is in the future (today is {dt.datetime.now(dt.UTC).date()}, "
            f"tolerance {FUTURE_TOLERANCE_DAYS} day): check the date"
        )
    newest = log.snapshots.newest_processed(excluding=snap.snapshot_id)
    if newest is None or newest.as_of is None or as_of.isoformat() >= newest.as_of:
        return
    raise SnapshotFailed(
        f"as_of {as_of.isoformat()} is older than {newest.as_of} of snapshot "
        f"{Path(newest.source).name} already processed"
    )


def next_epoch(log: JobLog, gate: BatchGate) -> int:
    """The epoch after every one the log gave out and the gate holds."""
    return max(log.snapshots.max_epoch(), gate.latest_market().epoch) + 1


def check_gate_state(log: JobLog, gate: BatchGate) -> None:
    """The gate must hold at least the epochs the log says were posted: a gate behind the
    log was redeployed (or its chain reset), even at the same address."""
    posted = log.snapshots.max_posted_epoch()
    on_chain = gate.latest_market().epoch
    if on_chain < posted:
        raise KeeperError(
            f"the gate is at epoch {on_chain}, but the job log records epoch {posted} as posted: "
            "the chain was reset or the gate replaced; deploy again and start a new job log"
        )

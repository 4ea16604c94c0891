"""What the keeper reports, as JSON-ready data: snapshot outcomes, a run's summary, the
job log's status and proving progress (``zkmargin operator run --json``, ``operator
status``, the live display; the CLI only renders them)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.states import JOB_STATES

if TYPE_CHECKING:
    from zkmargin.keeper.pool import ProverPool


@dataclass
class SnapshotOutcome:
    """What processing one snapshot came to (for logs, the CLI and tests)."""

    snapshot_id: str
    source: str
    state: str  # done, incomplete (retryable job failures: run again), failed, skipped
    epoch: int = 0
    reason: str | None = None
    jobs: dict[str, int] = field(default_factory=dict)
    liquidatable: int = 0
    already_open: int = 0
    accounts_posted: int = 0  # 1 if this run posted the accounts root
    batches: int = 0
    reposts: int = 0
    seconds: float = 0.0


def outcome_json(outcome: SnapshotOutcome) -> dict[str, Any]:
    """A snapshot outcome as JSON-ready data."""
    return {
        "snapshot_id": outcome.snapshot_id,
        "source": outcome.source,
        "state": outcome.state,
        "epoch": outcome.epoch,
        "reason": outcome.reason,
        "jobs": outcome.jobs,
        "liquidatable": outcome.liquidatable,
        "already_open": outcome.already_open,
        "accounts_posted": outcome.accounts_posted,
        "batches": outcome.batches,
        "reposts": outcome.reposts,
        "seconds": round(outcome.seconds, 3),
    }


def run_summary(pool: ProverPool, elapsed: float) -> dict[str, Any]:
    """A run's proving figures: workers, backend, proofs, mean time, proofs per second."""
    timings = list(pool.timings)
    proofs = len(timings)
    span = (
        (max(t.finished_at for t in timings) - min(t.finished_at - t.seconds for t in timings))
        if timings
        else 0.0
    )
    return {
        "workers": pool.size,
        "prover": pool.backend,
        "proofs": proofs,
        "proof_seconds_mean": round(sum(t.seconds for t in timings) / proofs, 3) if proofs else None,
        "proofs_per_second": round(proofs / span, 3) if span > 0 else None,
        "elapsed_seconds": round(elapsed, 3),
    }


def progress_data(log: JobLog) -> dict[str, Any]:
    """Jobs by state, proofs/s over the last minute, workers, ETA (JSON-ready)."""
    progress = log.jobs.progress()
    return {
        "jobs": progress.counts,
        "proofs_per_second": round(progress.proofs_per_second, 4),
        "workers": progress.workers,
        "leased_workers": progress.leased,
        "busy_seconds": round(progress.busy_seconds, 3),
        "eta_seconds": None if progress.eta_seconds is None else round(progress.eta_seconds, 1),
        "window_seconds": progress.window,
    }


def status_data(db: Path) -> dict[str, Any]:
    """Snapshots, job counts by state, and the failed jobs with their reasons (read only)."""
    log = JobLog(db, read_only=True)
    try:
        snapshots = []
        for snap in log.snapshots.all():
            jobs = Counter(j.state for j in log.jobs.select(snap.snapshot_id))
            snapshots.append(
                {
                    "snapshot_id": snap.snapshot_id,
                    "source": snap.source,
                    "as_of": snap.as_of,
                    "epoch": snap.epoch,
                    "market_root": str(snap.market_root),
                    "state": snap.state,
                    "accounts": snap.accounts,
                    "post_tx": snap.post_tx,
                    "reason": snap.reason,
                    "jobs": {s: jobs[s] for s in JOB_STATES if jobs[s]},
                }
            )
        failed = [
            {
                "snapshot_id": j.snapshot_id,
                "batch": j.batch,
                "account_ids": j.account_ids,
                "kind": j.kind,
                "reason": j.reason,
                "retryable": j.retryable,
            }
            for j in log.jobs.select(state="failed")
        ]
        jobs_out = [
            {
                "snapshot_id": j.snapshot_id,
                "batch": j.batch,
                "kind": j.kind,
                "state": j.state,
                "entries": [
                    {"account_id": e.account_id, "status": e.status, "shortfall": str(e.shortfall)}
                    for e in j.entries
                ],
                "outcome": None if j.outcome is None else {str(k): v for k, v in j.outcome.items()},
                "tx_hash": j.tx_hash,
                "final": j.final,
                "retryable": j.retryable,
                "attempts": j.attempts,
                "reason": j.reason,
            }
            for j in log.jobs.select()
        ]
        return {
            "snapshots": snapshots,
            "jobs": log.jobs.counts(),
            "progress": progress_data(log),
            "failed_jobs": failed,
            "job_list": jobs_out,
        }
    finally:
        log.close()

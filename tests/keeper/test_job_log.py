"""The durable job log: idempotent inserts, guarded transitions, crash recovery."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.batch_statement import SHORTFALL_CAP, BatchEntry
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.log_db import JobLogError
from zkmargin.keeper.tx_store import SignedTx


@pytest.fixture()
def log(tmp_path: Path) -> Iterator[JobLog]:
    jl = JobLog(tmp_path / "jobs.sqlite")
    yield jl
    jl.close()


def test_snapshot_is_recorded_once(log: JobLog) -> None:
    a = log.snapshots.add("s1", "q1.json", 7, 123)
    b = log.snapshots.add("s1", "other.json", 8, 456)
    assert a == b
    assert (a.epoch, a.market_root, a.state) == (7, 123, "new")
    log.snapshots.set_state("s1", "posted", post_tx="0xabc")
    snap = log.snapshots.get("s1")
    assert snap is not None and snap.state == "posted" and snap.post_tx == "0xabc"
    with pytest.raises(ValueError):
        log.snapshots.set_state("s1", "weird")


def _one(*ids: int) -> list[list[BatchEntry]]:
    """One batch of one liquidatable account per id."""
    return [[BatchEntry(i, 2, 0)] for i in ids]


def test_jobs_are_idempotent_and_ordered(log: JobLog) -> None:
    log.snapshots.add("s1", "q.json", 1, 1)
    first = [BatchEntry(3, 3, SHORTFALL_CAP), BatchEntry(5, 2, 100)]
    assert log.jobs.add("s1", "liquidate", [first, [BatchEntry(9, 2, 1)]]) == 2
    # the batches of a snapshot are fixed when first made: a second call adds nothing
    assert log.jobs.add("s1", "liquidate", [[BatchEntry(11, 2, 1)]]) == 0
    jobs = log.jobs.select("s1")
    assert [(j.batch, j.account_ids) for j in jobs] == [(0, [3, 5]), (1, [9])]
    assert jobs[0].entries == tuple(first)  # big integers survive as text
    assert jobs[0].label == "batch 0 (2 account(s): 3, 5)"
    assert log.jobs.counts()["pending"] == 2


def test_a_confirmed_job_keeps_what_became_of_each_account(log: JobLog) -> None:
    log.snapshots.add("s1", "q.json", 1, 1)
    log.jobs.add("s1", "liquidate", [[BatchEntry(3, 3, 1), BatchEntry(5, 2, 100)]])
    (job,) = log.jobs.select()
    assert job.outcome is None
    with pytest.raises(ValueError, match="does not move from 'pending' to 'confirmed'"):
        log.jobs.transition(job, "confirmed", tx_hash="0x01")  # an edge the table lacks
    for state in ("proving", "proved", "submitted"):
        (job,) = log.jobs.select()
        assert log.jobs.transition(job, state, tx_hash="0x01" if state == "submitted" else None)
    (job,) = log.jobs.select()
    assert log.jobs.transition(job, "confirmed", tx_hash="0x01", outcome={3: "opened", 5: "open"})
    (job,) = log.jobs.select()
    assert (job.state, job.outcome) == ("confirmed", {3: "opened", 5: "open"})


def test_transition_is_guarded(log: JobLog) -> None:
    log.snapshots.add("s1", "q.json", 1, 1)
    log.jobs.add("s1", "liquidate", _one(1))
    (job,) = log.jobs.select()
    assert log.jobs.transition(job, "proving")
    # a stale view of the job (still 'pending') cannot move it again
    assert not log.jobs.transition(job, "proving")
    (job,) = log.jobs.select()
    assert job.state == "proving" and job.attempts == 1
    assert log.jobs.transition(job, "proved", bundle='{"p": 1}')
    (job,) = log.jobs.select()
    assert log.jobs.transition(job, "submitted", tx_hash="0x01")
    (job,) = log.jobs.select()
    assert (job.state, job.bundle, job.tx_hash) == ("submitted", '{"p": 1}', "0x01")
    with pytest.raises(ValueError):
        log.jobs.transition(job, "nowhere")


def test_recover_requeues_only_proving(log: JobLog) -> None:
    log.snapshots.add("s1", "q.json", 1, 1)
    log.jobs.add("s1", "liquidate", _one(1, 2, 3))
    j1, j2, _ = log.jobs.select()
    log.jobs.transition(j1, "proving")
    log.jobs.transition(j2, "proving")
    (j2,) = log.jobs.select(state="proving")[1:]
    log.jobs.transition(j2, "proved", bundle="{}")
    assert log.jobs.recover() == 1
    assert log.jobs.counts() == {
        "pending": 2,
        "proving": 0,
        "proved": 1,
        "submitted": 0,
        "confirmed": 0,
        "failed": 0,
    }


def test_committed_state_survives_sigkill(tmp_path: Path) -> None:
    """A writer killed with SIGKILL right after a transition leaves that transition durable."""
    db = tmp_path / "jobs.sqlite"
    script = textwrap.dedent(
        f"""
        import os, signal
        from engine.batch_statement import BatchEntry
        from zkmargin.keeper.job_log import JobLog
        log = JobLog({str(db)!r})
        log.snapshots.add("s", "q.json", 1, 1)
        log.jobs.add("s", "liquidate", [[BatchEntry(1, 2, 0)], [BatchEntry(2, 2, 0)]])
        job = log.jobs.select()[0]
        log.jobs.transition(job, "proving")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    log = JobLog(db)
    try:
        assert log.jobs.counts()["proving"] == 1
        assert log.jobs.recover() == 1
        assert log.jobs.counts()["pending"] == 2
    finally:
        log.close()


def test_failed_snapshot_keeps_its_reason(log: JobLog) -> None:
    snap = log.snapshots.add_failed("bad", "bad.json", "quotes.assets: required field is missing")
    assert (snap.state, snap.epoch, snap.market_root) == ("failed", 0, 0)
    assert snap.reason == "quotes.assets: required field is missing"
    log.snapshots.add("s2", "q2.json", 4, 99)
    assert log.snapshots.max_epoch() == 4
    log.snapshots.set_state("s2", "failed", reason="superseded")
    again = log.snapshots.get("s2")
    assert again is not None and (again.state, again.epoch, again.reason) == ("failed", 4, "superseded")


def test_signed_transactions_are_kept_once(log: JobLog) -> None:
    tx = SignedTx("0xab", "0x02f8", "0xSender", 7, "liquidate 1")
    log.txs.record(tx)
    log.txs.record(SignedTx("0xab", "0xother", "0xSender", 8, "again"))
    assert log.txs.get("0xab") == tx
    assert log.txs.get("0xcd") is None


@pytest.mark.parametrize("tagged", [True, False], ids=["joblog@1", "untagged"])
def test_a_log_of_the_per_account_keeper_is_refused_and_left_as_it_was(tmp_path: Path, tagged: bool) -> None:
    """A log of the retired per-account gate (one account per job, ``zkmargin/joblog@1`` or
    older, untagged) describes another gate: it is refused with a message saying so."""
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE snapshots (snapshot_id TEXT PRIMARY KEY, source TEXT NOT NULL, epoch INTEGER NOT NULL, "
        "market_root TEXT NOT NULL, state TEXT NOT NULL, post_tx TEXT, accounts INTEGER NOT NULL DEFAULT 0, "
        "created_at REAL NOT NULL, updated_at REAL NOT NULL)"
    )
    con.execute("INSERT INTO snapshots VALUES ('s', 'q.json', 3, '5', 'done', NULL, 2, 0, 0)")
    if tagged:
        con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.execute("INSERT INTO meta VALUES ('format', 'zkmargin/joblog@1')")
    con.commit()
    con.close()
    before = db.read_bytes()
    for read_only in (False, True):
        with pytest.raises(JobLogError, match=r"one account per job.*start a new job log"):
            JobLog(db, read_only=read_only)
    assert db.read_bytes() == before


def test_snapshot_keeps_its_as_of_and_the_newest_processed_is_found(log: JobLog) -> None:
    assert log.snapshots.newest_processed() is None
    log.snapshots.add("a", "qa.json", 1, 1, as_of="2026-11-20")
    log.snapshots.add("b", "qb.json", 2, 2, as_of="2026-11-21")
    log.snapshots.add("c", "qc.json", 3, 3, as_of="2026-11-21")
    log.snapshots.add_failed("bad", "bad.json", "invalid input")
    snap = log.snapshots.get("a")
    assert snap is not None and snap.as_of == "2026-11-20"
    assert log.snapshots.newest_processed() is None  # all still 'new'
    log.snapshots.set_state("a", "posted")
    log.snapshots.set_state("a", "done")
    newest = log.snapshots.newest_processed()
    assert newest is not None and newest.snapshot_id == "a"
    assert log.snapshots.newest_processed(excluding="a") is None
    log.snapshots.set_state("b", "posted")  # posted (in flight) counts as processed, as done does
    log.snapshots.set_state("c", "posted")
    newest = log.snapshots.newest_processed()
    assert newest is not None and newest.snapshot_id == "c"  # same date: the highest epoch
    newest = log.snapshots.newest_processed(excluding="c")
    assert newest is not None and newest.snapshot_id == "b"
    log.snapshots.set_state("b", "failed", reason="superseded")
    log.snapshots.set_state("c", "failed", reason="superseded")
    newest = log.snapshots.newest_processed()
    assert newest is not None and newest.snapshot_id == "a"  # failed snapshots do not count


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a database at all, just text\n", r"is not a zkmargin job log \(not an SQLite database\)"),
        (b"SQLite format 3\x00" + b"\xff" * 200, "is not a usable job log"),
    ],
)
def test_a_file_that_is_not_a_log_is_refused_and_left_as_it_was(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "op.sqlite"
    path.write_bytes(content)
    for read_only in (False, True):
        with pytest.raises(JobLogError, match=words):
            JobLog(path, read_only=read_only)
    assert path.read_bytes() == content


def test_a_foreign_sqlite_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(JobLogError, match=r"not a zkmargin job log \(tables: customers\)"):
            JobLog(path, read_only=read_only)
    assert path.read_bytes() == before


def test_read_only_open_writes_nothing_and_needs_a_log(tmp_path: Path) -> None:
    with pytest.raises(JobLogError, match="no job log at"):
        JobLog(tmp_path / "absent.sqlite", read_only=True)
    assert not (tmp_path / "absent.sqlite").exists()
    JobLog(tmp_path / "op.sqlite").close()
    log = JobLog(tmp_path / "op.sqlite", read_only=True)
    try:
        assert log.jobs.counts()["pending"] == 0
    finally:
        log.close()


def test_a_read_only_log_file_gives_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log the keeper cannot write (as root file modes do not stop writes, the file is
    opened read-only underneath, as SQLite opens one it may not write)."""
    path = tmp_path / "op.sqlite"
    JobLog(path).close()
    real_connect = sqlite3.connect

    def read_only_connect(database: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        kwargs.pop("uri", None)
        return real_connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", read_only_connect)
    with pytest.raises(JobLogError, match=r"cannot write the job log .*op.sqlite: the file is read-only"):
        JobLog(path)


# ------------------------------------------------------------------ leases


def test_a_lease_is_held_by_one_attempt(log: JobLog) -> None:
    log.snapshots.add("s", "q.json", 1, 1)
    log.jobs.add("s", "liquidate", _one(11, 12))
    job = log.jobs.select()[0]
    first = log.jobs.claim(job, "tcp://w1", 60)
    assert first is not None and first.state == "proving" and first.attempts == 1
    assert first.lease_worker == "tcp://w1" and first.lease_expiry is not None
    assert log.jobs.claim(job, "tcp://w2", 60) is None  # leased already
    # the lease is lost (its worker left): back to pending, then leased again elsewhere
    assert log.jobs.release(first, 1, "worker tcp://w1 left the cluster")
    again = log.jobs.claim(job, "tcp://w2", 60)
    assert again is not None and again.attempts == 2 and again.lease_worker == "tcp://w2"
    # the first attempt's proof comes back late: refused, nothing written
    assert not log.jobs.store_proof(first, 1, '{"late": true}', "tcp://w1", 1.0)
    assert not log.jobs.release(first, 1, "late")  # an old attempt cannot end the new lease either
    assert log.jobs.store_proof(again, 2, '{"proof": 2}', "tcp://w2", 2.5)
    stored = log.jobs.get(job.key)
    assert stored is not None and stored.state == "proved" and stored.bundle == '{"proof": 2}'
    assert (stored.proved_by, stored.prove_seconds, stored.lease_worker) == ("tcp://w2", 2.5, None)
    assert not log.jobs.store_proof(again, 2, '{"twice": true}', "tcp://w2", 1.0)  # kept once


def test_a_lease_can_end_in_failure_and_recover_clears_leases(log: JobLog) -> None:
    log.snapshots.add("s", "q.json", 1, 1)
    log.jobs.add("s", "liquidate", _one(11, 12))
    a, b = log.jobs.select()
    held = log.jobs.claim(a, "tcp://w1", 60)
    assert held is not None and log.jobs.release(held, 1, "prover crashed 3 times", fail=True, retryable=True)
    failed = log.jobs.get(a.key)
    assert (
        failed is not None and failed.state == "failed" and failed.retryable and failed.lease_worker is None
    )
    assert log.jobs.claim(b, "tcp://w1", 60) is not None
    assert log.jobs.recover() == 1  # the head restarted: its leases are void
    back = log.jobs.get(b.key)
    assert back is not None and back.state == "pending" and back.lease_worker is None


def test_progress_counts_rate_workers_and_eta(log: JobLog) -> None:
    log.snapshots.add("s", "q.json", 1, 1)
    log.jobs.add("s", "liquidate", _one(1, 2, 3, 4, 5, 6))
    jobs = log.jobs.select()
    for n, job in enumerate(jobs[:3]):
        held = log.jobs.claim(job, f"tcp://w{n % 2}", 60)
        assert held is not None and log.jobs.store_proof(held, 1, "{}", f"tcp://w{n % 2}", 2.0)
    assert log.jobs.claim(jobs[3], "tcp://w2", 60) is not None
    empty = log.jobs.progress(now=0.0)  # no proof in the window
    assert empty.proofs_per_second == 0 and empty.eta_seconds is None
    progress = log.jobs.progress(window=60)
    assert (
        progress.counts["proved"] == 3 and progress.counts["proving"] == 1 and progress.counts["pending"] == 2
    )
    assert progress.workers == ["tcp://w0", "tcp://w1", "tcp://w2"] and progress.leased == 1
    assert progress.busy_seconds == 6.0 and progress.proofs_per_second > 0
    assert progress.eta_seconds is not None and progress.eta_seconds > 0


def test_a_log_written_before_leases_gets_their_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    jl = JobLog(path)
    jl.snapshots.add("s", "q.json", 1, 1)
    jl.jobs.add("s", "liquidate", _one(7))
    jl.close()
    con = sqlite3.connect(path)
    for column in ("lease_worker", "lease_expiry", "proved_by", "proved_at", "prove_seconds"):
        con.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
    con.commit()
    con.close()
    again = JobLog(path)
    (job,) = again.jobs.select()
    assert job.lease_worker is None and again.jobs.claim(job, "tcp://w", 5) is not None
    again.close()

"""The prover pool on Dask: leases in the job log, workers that die, separate processes.

* a worker process killed (SIGKILL, by its pid) while it proves loses its lease: the job is
  proved again on another worker and stored once; through the keeper on anvil the job
  still ends ``confirmed`` exactly once, one liquidation per account;
* leases that run out: the proofs that come back late are dropped, never stored, and the
  job fails as retryable once its attempts are spent; a later pool proves it once;
* priority: with one worker the jobs are leased in batch order (insolvent first, then by
  shortfall, largest first), as the job log shows;
* a scheduler and two workers started as separate processes (``dask scheduler``, ``dask
  worker``) on loopback prove a small drill; both workers take jobs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.dask_processes import dask_processes
from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry, capped_shortfall
from engine.batching import liquidation_batches
from engine.commitments import MarketCommitments
from engine.formats import load_accounts
from engine.margin import compute_margin
from prover.keys.artifacts import CircuitArtifacts
from prover.statements.batch_bundle import BatchBundle
from prover.verification.verify_py import verify_groth16
from verifier_contracts.chain import Chain
from zkmargin.keeper import pool as pool_module
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.job_store import Job
from zkmargin.keeper.keeper import Keeper, KeeperSettings
from zkmargin.keeper.pool import ProverPool
from zkmargin.keeper.proof_queue import ProofTask
from zkmargin.keeper.snapshots import read_snapshot
from zkmargin.keeper.transactions import DurableTxs

from .keeper_env import PARAMS, PROFILE, deploy_gate, liquidation_events, wait_for, write_scenario

#: The liquidatable and insolvent accounts of the scenario's book (5 of them).
DUE = [4, 5, 6, 7, 8]


@dataclass
class Drill:
    db: Path
    log: JobLog
    task: ProofTask


def _drill(folder: Path, per_batch: int = 1, book: list[int] = DUE) -> Drill:
    """A snapshot's jobs in the log (batches of ``per_batch``, in priority order) and the task."""
    scenario = write_scenario(folder, shock=False, book=book)
    market = scenario.markets()[0]
    accounts = {a.account.account_id: a.account for a in load_accounts(scenario.accounts, market)}
    entries = []
    for i, account in accounts.items():
        r = compute_margin(market, scenario.risk, account)
        entries.append(BatchEntry(i, int(r.status), capped_shortfall(r.shortfall)))
    db = folder / "op.sqlite"
    log = JobLog(db)
    mc = MarketCommitments(market)
    log.snapshots.add("s", "q.json", market.epoch, mc.market_root)
    log.jobs.add("s", "liquidate", liquidation_batches(entries, per_batch))
    tree = AccountsTree.of_accounts(accounts.values(), depth=PROFILE.accounts_depth)
    return Drill(db, log, ProofTask("s", market, mc, scenario.risk, accounts, tree, 1))


def _verifies(artifacts: CircuitArtifacts, job: Job) -> bool:
    assert job.bundle is not None
    bundle = BatchBundle.from_dict(json.loads(job.bundle))
    return verify_groth16(artifacts.vkey_json(), bundle.public_signals, bundle.proof).ok


def _kill_a_proving_worker(pool: ProverPool, log: JobLog, tries: int = 5) -> str:
    """SIGKILL the worker process that holds a lease, until a lease ends that way: its job
    is released to be proved again (whether the pool saw the worker leave or its task fail).
    A proof may land before the signal does; then another lease is tried. Returns the killed
    worker's address."""
    for _ in range(tries):
        assert wait_for(
            lambda: any(j.lease_worker for j in log.jobs.select(state="proving")), 120, poll=0.005
        )
        leased = [j for j in log.jobs.select(state="proving") if j.lease_worker]
        if not leased:
            continue
        victim = leased[0]
        address = victim.lease_worker
        assert address is not None
        pid = pool.cluster.worker_pids().get(address)
        if pid is None:
            continue
        os.kill(pid, signal.SIGKILL)

        def moved_on(victim: Job = victim) -> bool:
            now = log.jobs.get(victim.key)
            return now is not None and (now.state != "proving" or now.attempts != victim.attempts)

        assert wait_for(moved_on, 120, poll=0.05), f"the lease of {victim.label} never ended"
        now = log.jobs.get(victim.key)
        assert now is not None
        if now.attempts > victim.attempts or now.state == "pending":
            return address  # released by the kill: proved again elsewhere
        # this very attempt's proof was stored before the signal landed: try another lease
    raise AssertionError("no lease was lost to a killed worker")


def test_a_worker_killed_mid_proof_loses_its_lease(tmp_path: Path, artifacts: CircuitArtifacts) -> None:
    drill = _drill(tmp_path)
    with ProverPool(artifacts, drill.db, 2) as pool:
        assert len(pool.cluster.workers(fresh=True)) == 2
        assert pool.enqueue(drill.task, drill.log.jobs.select()) == len(DUE)
        killed = _kill_a_proving_worker(pool, drill.log)
        assert wait_for(pool.idle, 300, poll=0.1)
    jobs = drill.log.jobs.select()
    drill.log.close()
    assert [j.state for j in jobs] == ["proved"] * len(DUE)
    again = [j for j in jobs if j.attempts >= 2]
    assert again, [(j.batch, j.attempts) for j in jobs]
    for job in again:
        assert job.proved_by != killed  # proved again elsewhere (the nanny restarts a new worker)
    assert all(_verifies(artifacts, j) for j in again)
    assert all(j.lease_worker is None and j.lease_expiry is None for j in jobs)
    assert len(pool.timings) == len(DUE)  # each job's proof kept once


@pytest.mark.slow  # ~20 s; the keeper-level drop of late proofs is in test_keeper's going-stale drill
def test_late_proofs_are_dropped_and_never_stored(tmp_path: Path, artifacts: CircuitArtifacts) -> None:
    """Leases far shorter than a proof: every proof comes back late and is dropped; the job
    fails as retryable after its two attempts. A later pool with a sane lease proves it once."""
    drill = _drill(tmp_path, per_batch=PROFILE.batch_size, book=DUE[: PROFILE.batch_size])  # one job
    with ProverPool(artifacts, drill.db, 1, lease_seconds=0.01, max_attempts=2) as pool:
        pool.enqueue(drill.task, drill.log.jobs.select())
        assert wait_for(pool.idle, 120, poll=0.05)
        assert wait_for(lambda: pool.late >= 1, 120, poll=0.1)  # a proof did come back, late
    (job,) = drill.log.jobs.select()
    assert job.state == "failed" and job.retryable and job.attempts == 2
    assert job.bundle is None and job.proved_by is None and "ran out" in (job.reason or "")
    assert pool.timings == []

    assert drill.log.jobs.retry_failed("s") == 1
    with ProverPool(artifacts, drill.db, 1) as pool:
        pool.enqueue(drill.task, drill.log.jobs.select())
        assert wait_for(pool.idle, 120, poll=0.05)
    (job,) = drill.log.jobs.select()
    drill.log.close()
    assert job.state == "proved" and job.attempts == 1 and _verifies(artifacts, job)
    assert len(pool.timings) == 1


def test_a_lease_in_the_log_that_nobody_holds_runs_out(tmp_path: Path, artifacts: CircuitArtifacts) -> None:
    """A job left ``proving`` under a lease no task of the pool stands behind (a worker of
    another process, say) is released when its expiry passes, and proved."""
    drill = _drill(tmp_path, per_batch=PROFILE.batch_size, book=DUE[: PROFILE.batch_size])
    (job,) = drill.log.jobs.select()
    assert drill.log.jobs.claim(job, "tcp://ghost:1", 0.01) is not None
    with ProverPool(artifacts, drill.db, 1) as pool:
        pool.enqueue(drill.task, drill.log.jobs.select())  # pending again once the sweep released it
        assert wait_for(lambda: drill.log.jobs.select()[0].state == "proved", 120, poll=0.1)
    (job,) = drill.log.jobs.select()
    drill.log.close()
    assert job.attempts == 2 and job.proved_by != "tcp://ghost:1" and pool.lost_leases == 1


def test_jobs_are_leased_in_priority_order(
    tmp_path: Path, artifacts: CircuitArtifacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker proves the jobs one at a time, in batch order, whatever order they were
    enqueued in. The head's part of each lease (the job's circuit input) is made slow, as on
    a busy machine: a job the head holds between the queue and its lease keeps the pool from
    being idle, so none is left unproved when the pool closes."""
    build = pool_module.prepare_batch

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return build(*args, **kwargs)

    monkeypatch.setattr(pool_module, "prepare_batch", slow_build)
    drill = _drill(tmp_path)
    with ProverPool(artifacts, drill.db, 1) as pool:
        pool.enqueue(drill.task, reversed(drill.log.jobs.select()))  # the order given does not matter
        assert wait_for(pool.idle, 300, poll=0.1)
    jobs = sorted(drill.log.jobs.select(), key=lambda j: j.batch)
    drill.log.close()
    proved_at = [j.proved_at for j in jobs]
    assert all(t is not None for t in proved_at) and proved_at == sorted(proved_at)  # type: ignore[type-var]
    keys = [(-j.entries[0].status, -j.entries[0].shortfall) for j in jobs]
    assert keys == sorted(keys) and jobs[0].entries[0].status == 3  # insolvent first, largest first


# ------------------------------------------- a scheduler and workers as processes


def test_a_scheduler_and_two_workers_in_their_own_processes(
    tmp_path: Path, artifacts: CircuitArtifacts
) -> None:
    drill = _drill(tmp_path)
    with dask_processes(tmp_path, 2) as address:
        pool = ProverPool(artifacts, drill.db, cluster=address)
        pool.start()
        try:
            assert wait_for(lambda: len(pool.cluster.workers(fresh=True)) == 2, 60, poll=0.2)
            workers = set(pool.cluster.workers())
            pool.enqueue(drill.task, drill.log.jobs.select())
            assert wait_for(pool.idle, 300, poll=0.1)
        finally:
            pool.close()
    jobs = drill.log.jobs.select()
    drill.log.close()
    assert [j.state for j in jobs] == ["proved"] * len(DUE)
    assert {j.proved_by for j in jobs} == workers  # both workers proved
    assert all(_verifies(artifacts, j) for j in jobs)


# ------------------------------------------------- through the keeper, on anvil


@pytest.mark.anvil
def test_keeper_confirms_once_when_a_worker_dies(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    scenario = write_scenario(tmp_path, shock=False, book=[0, *DUE, 1])
    env = deploy_gate(chain, artifacts, scenario.risk, tmp_path)
    db = tmp_path / "op.sqlite"
    log = JobLog(db)
    pool = ProverPool(artifacts, db, 2).start()
    txs = DurableTxs(env.chain, env.gate.artifact.abi)
    settings = KeeperSettings(scenario.accounts, PARAMS, PROFILE, poll=0.05)
    operator = Keeper(settings, log, env.gate, env.chain.roles, pool, txs)
    outcome: list[object] = []
    keeper = threading.Thread(
        target=lambda: outcome.append(operator.process(read_snapshot(scenario.quotes[0])))
    )
    try:
        keeper.start()
        watcher = JobLog(db, read_only=True) if wait_for(db.exists, 60) else None
        assert watcher is not None
        _kill_a_proving_worker(pool, watcher)
        watcher.close()
        keeper.join(timeout=600)
        assert not keeper.is_alive()
    finally:
        pool.close()
    jobs = log.jobs.select()
    log.close()
    assert outcome and getattr(outcome[0], "state", None) == "done"
    assert {j.state for j in jobs} == {"confirmed"} and any(j.attempts >= 2 for j in jobs)
    opened = [e["id"] for e in liquidation_events(env.gate)]
    assert sorted(opened) == sorted(scenario.liquidatable(0))  # each account once
    sent = [t for t in JobLog(db, read_only=True).txs.all() if t.purpose.startswith("liquidateBatch")]
    assert len(sent) == len(jobs)  # one liquidation transaction per job, none twice


@pytest.mark.parametrize("value", ["http://127.0.0.1:8786", "tcp://nohost", "tcp://h:99999", "remote"])
def test_a_bad_cluster_address_is_refused_before_anything_starts(tmp_path: Path, value: str) -> None:
    files = {name: tmp_path / name for name in ("q.json", "accounts.json", "params.json", "deployment.json")}
    for path in files.values():
        path.write_text("{}")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "zkmargin.cli.main",
            "operator",
            "run",
            "--once",
            files["q.json"],
            "--accounts",
            files["accounts.json"],
            "--params",
            files["params.json"],
            "--deployment",
            files["deployment.json"],
            "--db",
            tmp_path / "op.sqlite",
            "--cluster",
            value,
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "--cluster must be 'local' or a scheduler address" in proc.stderr
    assert not (tmp_path / "op.sqlite").exists()  # nothing written

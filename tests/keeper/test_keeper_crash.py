"""Crash safety of ``zkmargin operator run``, end to end.

anvil on a free port, the gate deployed with the test profile's verifier, and the
operator started as a subprocess on a snapshot with five liquidatable accounts: two batch
jobs (K = 4). It is killed with SIGKILL mid-run (as soon as the SQLite log shows a first
batch proved), and again after a first batch is confirmed while the other is still open;
then run to the end. Every batch must end ``confirmed`` and every liquidatable account
must have exactly one case opened on chain (``LiquidationsOpened``), by the transaction
whose hash the log recorded for its batch, and the liquidator must have sent exactly one
transaction per batch. A further run on the same snapshot sends nothing (not one block is
mined).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from prover.keys.artifacts import CircuitArtifacts
from verifier_contracts.chain import Chain

from .keeper_env import (
    accounts_of,
    deploy_gate,
    job_states,
    liquidation_events,
    nonce,
    opened_by,
    operator_process,
    run_args,
    run_operator,
    status_json,
    wait_for,
    write_scenario,
)

ACTIVE = ("pending", "proving", "proved", "submitted")


def _kill_when(args: list[str], log_file: Path, db: Path, reached: tuple[str, ...]) -> dict[str, int]:
    """Start the operator, SIGKILL it as soon as a job is in one of ``reached``; return the
    job states seen at that moment."""
    with operator_process(args, log_file) as proc:
        seen = wait_for(lambda: any(job_states(db).get(s) for s in reached) or proc.poll() is not None, 240)
        assert seen and proc.poll() is None, f"operator ended early:\n{log_file.read_text()[-3000:]}"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        return job_states(db)


@pytest.mark.anvil
def test_sigkill_mid_batch_then_restart(tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts) -> None:
    scenario = write_scenario(tmp_path, shock=False, book=[0, 4, 5, 6, 7, 8])
    expected = scenario.liquidatable(0)
    assert len(expected) == 5  # two batches: 4 + 1
    env = deploy_gate(chain, artifacts, scenario.risk, tmp_path)
    db = tmp_path / "operator.sqlite"
    log_file = tmp_path / "operator.log"
    args = run_args(scenario, env, db, "--once", scenario.quotes[0])
    liquidator = chain.roles.liquidator

    # 1. killed as soon as the first proof is stored
    at_kill = _kill_when(args, log_file, db, ("proved", "submitted", "confirmed"))
    assert sum(at_kill.get(s, 0) for s in ACTIVE) > 0, f"batch already finished at the kill: {at_kill}"
    assert sum(at_kill.values()) == 2  # every job exists before any is proved

    # 2. killed again once a liquidation is confirmed, while others are still open
    at_kill = _kill_when(args, log_file, db, ("confirmed",))
    assert sum(at_kill.get(s, 0) for s in ACTIVE) > 0, f"batch already finished at the second kill: {at_kill}"

    # 3. run to the end
    assert run_operator(args, log_file) == 0, log_file.read_text()[-3000:]
    status = status_json(db)
    (snap,) = status["snapshots"]
    assert snap["state"] == "done"
    jobs = status["job_list"]
    assert accounts_of(jobs) == expected and len(jobs) == 2  # no job lost, none added
    assert {j["state"] for j in jobs} == {"confirmed"}

    events = liquidation_events(env.gate)
    assert sorted(e["id"] for e in events) == sorted(expected)  # exactly one per account
    assert {e["id"]: e["tx_hash"] for e in events} == opened_by(jobs)
    assert {e["epoch"] for e in events} == {snap["epoch"]}
    assert nonce(chain, liquidator) == len(jobs)  # never a second liquidation transaction
    assert "recovered the job log" in log_file.read_text() or at_kill.get("proving", 0) == 0

    # 4. the same snapshot again: nothing new, not one transaction
    block = chain.w3.eth.block_number
    assert run_operator(args, log_file) == 0
    assert chain.w3.eth.block_number == block
    assert status_json(db)["job_list"] == jobs

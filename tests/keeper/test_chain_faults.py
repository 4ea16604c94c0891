"""Faulty chains on anvil: the keeper with real test-profile proofs, the chain misbehaving
under it. Each drill ends with every liquidation made exactly once, or the keeper stopped
with a clear error (never exit 0 with liquidations lost).

* a reorganisation after a liquidation was confirmed (``evm_snapshot`` / ``evm_revert``):
  the liquidation is not final yet, its receipt vanishes, the keeper settles it again;
* a chain reset with the gate redeployed at the same address (``anvil_reset``): the keeper
  refuses to go on against a gate its job log does not describe.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.keys.artifacts import CircuitArtifacts
from verifier_contracts.chain import Chain, anvil

from .keeper_env import (
    AS_OF,
    deploy_gate,
    job_states,
    liquidation_events,
    operator_process,
    run_args,
    run_operator,
    status_json,
    wait_for,
    write_scenario,
)
from .test_keeper import _quotes

pytestmark = pytest.mark.anvil


@pytest.fixture
def chain() -> Iterator[Chain]:
    with anvil() as c:  # a fresh chain per drill: they revert and reset it
        yield c


def test_a_reorg_after_confirmation_is_settled_again(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    scenario = write_scenario(tmp_path, shock=False, book=[4])  # one liquidatable account
    env = deploy_gate(chain, artifacts, scenario.risk, tmp_path)
    db = tmp_path / "op.sqlite"
    log_file = tmp_path / "run.log"
    args = run_args(scenario, env, db, "--once", scenario.quotes[0], confirmations=3)
    with operator_process(args, log_file) as proc:
        # the market is posted and the job exists, not yet sent: the block to come back to
        assert wait_for(lambda: job_states(db).get("pending", 0) + job_states(db).get("proving", 0) == 1, 120)
        before_liquidation = chain._rpc("evm_snapshot", [])
        assert wait_for(lambda: job_states(db).get("confirmed", 0) == 1, 120), log_file.read_text()[-3000:]
        assert proc.poll() is None  # one confirmation of three: not final, the keeper waits
        (opened,) = liquidation_events(env.gate)
        assert chain._rpc("evm_revert", [before_liquidation]) is True  # the block is gone
        assert liquidation_events(env.gate) == []
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            chain._rpc("evm_mine", [])  # blocks keep coming, as on a live chain
            time.sleep(0.25)
        assert proc.returncode == 0, log_file.read_text()[-3000:]
    events = liquidation_events(env.gate)
    assert [e["id"] for e in events] == [opened["id"]]  # made again, exactly once
    (job,) = status_json(db)["job_list"]
    assert job["state"] == "confirmed" and job["final"] is True
    assert "is no longer in a block (a reorg)" in log_file.read_text()
    confirmations = (
        chain.w3.eth.block_number - chain.w3.eth.get_transaction_receipt(events[0]["tx_hash"])["blockNumber"]
    )
    assert confirmations + 1 >= 3


def test_a_chain_reset_with_the_gate_redeployed_at_the_same_address_stops_the_keeper(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    scenario = write_scenario(tmp_path, shock=False, book=[4])
    env = deploy_gate(chain, artifacts, scenario.risk, tmp_path)
    db = tmp_path / "op.sqlite"
    assert run_operator(run_args(scenario, env, db, "--once", scenario.quotes[0]), tmp_path / "1.log") == 0
    assert len(liquidation_events(env.gate)) == 1
    chain._rpc("anvil_reset", [])
    again = deploy_gate(chain, artifacts, scenario.risk, tmp_path / "redeployed")
    assert again.gate.address == env.gate.address  # same deployer, same nonce: same address
    later = _quotes(scenario.folder / "q-later.json", AS_OF + dt.timedelta(days=1))
    code = run_operator(run_args(scenario, env, db, "--once", later), tmp_path / "2.log")
    text = (tmp_path / "2.log").read_text()
    assert code == 2, text[-3000:]
    assert "the chain was reset" in text
    assert liquidation_events(again.gate) == [] and again.gate.latest_market().epoch == 0  # nothing sent
    recorded = {s["source"]: s["state"] for s in status_json(db)["snapshots"]}
    assert str(later) not in recorded  # refused before it was built or recorded


def _gwei(n: float) -> str:
    return hex(int(n * 10**9))


@pytest.mark.parametrize(
    ("cap_gwei", "spike_gwei"),
    [
        # a cap below the spike: ~30 s, with the outbid case in the default suite
        pytest.param(50, 500, marks=pytest.mark.anvil_slow),
        (2000, 500),
    ],
    ids=["cap-below-spike", "outbid"],
)
def test_a_base_fee_spike_is_met_with_replacements(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts, cap_gwei: int, spike_gwei: int
) -> None:
    """The base fee jumps just before the liquidation goes out. The keeper replaces it (same
    nonce, higher fees, each replacement recorded before it is sent): above the spike when
    its cap allows; at the cap it waits until fees fall. One liquidation either way."""
    scenario = write_scenario(tmp_path, shock=False, book=[4])
    env = deploy_gate(chain, artifacts, scenario.risk, tmp_path)
    db = tmp_path / "op.sqlite"
    log_file = tmp_path / "run.log"
    args = run_args(scenario, env, db, "--once", scenario.quotes[0])
    args += ["--max-fee-gwei", str(cap_gwei), "--replace-after", "0.5"]
    with operator_process(args, log_file) as proc:
        assert wait_for(lambda: job_states(db).get("pending", 0) + job_states(db).get("proving", 0) == 1, 120)
        chain._rpc("anvil_setNextBlockBaseFeePerGas", [_gwei(spike_gwei)])
        if cap_gwei < spike_gwei:
            assert wait_for(lambda: "fee cap (50 gwei) is reached" in log_file.read_text(), 120), (
                log_file.read_text()[-3000:]
            )
            assert liquidation_events(env.gate) == [] and proc.poll() is None  # waiting, not failing
            chain._rpc("anvil_setNextBlockBaseFeePerGas", [_gwei(1)])  # the spike passes
        assert proc.wait(timeout=120) == 0, log_file.read_text()[-3000:]
    events = liquidation_events(env.gate)
    assert len(events) == 1  # exactly one liquidation
    text = log_file.read_text()
    assert "replacement tx" in text
    mined = chain.w3.eth.get_transaction(events[0]["tx_hash"])
    if cap_gwei > spike_gwei:
        assert spike_gwei * 10**9 <= mined["maxFeePerGas"] <= cap_gwei * 10**9  # outbid the spike
    else:
        assert mined["maxFeePerGas"] == cap_gwei * 10**9  # the replacement at the cap, once fees fell
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    attempts = con.execute("SELECT sender, nonce FROM txs WHERE purpose LIKE 'liquidate%'").fetchall()
    con.close()
    assert len(attempts) >= 2 and len(set(attempts)) == 1  # every replacement recorded, one nonce
    (job,) = status_json(db)["job_list"]
    assert job["state"] == "confirmed" and job["tx_hash"] == events[0]["tx_hash"]


@pytest.mark.anvil_slow  # ~30 s; the same replacement path as the outbid case above
def test_a_base_fee_spike_before_the_market_is_posted_is_met_with_replacements(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    """The base fee jumps just as the keeper posts the market: postMarket is replaced (same
    nonce, higher fees, each attempt recorded before it is sent) until it is mined, and the
    run goes on to its liquidation."""
    scenario = write_scenario(tmp_path, shock=False, book=[4])
    env = deploy_gate(chain, artifacts, scenario.risk, tmp_path)
    db = tmp_path / "op.sqlite"
    log_file = tmp_path / "run.log"
    args = run_args(scenario, env, db, "--once", scenario.quotes[0])
    args += ["--max-fee-gwei", "2000", "--replace-after", "0.5"]
    chain._rpc("anvil_setNextBlockBaseFeePerGas", [_gwei(500)])
    assert run_operator(args, log_file) == 0, log_file.read_text()[-3000:]
    assert len(liquidation_events(env.gate)) == 1
    assert env.gate.latest_market().epoch == 1
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    posts = con.execute("SELECT sender, nonce FROM txs WHERE purpose LIKE 'postMarket%'").fetchall()
    con.close()
    assert len(posts) >= 2 and len(set(posts)) == 1, posts  # replaced, one nonce
    assert "postMarket epoch 1: replacement tx" in log_file.read_text()

"""The operator's keeper on a real anvil chain with real test-profile proofs.

* snapshot files: ids, order, skipped names (no chain);
* a folder with a bad file and two snapshots (the second a market shock), through the CLI
  with two prover workers: the bad one fails with its reason, the others are processed
  in order, every liquidatable account is liquidated once, in the right epoch;
* ``--once`` with a bad file exits 2 and records the failure;
* a snapshot dated before one already processed fails before anything is built or
  posted (with ``--once``: exit 2; in a folder the loop goes on); the same date is fine;
* a crash between recording a liquidation and broadcasting it, and one right after the
  broadcast: the restarted keeper sends the recorded transaction (same hash) or just
  collects its receipt, never a second liquidation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NoReturn

import pytest
from eth_account import Account
from web3.types import Wei

from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry, capped_shortfall
from engine.commitments import MarketCommitments
from engine.fileio import write_json_atomic
from engine.formats import QuotesFile, dump_quotes, load_accounts
from engine.margin import compute_margin
from prover.backends.native import native_available
from prover.keys.artifacts import CircuitArtifacts
from prover.statements.batch_bundle import BatchBundle
from verifier_contracts.chain import Chain
from verifier_contracts.gate import Role
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.keeper import Keeper, KeeperSettings
from zkmargin.keeper.pool import ProverPool
from zkmargin.keeper.proof_queue import ProofTask
from zkmargin.keeper.snapshots import read_snapshot, scan_folder
from zkmargin.keeper.transactions import DurableTxs
from zkmargin.keeper.tx_store import SignedTx

from .keeper_env import (
    AS_OF,
    ASSETS,
    INSTRUMENTS,
    PARAMS,
    PROFILE,
    GateOnAnvil,
    Scenario,
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
    zkmargin_cmd,
)

# ------------------------------------------------------------------ no chain


def test_snapshot_folder_order_ids_and_skipped_names(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path)
    folder = scenario.folder
    # a copy under a name that sorts first but with a later date comes last
    later = folder / "a-copy.json"
    later.write_bytes(scenario.quotes[1].read_bytes())
    (folder / "broken.json").write_text("{not json")
    (folder / ".partial.json").write_text("{")
    (folder / "x.json.tmp").write_text("{")
    (folder / "notes.txt").write_text("ignored")
    snaps = scan_folder(folder)
    names = [s.path.name for s in snaps]
    assert names == ["broken.json", "q-2026-11-20.json", "a-copy.json", "q-2026-11-21.json"]
    first = read_snapshot(scenario.quotes[0])
    assert first.snapshot_id == hashlib.sha256(scenario.quotes[0].read_bytes()).hexdigest()
    # same bytes, same snapshot, whatever the name
    assert snaps[2].snapshot_id == snaps[3].snapshot_id
    assert first.load(PROFILE).as_of.isoformat() == "2026-11-20"


def _quotes(path: Path, as_of: dt.date, spot_move: float = 0.0) -> Path:
    """A quotes file of the scenario's market dated ``as_of`` (spots moved by ``spot_move``)."""
    assets = tuple(replace(a, spot=round(a.spot * (1 + spot_move), 2)) for a in ASSETS)
    write_json_atomic(path, dump_quotes(QuotesFile(as_of=as_of, assets=assets, instruments=INSTRUMENTS)))
    return path


class ReachedTheGate(Exception):
    pass


class NoGate:
    """Stands for the gate where the test expects nothing to reach it."""

    def __getattr__(self, name: str) -> NoReturn:
        raise ReachedTheGate(name)


def test_a_snapshot_dated_in_the_future_fails_before_anything_is_built(tmp_path: Path) -> None:
    """A typo such as 2062 is refused (it would make every later snapshot look older);
    tomorrow is within the tolerance and goes on (to the gate, which stops it here)."""
    scenario = write_scenario(tmp_path, shock=False, book=[0])
    log = JobLog(tmp_path / "op.sqlite")
    stub: Any = NoGate()
    operator = Keeper(
        KeeperSettings(scenario.accounts, PARAMS, PROFILE), log, stub, stub, SimpleNamespace(), stub
    )  # type: ignore[arg-type]
    try:
        typo = read_snapshot(_quotes(scenario.folder / "typo.json", dt.date(2062, 11, 20)))
        outcome = operator.process(typo)
        assert outcome.state == "failed" and outcome.reason is not None
        assert outcome.reason.startswith("as_of 2062-11-20 is in the future")
        assert log.snapshots.newest_processed() is None  # it cannot block later snapshots
        tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
        with pytest.raises(ReachedTheGate):
            operator.process(read_snapshot(_quotes(scenario.folder / "tomorrow.json", tomorrow)))
    finally:
        log.close()


def test_a_snapshot_older_than_one_processed_fails_before_anything_is_built(tmp_path: Path) -> None:
    """No chain, no prover: the stale snapshot is refused from the log alone; one of the same
    date as the newest processed snapshot goes on (here, to the gate, which stops it)."""
    scenario = write_scenario(tmp_path, shock=False, book=[0])
    newer = _quotes(scenario.folder / "quotes-b.json", AS_OF + dt.timedelta(days=1))
    older = read_snapshot(_quotes(scenario.folder / "quotes-a.json", AS_OF - dt.timedelta(days=1)))
    log = JobLog(tmp_path / "op.sqlite")
    newer_id = read_snapshot(newer).snapshot_id
    log.snapshots.add(newer_id, str(newer), 1, 123, as_of="2026-11-21")
    log.snapshots.set_state(newer_id, "posted")
    log.snapshots.set_state(newer_id, "done")
    settings = KeeperSettings(scenario.accounts, PARAMS, PROFILE)
    stub: Any = NoGate()
    operator = Keeper(settings, log, stub, stub, SimpleNamespace(), stub)  # type: ignore[arg-type]
    try:
        reason = "as_of 2026-11-19 is older than 2026-11-21 of snapshot quotes-b.json already processed"
        outcome = operator.process(older)
        assert (outcome.state, outcome.reason, outcome.epoch, outcome.jobs) == ("failed", reason, 0, {})
        record = log.snapshots.get(older.snapshot_id)
        assert record is not None and (record.state, record.reason, record.epoch) == ("failed", reason, 0)
        # processed again (e.g. after a restart): still the same failure, nothing more
        assert operator.process(older).reason == reason
        # the same date as the newest processed: allowed, it goes on to the gate
        intraday = read_snapshot(
            _quotes(scenario.folder / "quotes-c.json", AS_OF + dt.timedelta(days=1), 0.01)
        )
        with pytest.raises(ReachedTheGate):
            operator.process(intraday)
        assert log.snapshots.get(intraday.snapshot_id) is None
    finally:
        log.close()
    # a 'posted' snapshot (in flight when the keeper stopped) counts as processed too
    log = JobLog(tmp_path / "in-flight.sqlite")
    log.snapshots.add(newer_id, str(newer), 1, 123, as_of="2026-11-21")
    log.snapshots.set_state(newer_id, "posted")
    try:
        in_flight = Keeper(settings, log, stub, stub, SimpleNamespace(), stub)  # type: ignore[arg-type]
        assert in_flight.process(read_snapshot(scenario.quotes[0])).state == "failed"
    finally:
        log.close()


def test_status_of_an_empty_log(tmp_path: Path) -> None:
    JobLog(tmp_path / "op.sqlite").close()
    data = status_json(tmp_path / "op.sqlite")
    assert data["snapshots"] == [] and data["failed_jobs"] == []
    assert set(data["jobs"].values()) == {0}


# ------------------------------------------------- real proofs (most on anvil)


def _gate(chain: Chain, artifacts: CircuitArtifacts, scenario: Scenario, folder: Path) -> GateOnAnvil:
    return deploy_gate(chain, artifacts, scenario.risk, folder)


def test_pool_fails_jobs_it_must_not_prove(tmp_path: Path, artifacts: CircuitArtifacts) -> None:
    """A job created for another status than the proof shows, and a job for an account
    missing from the accounts file, fail with their reasons; a good job is proved."""
    scenario = write_scenario(tmp_path, shock=False, book=[4, 5])
    market = scenario.markets()[0]
    accounts = {a.account.account_id: a.account for a in load_accounts(scenario.accounts, market)}
    good, wrong = sorted(accounts)
    margins = {i: compute_margin(market, scenario.risk, a) for i, a in accounts.items()}
    db = tmp_path / "op.sqlite"
    log = JobLog(db)
    log.snapshots.add("s", "q.json", market.epoch, MarketCommitments(market).market_root)
    log.jobs.add(
        "s",
        "liquidate",
        [
            [BatchEntry(good, int(margins[good].status), capped_shortfall(margins[good].shortfall))],
            [BatchEntry(wrong, 3, capped_shortfall(margins[wrong].shortfall))],  # the engine says 2
            [BatchEntry(424242, 2, 1)],
        ],
    )
    tree = AccountsTree.of_accounts(accounts.values(), depth=PROFILE.accounts_depth)
    task = ProofTask("s", market, MarketCommitments(market), scenario.risk, accounts, tree, 1)
    with ProverPool(artifacts, db, 1) as pool:
        assert pool.enqueue(task, log.jobs.select()) == 3
        assert wait_for(pool.idle, 300, poll=0.1)
    states = {j.batch: j for j in log.jobs.select()}
    log.close()
    assert states[0].state == "proved" and states[0].bundle is not None
    assert BatchBundle.from_dict(json.loads(states[0].bundle)).entries == list(states[0].entries)
    assert states[1].state == "failed" and "not the ones the job was created for" in (states[1].reason or "")
    assert states[2].state == "failed" and "424242 is not in the accounts file" in (states[2].reason or "")
    assert [t.batch for t in pool.timings] == [0]


@pytest.mark.anvil
def test_folder_of_snapshots_processed_in_order(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    # long BTC (healthy, then under water), short BTC (healthy), liquidatable, insolvent
    scenario = write_scenario(tmp_path, book=[0, 2, 4, 7])
    (scenario.folder / "0-bad.json").write_text('{"format": "zkmargin/quotes@1", "as_of": "2026-11-19"}')
    env = _gate(chain, artifacts, scenario, tmp_path)
    db = tmp_path / "op.sqlite"
    args = run_args(scenario, env, db, "--snapshots", scenario.folder, workers=2, prover="auto")
    code = run_operator([*args, "--exit-when-idle", "--poll", "0.2"], tmp_path / "run.log")
    assert code == 1, (tmp_path / "run.log").read_text()[-3000:]  # 0-bad.json failed: a check failed
    run_log = (tmp_path / "run.log").read_text()
    if native_available():  # auto: the native prover made these proofs
        assert "worker(s) ready (batch-test, arkworks)" in run_log
    # the first snapshot hashed every commitment; the second found the accounts file unchanged
    assert "4 accounts (read; 4 commitment(s) hashed, 0 from the cache" in run_log
    assert "4 accounts (file unchanged: reused" in run_log

    status = status_json(db)
    progress = status["progress"]  # the numbers of the live display, from the log
    assert progress["jobs"] == status["jobs"] and 1 <= len(progress["workers"]) <= 2
    assert progress["eta_seconds"] in (None, 0.0)  # nothing left to prove
    by_name = {Path(s["source"]).name: s for s in status["snapshots"]}
    bad = by_name["0-bad.json"]
    assert bad["state"] == "failed"
    assert "quotes.assets" in bad["reason"] and "0-bad.json" in bad["reason"]
    first, second = by_name["q-2026-11-20.json"], by_name["q-2026-11-21.json"]
    assert (first["state"], second["state"]) == ("done", "done")
    assert second["epoch"] == first["epoch"] + 1

    liq0, liq1 = scenario.liquidatable(0), scenario.liquidatable(1)
    assert len(liq0) == 2 and len(liq1 - liq0) == 1  # the shock sinks the healthy long account
    jobs = status["job_list"]
    assert accounts_of(jobs, first["snapshot_id"]) == liq0  # one batch of 2
    # accounts whose case from the first epoch is still open are not liquidated again
    assert accounts_of(jobs, second["snapshot_id"]) == liq1 - liq0
    assert {j["state"] for j in jobs} == {"confirmed"} and len(jobs) == 2

    events = liquidation_events(env.gate)
    assert sorted(e["id"] for e in events) == sorted(liq0 | liq1)
    epoch_of = {first["snapshot_id"]: first["epoch"], second["snapshot_id"]: second["epoch"]}
    tx_of = {
        int(e["account_id"]): (j["tx_hash"], epoch_of[j["snapshot_id"]]) for j in jobs for e in j["entries"]
    }
    assert {e["id"]: (e["tx_hash"], e["epoch"]) for e in events} == tx_of
    assert opened_by(jobs) == {i: tx for i, (tx, _) in tx_of.items()}
    latest = env.gate.latest_market()
    assert (latest.epoch, str(latest.root)) == (second["epoch"], second["market_root"])
    table = subprocess.run(zkmargin_cmd("operator", "status", "--db", db), capture_output=True, text=True)
    assert table.returncode == 0 and "done" in table.stdout and "failed" in table.stdout
    assert "2 confirmed" in table.stdout

    # each liquidated user gets the batch proof that names them, and it verifies
    liquidated = sorted(liq1 - liq0)[0]
    out = tmp_path / "proof.json"
    export = subprocess.run(
        zkmargin_cmd("operator", "proof", "--db", db, "--account", str(liquidated), "--out", out),
        capture_output=True,
        text=True,
    )
    assert export.returncode == 0, export.stderr
    bundle = BatchBundle.load(out)
    assert liquidated in [e.account_id for e in bundle.entries] and str(liquidated) in bundle.paths
    assert bundle.market_epoch == second["epoch"]
    verify = subprocess.run(
        zkmargin_cmd("verify", out, "--vkey", artifacts.vkey),
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and "batch proof valid" in verify.stdout, verify.stderr
    healthy = sorted(set(scenario.statuses(1)) - liq0 - liq1)[0]
    missing = subprocess.run(
        zkmargin_cmd(
            "operator", "proof", "--db", db, "--account", str(healthy), "--out", tmp_path / "x.json"
        ),
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and f"names account {healthy}" in missing.stderr
    assert not (tmp_path / "x.json").exists()


@pytest.mark.anvil
def test_once_with_a_bad_snapshot_exits_2(tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts) -> None:
    scenario = write_scenario(tmp_path, shock=False, book=[0])
    env = _gate(chain, artifacts, scenario, tmp_path)
    bad = tmp_path / "bad.json"
    asset = '{"name": "BTC", "spot": 40000, "vol": 0.6, "depth": 1e6, "dpeth": 3}'
    bad.write_text(
        f'{{"format": "zkmargin/quotes@1", "as_of": "2026-11-20", "assets": [{asset}], "instruments": []}}'
    )
    db = tmp_path / "op.sqlite"
    proc = subprocess.run(
        run_args(scenario, env, db, "--once", bad), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "failed" in proc.stderr and "quotes.assets[0].dpeth: unknown field" in proc.stderr
    (snap,) = status_json(db)["snapshots"]
    assert snap["state"] == "failed" and "dpeth" in snap["reason"] and "bad.json" in snap["reason"]
    again = subprocess.run(
        run_args(scenario, env, db, "--once", bad), capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 2 and "already failed" in again.stderr
    assert env.gate.latest_market().epoch == 0  # nothing was posted


@pytest.mark.anvil
@pytest.mark.anvil_slow  # 30 s; the rule itself is tested without a chain above
def test_snapshot_older_than_one_processed_is_refused(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    """Healthy accounts only, so no proof is made. The newest snapshot is processed; an
    older one fails with ``--once`` (exit 2) and in the folder (the loop goes on to an
    intraday update of the newest date, which is processed, then exits 1). Nothing older is posted."""
    scenario = write_scenario(tmp_path, shock=False, book=[0, 2])
    folder = scenario.folder
    newer = _quotes(folder / "quotes-b.json", AS_OF + dt.timedelta(days=1))
    env = _gate(chain, artifacts, scenario, tmp_path)
    db = tmp_path / "op.sqlite"
    proc = subprocess.run(
        run_args(scenario, env, db, "--once", newer), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert env.gate.latest_market().epoch == 1

    stale = scenario.quotes[0]  # as of 2026-11-20
    proc = subprocess.run(
        run_args(scenario, env, db, "--once", stale), capture_output=True, text=True, timeout=300
    )
    reason = "as_of 2026-11-20 is older than 2026-11-21 of snapshot quotes-b.json already processed"
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "failed" in proc.stderr and reason in proc.stderr
    assert env.gate.latest_market().epoch == 1

    late = _quotes(folder / "quotes-late.json", AS_OF - dt.timedelta(days=1))
    intraday = _quotes(folder / "quotes-c.json", AS_OF + dt.timedelta(days=1), 0.01)
    args = run_args(scenario, env, db, "--snapshots", folder)
    code = run_operator([*args, "--exit-when-idle", "--poll", "0.2"], tmp_path / "run.log")
    assert code == 1, (tmp_path / "run.log").read_text()[-3000:]  # two snapshots of the run failed
    by_name = {Path(s["source"]).name: s for s in status_json(db)["snapshots"]}
    assert set(by_name) == {"quotes-b.json", stale.name, late.name, intraday.name}
    assert (by_name[stale.name]["state"], by_name[stale.name]["reason"]) == ("failed", reason)
    assert by_name["quotes-late.json"]["state"] == "failed"
    assert by_name["quotes-late.json"]["reason"] == reason.replace("2026-11-20", "2026-11-19", 1)
    assert [by_name[n]["state"] for n in ("quotes-b.json", "quotes-c.json")] == ["done", "done"]
    assert [by_name[n]["as_of"] for n in ("quotes-b.json", "quotes-c.json")] == ["2026-11-21"] * 2
    assert (by_name["quotes-b.json"]["epoch"], by_name["quotes-c.json"]["epoch"]) == (1, 2)
    latest = env.gate.latest_market()
    assert (latest.epoch, str(latest.root)) == (2, by_name["quotes-c.json"]["market_root"])
    assert status_json(db)["job_list"] == []


@pytest.mark.anvil
@pytest.mark.anvil_slow  # about 2 min: real seconds between blocks (a market going stale stays in the suite)
def test_a_market_too_short_lived_to_prove_leaves_the_snapshot_incomplete_until_fixed(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    """Markets stay fresh for 1 s and every block comes 10 s after the last, so a market is
    stale by the next block however fast the proof: the keeper re-posts the market (3 times
    at most), the gate still refuses the proof with StaleMarket, so the job fails as
    retryable, nothing is sent, the snapshot is not done and the run exits 1. Once
    governance gives markets a sane age, the next run proves the job again and liquidates."""
    scenario = write_scenario(tmp_path, shock=False, book=[4])
    env = _gate(chain, artifacts, scenario, tmp_path)
    env.gate.set_max_market_age(1)
    db = tmp_path / "op.sqlite"
    sent_before = nonce(chain, chain.roles.liquidator)
    args = run_args(scenario, env, db, "--once", scenario.quotes[0])
    chain._rpc("anvil_setBlockTimestampInterval", [10])
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    finally:
        chain._rpc("anvil_removeBlockTimestampInterval", [])
    assert proc.returncode == 1, proc.stderr[-2000:]  # a check failed: the job, not the input
    assert "1 snapshot(s) incomplete" in proc.stderr and "1 liquidation job(s) failed" in proc.stderr
    (job,) = status_json(db)["job_list"]
    assert job["state"] == "failed" and job["retryable"] and "StaleMarket" in job["reason"], job
    assert "re-posted 3 time(s)" in job["reason"]
    (snap,) = status_json(db)["snapshots"]
    assert snap["state"] == "posted" and snap["epoch"] == 4  # epoch 1, then three re-posts
    assert nonce(chain, chain.roles.liquidator) == sent_before
    assert liquidation_events(env.gate) == []

    env.gate.set_max_market_age(3600)  # governance fixes it
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (event,) = liquidation_events(env.gate)
    (job,) = status_json(db)["job_list"]
    assert job["state"] == "confirmed" and accounts_of([job]) == {event["id"]}
    (snap,) = status_json(db)["snapshots"]
    assert snap["state"] == "done"


@pytest.mark.anvil
def test_a_market_going_stale_while_proving_is_reposted_and_the_rest_proven_again(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    """Chain time jumps past the market's age while proofs are being made: the keeper
    re-posts the snapshot's market under a new epoch, drops proofs made against the old
    root and proves them again, and every liquidatable account is liquidated exactly once;
    the snapshot is done and the run exits 0."""
    scenario = write_scenario(tmp_path, shock=False, book=[4, 5, 6, 7, 8])
    env = _gate(chain, artifacts, scenario, tmp_path)
    db = tmp_path / "op.sqlite"
    log_file = tmp_path / "run.log"
    # five liquidatable accounts, two batches of up to 4; snarkjs (several seconds a batch):
    # the second batch is still to prove when the first is confirmed and the clock jumps
    args = run_args(scenario, env, db, "--once", scenario.quotes[0])
    with operator_process(args, log_file) as proc:
        assert wait_for(lambda: job_states(db).get("confirmed", 0) >= 1, 120), log_file.read_text()[-3000:]
        age = env.gate.max_market_age()
        chain._rpc("evm_increaseTime", [age - 5])  # five seconds of freshness left
        chain._rpc("evm_mine", [])
        assert proc.wait(timeout=300) == 0, log_file.read_text()[-3000:]
    events = liquidation_events(env.gate)
    assert sorted(e["id"] for e in events) == sorted(scenario.liquidatable(0))  # each exactly once
    assert len({e["epoch"] for e in events}) == 2  # some before, the rest after the re-post
    assert "re-posting it as epoch 2" in log_file.read_text()
    (snap,) = status_json(db)["snapshots"]
    assert (snap["state"], snap["epoch"]) == ("done", 2)
    assert env.gate.latest_market().epoch == 2


@pytest.mark.anvil
@pytest.mark.anvil_slow  # 30-140 s; every other anvil drill signs with the node's unlocked accounts
def test_roles_sign_with_local_keys(tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts) -> None:
    """Oracle, operator and liquidator keys given in the environment: the transactions are
    signed in the keeper (the node never holds those keys) and come from those addresses."""
    scenario = write_scenario(tmp_path, shock=False, book=[0, 4])
    env = _gate(chain, artifacts, scenario, tmp_path)
    keys = {role: Account.create() for role in ("oracle", "operator", "liquidator")}
    for key in keys.values():
        chain.w3.eth.send_transaction({"from": chain.roles.owner, "to": key.address, "value": Wei(10**18)})
    env.gate.set_role(Role.ORACLE, keys["oracle"].address)
    env.gate.set_role(Role.OPERATOR, keys["operator"].address)
    environ = os.environ | {
        f"ZKMARGIN_{role.upper()}_KEY": "0x" + key.key.hex() for role, key in keys.items()
    }
    db = tmp_path / "op.sqlite"
    args = run_args(scenario, env, db, "--once", scenario.quotes[0])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=environ)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (event,) = liquidation_events(env.gate)
    assert event["id"] in scenario.liquidatable(0)
    assert chain.w3.eth.get_transaction(event["tx_hash"])["from"] == keys["liquidator"].address
    # one post by the oracle key, one accounts root by the operator key, one liquidation
    assert [nonce(chain, keys[r].address) for r in ("oracle", "operator", "liquidator")] == [1, 1, 1]
    assert env.gate.latest_market().epoch == 1


# ----------------------------------------------- crash around the broadcast


class SimulatedCrash(BaseException):
    """Stands for the process dying at this point (nothing after it runs)."""


class CrashingTxs(DurableTxs):
    """Real transactions; the first liquidation 'crashes' the process just before, or
    just after, its broadcast."""

    def __init__(self, *args: object, after_broadcast: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.after_broadcast = after_broadcast
        self.crashed: SignedTx | None = None

    def broadcast(self, tx: SignedTx) -> None:
        if tx.purpose.startswith("liquidate") and self.crashed is None:
            self.crashed = tx
            if self.after_broadcast:
                super().broadcast(tx)
            raise SimulatedCrash
        super().broadcast(tx)


def _operator(
    scenario: Scenario,
    env: GateOnAnvil,
    artifacts: CircuitArtifacts,
    db: Path,
    txs_cls: type = DurableTxs,
    **kw: object,
) -> tuple[Keeper, JobLog, ProverPool, DurableTxs]:
    log = JobLog(db)
    log.jobs.recover()
    pool = ProverPool(artifacts, db, 1).start()
    txs = txs_cls(env.chain, env.gate.artifact.abi, **kw)
    settings = KeeperSettings(scenario.accounts, PARAMS, PROFILE, poll=0.05)
    return Keeper(settings, log, env.gate, env.chain.roles, pool, txs), log, pool, txs


@pytest.mark.anvil
@pytest.mark.parametrize("after_broadcast", [False, True], ids=["before-broadcast", "after-broadcast"])
def test_crash_around_the_liquidation_broadcast(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts, after_broadcast: bool
) -> None:
    scenario = write_scenario(tmp_path, shock=False, book=[0, 4, 5])
    env = _gate(chain, artifacts, scenario, tmp_path)
    db = tmp_path / "op.sqlite"
    snap = read_snapshot(scenario.quotes[0])
    liquidator = chain.roles.liquidator
    sent_before = nonce(chain, liquidator)

    operator, log, pool, txs = _operator(
        scenario, env, artifacts, db, CrashingTxs, after_broadcast=after_broadcast
    )
    try:
        with pytest.raises(SimulatedCrash):
            operator.process(snap)
    finally:
        pool.close()
        log.close()
    assert isinstance(txs, CrashingTxs) and txs.crashed is not None
    recorded = txs.crashed.tx_hash
    log = JobLog(db)
    (job,) = [j for j in log.jobs.select() if j.state == "submitted"]
    assert job.tx_hash == recorded  # the hash was in the log before the broadcast
    log.close()
    assert txs.known(recorded) is after_broadcast

    operator, log, pool, _ = _operator(scenario, env, artifacts, db)
    try:
        outcome = operator.process(snap)
    finally:
        pool.close()
    assert outcome.state == "done", outcome
    jobs = log.jobs.select()
    log.close()
    assert {i for j in jobs for i in j.account_ids} == scenario.liquidatable(0) and len(jobs) == 1
    assert {j.state for j in jobs} == {"confirmed"}
    events = liquidation_events(env.gate)
    assert sorted(e["id"] for e in events) == sorted(job.account_ids)
    # the crashed job's liquidation is the recorded transaction itself (same bytes, same hash)
    assert {e["tx_hash"] for e in events} == {recorded}
    assert nonce(chain, liquidator) - sent_before == 1  # one batch of two liquidations, no resend


@pytest.mark.anvil
def test_nothing_to_liquidate_then_a_second_run_is_a_no_op(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    """A run with nothing to liquidate posts the market and accounts roots, and says so; a
    second run is a no-op."""
    scenario = write_scenario(tmp_path, shock=False, book=[0, 2])
    env = _gate(chain, artifacts, scenario, tmp_path)
    db = tmp_path / "op.sqlite"
    log_file = tmp_path / "run.log"
    args = run_args(scenario, env, db, "--once", scenario.quotes[0])
    assert run_operator(args, log_file) == 0, log_file.read_text()[-2000:]
    text = log_file.read_text()
    assert "posting market root" in text and "accounts root" in text and "(2 accounts;" in text
    assert "0 new batch job(s)" in text
    block = chain.w3.eth.block_number
    assert run_operator(args, log_file) == 0
    assert "already done, skipped" in log_file.read_text()
    assert chain.w3.eth.block_number == block
    assert os.path.getsize(db) > 0

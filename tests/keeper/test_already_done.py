"""Every way the keeper decides "already done" is checked against the chain it runs on,
here with a fake chain and gate (no node, no prover): the fast twins of the anvil drills in
``test_chain_faults.py``.

* the job log's binding to its chain (chain id, genesis hash, gate, deployment block, code);
* a ``done`` snapshot, skipped only while the gate holds its market root under its epoch
  and each confirmed liquidation (its receipt, or every case of the batch open);
* a liquidation sent again (or a receipt that vanished) while the gate lacks the posts it
  was proven against: held back, and the keeper told to post them again;
* a transaction waiting at the fee cap, refused for its fee: sent again until the node
  takes it (fees fell).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.two_asset_market import PARAMS
from engine.batch_statement import BatchEntry
from zkmargin.keeper import transactions
from zkmargin.keeper.errors import KeeperError
from zkmargin.keeper.job_log import ChainBinding, JobLog
from zkmargin.keeper.job_store import Job
from zkmargin.keeper.keeper import Keeper, KeeperSettings
from zkmargin.keeper.liquidations import Liquidations
from zkmargin.keeper.snapshots import SnapshotFile, read_snapshot
from zkmargin.keeper.status import SnapshotOutcome
from zkmargin.keeper.transactions import DurableTxs, FeePolicy
from zkmargin.keeper.tx_store import SignedTx

from .keeper_env import PROFILE

GATE = "0x" + "ab" * 20
MARKET_ROOT, ACCOUNTS_ROOT = 77, 99


class FakeGate:
    """What the keeper reads of a BatchGate: rootEpoch, the latest market, the accounts
    root and the accounts' cases."""

    address = GATE

    def __init__(self) -> None:
        self.root_epochs: dict[int, int] = {MARKET_ROOT: 1}
        self.accounts = (ACCOUNTS_ROOT, 1)
        self.open: set[int] = set()

    @property
    def contract(self) -> Any:
        def root_epoch(root: int) -> Any:
            return SimpleNamespace(call=lambda: self.root_epochs.get(root, 0))

        return SimpleNamespace(functions=SimpleNamespace(rootEpoch=root_epoch))

    def latest_market(self) -> Any:
        epoch = max(self.root_epochs.values(), default=0)
        return SimpleNamespace(epoch=epoch)

    def accounts_root(self) -> tuple[int, int]:
        return self.accounts

    def status_of(self, account_id: int) -> Any:
        return SimpleNamespace(liquidation_open=account_id in self.open, proven_epoch=0)

    def statuses_of(self, ids: list[int]) -> dict[int, Any]:
        return {i: self.status_of(i) for i in ids}


class FakeChain:
    """The node: chain id, genesis block, the gate's code, receipts, broadcasts."""

    def __init__(self) -> None:
        self.chain_id = 31337
        self.genesis = b"\x01" * 32
        self.code = b"\x60\x80"
        self.receipts: dict[str, dict[str, Any]] = {}
        self.sent: list[str] = []
        self.w3 = SimpleNamespace(eth=self, to_checksum_address=lambda a: a)

    def get_block(self, number: int) -> dict[str, Any]:
        assert number == 0
        return {"hash": self.genesis}

    def get_code(self, address: str) -> bytes:
        assert address == GATE
        return self.code

    def get_transaction_count(self, sender: str, block: str = "latest") -> int:
        return 0

    # DurableTxs' part
    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        return self.receipts.get(tx_hash)

    def known(self, tx_hash: str) -> bool:
        return tx_hash in self.receipts

    def broadcast(self, tx: SignedTx) -> bool:
        self.sent.append(tx.tx_hash)
        return True


@pytest.fixture()
def log(tmp_path: Path) -> Iterator[JobLog]:
    jl = JobLog(tmp_path / "op.sqlite")
    yield jl
    jl.close()


def _keeper(
    log: JobLog, gate: FakeGate, chain: FakeChain, deployment: tuple[int, str] | None = None
) -> Keeper:
    settings = KeeperSettings(Path("accounts.json"), PARAMS, PROFILE, deployment_block=deployment)
    return Keeper(settings, log, gate, SimpleNamespace(), SimpleNamespace(), chain)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the binding


def test_a_job_log_is_bound_to_its_chain_and_refused_on_another(
    log: JobLog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gate, chain = FakeGate(), FakeChain()
    keeper = _keeper(log, gate, chain, deployment=(3, "0xDEAD"))
    assert log.chain_binding() is None
    with caplog.at_level(logging.INFO, logger="zkmargin.keeper.operator"):
        keeper.bind_chain()
    assert "bound to chain 31337" in caplog.text and "earlier version" not in caplog.text
    recorded = log.chain_binding()
    assert recorded == keeper.chain_here()
    assert recorded == ChainBinding.from_json(recorded.to_json())
    assert recorded.deployment_block == "3:0xdead" and recorded.gate == GATE
    keeper.bind_chain()  # the same chain: nothing to say
    reopened = JobLog(tmp_path / "op.sqlite")
    assert reopened.chain_binding() == recorded  # kept in the file
    reopened.close()

    chain.genesis = b"\x02" * 32  # the node restarted: a new genesis block, the gate at the same address
    with pytest.raises(KeeperError) as caught:
        keeper.bind_chain()
    message = str(caught.value)
    assert f"genesis hash 0x{'02' * 32} (the log recorded 0x{'01' * 32})" in message
    assert "use a new --db" in message and "the chain was reset" in message
    chain.genesis = b"\x01" * 32
    chain.code = b"\x60\x81"  # another gate's code at the address
    with pytest.raises(KeeperError, match="gate code hash"):
        keeper.bind_chain()
    chain.code = b"\x60\x80"
    with pytest.raises(KeeperError, match=r"deployment block 3:0xbeef \(the log recorded 3:0xdead\)"):
        _keeper(log, gate, chain, deployment=(3, "0xBEEF")).bind_chain()
    _keeper(log, gate, chain).bind_chain()  # a deployment file without the block: not compared
    assert log.chain_binding() == recorded  # a refusal writes nothing


def test_a_log_of_an_earlier_version_is_bound_on_first_use_with_a_warning(
    log: JobLog, caplog: pytest.LogCaptureFixture
) -> None:
    log.snapshots.add("s", "q.json", 1, MARKET_ROOT)  # written before logs were bound
    keeper = _keeper(log, FakeGate(), FakeChain())
    with caplog.at_level(logging.INFO, logger="zkmargin.keeper.operator"):
        keeper.bind_chain()
    assert "records no chain (an earlier version wrote it): bound now to chain 31337" in caplog.text
    assert log.chain_binding() == keeper.chain_here()


# ------------------------------------------------------------------ a done snapshot


def _confirmed_job(log: JobLog, tx_hash: str, sid: str = "s") -> Job:
    """A job taken to confirmed and final by the stores' own edges."""
    (job,) = [j for j in log.jobs.select(sid) if j.state == "pending"][:1]
    held = log.jobs.claim(job, "w", 60)
    assert held is not None and log.jobs.store_proof(held, held.attempts, "{}", "w", 1.0)
    proved = log.jobs.get(job.key)
    assert proved is not None and log.jobs.transition(proved, "submitted", tx_hash=tx_hash)
    submitted = log.jobs.get(job.key)
    assert submitted is not None
    assert log.jobs.transition(submitted, "confirmed", outcome={e.account_id: "opened" for e in job.entries})
    confirmed = log.jobs.get(job.key)
    assert confirmed is not None and log.jobs.mark_final(confirmed)
    final = log.jobs.get(job.key)
    assert final is not None
    return final


def _done_snapshot(log: JobLog, sid: str = "s") -> None:
    log.snapshots.add(sid, "q.json", 1, MARKET_ROOT, as_of="2026-11-20")
    log.snapshots.set_state(sid, "posted")
    log.jobs.add(
        sid, "liquidate", [[BatchEntry(5001, 2, 1), BatchEntry(5002, 3, 2)], [BatchEntry(5003, 2, 0)]]
    )
    _confirmed_job(log, "0xaa", sid)
    (other,) = log.jobs.select(sid, state="pending")
    assert log.jobs.transition(other, "failed", reason="NoAccounts()")  # a chain fault, not retryable
    log.snapshots.set_state(sid, "done")


def _state(log: JobLog) -> tuple[str, list[tuple[str, bool]]]:
    snap = log.snapshots.get("s")
    assert snap is not None
    return snap.state, [(j.state, j.final) for j in log.jobs.select("s")]


def test_a_done_snapshot_is_skipped_only_while_the_chain_holds_it(
    log: JobLog, caplog: pytest.LogCaptureFixture
) -> None:
    _done_snapshot(log)
    gate, chain = FakeGate(), FakeChain()
    keeper = _keeper(log, gate, chain)
    record = log.snapshots.get("s")
    assert record is not None
    done = ("done", [("confirmed", True), ("failed", False)])

    chain.receipts["0xaa"] = {"status": 1}
    assert keeper.lost_on_chain(record) is None and keeper.still_done(record, "q.json")
    del chain.receipts["0xaa"]
    gate.open = {5001, 5002}  # no receipt, but every case of the batch is open: held
    assert keeper.still_done(record, "q.json") and _state(log) == done
    gate.open = {5001}
    assert (
        keeper.lost_on_chain(record)
        == "the liquidation of batch 0 (2 account(s): 5001, 5002) (tx 0xaa) is not on chain"
    )

    chain.receipts["0xaa"] = {"status": 1}
    gate.root_epochs = {}  # a reorganisation took the post (and, on a real chain, the rest)
    assert keeper.lost_on_chain(record) == (
        "the gate no longer holds the market root 0x4d of epoch 1 (it is at market epoch 0)"
    )
    del chain.receipts["0xaa"]
    with caplog.at_level(logging.WARNING, logger="zkmargin.keeper.operator"):
        assert not keeper.still_done(record, "q.json")
    assert "done in the job log, but the gate no longer holds the market root" in caplog.text
    # processed again: its liquidation settled again (its recorded tx), the failed job proven again
    assert _state(log) == ("new", [("submitted", False), ("pending", False)])
    (again,) = log.jobs.select("s", state="submitted")
    assert again.tx_hash == "0xaa"


def test_a_done_snapshot_whose_liquidation_alone_vanished_is_settled_again(log: JobLog) -> None:
    _done_snapshot(log)
    gate, chain = FakeGate(), FakeChain()
    keeper = _keeper(log, gate, chain)
    record = log.snapshots.get("s")
    assert record is not None
    assert not keeper.still_done(record, "q.json")  # the root is there, the receipt is not
    assert _state(log) == ("new", [("submitted", False), ("pending", False)])


def test_the_folder_loop_skips_a_done_snapshot_only_while_the_chain_holds_it(
    log: JobLog, tmp_path: Path
) -> None:
    folder = tmp_path / "snapshots"
    folder.mkdir()
    path = folder / "q.json"
    path.write_bytes(b'{"as_of": "2026-11-20"}')
    snap = read_snapshot(path)
    _done_snapshot(log, snap.snapshot_id)
    gate, chain = FakeGate(), FakeChain()
    chain.receipts["0xaa"] = {"status": 1}
    keeper = _keeper(log, gate, chain)
    processed: list[str] = []

    def process(s: SnapshotFile) -> SnapshotOutcome:
        processed.append(s.snapshot_id)
        return SnapshotOutcome(s.snapshot_id, s.source, "done")

    keeper.process = process  # type: ignore[method-assign]
    assert keeper.run_folder(folder, poll=0.01, exit_when_idle=True) == 0  # held: skipped
    gate.root_epochs = {}  # the gate went back (a reorganisation): every done one looked at again
    assert keeper.run_folder(folder, poll=0.01, max_snapshots=1) == 1
    assert processed == [snap.snapshot_id]
    record = log.snapshots.get(snap.snapshot_id)
    assert record is not None and record.state == "new"


# ------------------------------------------------------------------ liquidations held back


def _submitted(log: JobLog) -> tuple[Job, Any]:
    log.snapshots.add("s", "q.json", 1, MARKET_ROOT)
    log.jobs.add("s", "liquidate", [[BatchEntry(5001, 2, 1)]])
    (job,) = log.jobs.select("s")
    held = log.jobs.claim(job, "w", 60)
    assert held is not None and log.jobs.store_proof(held, 1, "{}", "w", 1.0)
    proved = log.jobs.get(job.key)
    assert proved is not None and log.jobs.transition(proved, "submitted", tx_hash="0xaa")
    log.txs.record(SignedTx("0xaa", "0x02", "0xL", 0, "liquidateBatch 0 epoch 1", time.time()))
    submitted = log.jobs.get(job.key)
    assert submitted is not None
    prepared = SimpleNamespace(
        commitments=SimpleNamespace(market_root=MARKET_ROOT),
        epoch=1,
        accounts_epoch=1,
        tree=SimpleNamespace(root=ACCOUNTS_ROOT),
        record=SimpleNamespace(snapshot_id="s"),
    )
    return submitted, prepared


def _liquidations(log: JobLog, gate: FakeGate, chain: FakeChain) -> Liquidations:
    return Liquidations(
        log,
        gate,  # type: ignore[arg-type]
        SimpleNamespace(liquidator="0xL"),  # type: ignore[arg-type]
        SimpleNamespace(enqueue=lambda *a: 0),  # type: ignore[arg-type]
        chain,  # type: ignore[arg-type]
        fees=FeePolicy(),
        confirmations=3,
        max_reposts=3,
        reposts=Counter(),
    )


@pytest.mark.parametrize("lost", ["market", "accounts"])
def test_a_liquidation_is_not_sent_again_while_the_gate_lacks_its_posts(log: JobLog, lost: str) -> None:
    job, p = _submitted(log)
    gate, chain = FakeGate(), FakeChain()
    lq = _liquidations(log, gate, chain)
    if lost == "market":
        gate.root_epochs = {}
    else:
        gate.accounts = (0, 0)
    lq.settle(p, job)  # its tx vanished (a reorg): it would be sent again
    assert chain.sent == [] and lq.chain_moved  # held back; the keeper posts again first
    gate.root_epochs, gate.accounts = {MARKET_ROOT: 1}, (ACCOUNTS_ROOT, 1)  # posted again
    lq.settle(p, job)
    assert chain.sent == ["0xaa"]  # the recorded bytes, once the roots are back


def test_a_vanished_receipt_makes_the_keeper_look_at_its_posts(log: JobLog) -> None:
    job, _ = _submitted(log)
    gate, chain = FakeGate(), FakeChain()
    lq = _liquidations(log, gate, chain)
    assert log.jobs.transition(job, "confirmed", outcome={5001: "opened"})
    confirmed = log.jobs.get(job.key)
    assert confirmed is not None
    lq.check_finality(confirmed)  # no receipt any more
    assert lq.chain_moved
    reopened = log.jobs.get(job.key)
    assert reopened is not None and reopened.state == "submitted"


# ------------------------------------------------------------------ the fee cap


def test_a_refused_attempt_at_the_fee_cap_is_sent_again_until_the_node_takes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """follow() at the cap: no replacement is possible, and the attempt the node refused
    for its fee is broadcast again (once a second in the keeper) until fees fell."""
    monkeypatch.setattr(transactions, "RETRY_AT_CAP_EVERY", 0.01)
    txs = DurableTxs.__new__(DurableTxs)
    txs.poll = 0.001
    txs.w3 = SimpleNamespace(eth=SimpleNamespace(get_transaction_count=lambda sender: 0))  # type: ignore[assignment]
    mined: dict[str, dict[str, Any]] = {}
    tries: list[str] = []
    looks = Counter[str]()

    def broadcast(tx: SignedTx) -> bool:
        tries.append(tx.tx_hash)
        if len(tries) < 4:
            return False  # the base fee is still above the cap
        mined[tx.tx_hash] = {"status": 1}
        return True

    def receipt(tx_hash: str) -> dict[str, Any] | None:
        looks["receipt"] += 1
        assert looks["receipt"] < 20000, "follow() never sent the waiting transaction again"
        return mined.get(tx_hash)

    txs.broadcast = broadcast  # type: ignore[method-assign]
    txs.receipt = receipt  # type: ignore[method-assign]
    txs.known = lambda tx_hash: tx_hash in mined  # type: ignore[method-assign]
    txs.fees_of = lambda tx: (50 * 10**9, 10**9)  # type: ignore[method-assign]
    txs.pending_base_fee = lambda: 100_000 * 10**9  # type: ignore[method-assign]
    policy = FeePolicy(max_fee_wei=50 * 10**9, replace_after=0.5)
    at_cap = SignedTx("0xcap", "0x02", "0xO", 0, "postMarket epoch 1", time.time())

    def no_replacement(tx: SignedTx) -> None:
        raise AssertionError("no room for a replacement below the cap")

    tx, got = txs.follow([at_cap], policy, no_replacement, sent=False)
    assert tx == at_cap and got == {"status": 1}
    assert tries == ["0xcap"] * 4  # the same bytes, again until they went out


def test_the_refresh_reads_the_expiry_the_market_was_posted_with() -> None:
    """Governance raised the max age after the post: the market still expires when it was
    posted to, so the keeper re-posts before that expiry, not before the raised one."""
    from verifier_contracts.gate import MarketInfo

    now = int(time.time())
    posted_at = now - 590  # posted with a 600 s age: 10 s left
    market = MarketInfo(MARKET_ROOT, 1, posted_at, True, posted_at + 600)
    keeper: Any = SimpleNamespace(
        _reposts=Counter(),
        settings=SimpleNamespace(max_reposts=3, refresh_before=30.0),
        log=SimpleNamespace(jobs=SimpleNamespace(select=lambda sid: [SimpleNamespace(state="pending")])),
        liquidations=SimpleNamespace(stale_seen=False),
        gate=SimpleNamespace(latest_market=lambda: market),
        txs=SimpleNamespace(w3=SimpleNamespace(eth=SimpleNamespace(get_block=lambda _: {"timestamp": now}))),
    )
    snapshot: Any = SimpleNamespace(record=SimpleNamespace(snapshot_id=1), epoch=1)
    assert Keeper._refresh_due(keeper, snapshot, 1_000_000)  # the raised age would leave days
    later = MarketInfo(MARKET_ROOT, 1, now - 10, True, now - 10 + 1_000_000)  # posted after the raise
    keeper.gate = SimpleNamespace(latest_market=lambda: later)
    assert not Keeper._refresh_due(keeper, snapshot, 1_000_000)


def test_the_first_attempt_is_signed_within_the_fee_cap() -> None:
    """The node suggests 500 gwei in a fee spike; with a 50 gwei cap the first signature
    holds 50 (replacements already respected the cap), and without a cap the node's stand."""
    from eth_account import Account

    key = Account.create()
    w3 = SimpleNamespace(to_checksum_address=lambda a: a)
    txs = DurableTxs(SimpleNamespace(w3=w3, tester=None), [], keys=[key])  # type: ignore[arg-type]

    def build_transaction(params: dict[str, Any]) -> dict[str, Any]:
        return params | {
            "to": key.address,
            "value": 0,
            "data": "0x",
            "chainId": 31337,
            "maxFeePerGas": 500 * 10**9,
            "maxPriorityFeePerGas": 2 * 10**9,
        }

    fn: Any = SimpleNamespace(build_transaction=build_transaction)
    capped = txs.sign(fn, key.address, 100_000, "post", nonce=0, max_fee_wei=50 * 10**9)
    assert txs.fees_of(capped) == (50 * 10**9, 2 * 10**9)
    free = txs.sign(fn, key.address, 100_000, "post", nonce=0)
    assert txs.fees_of(free) == (500 * 10**9, 2 * 10**9)

"""Shared set-up for the operator tests: input files, a gate on anvil, running the CLI.

The scenario (test profile: 2 assets, 4 slots): BTC and ETH with spot and perp each,
and accounts built for a target status on the first snapshot. The second snapshot is
a market shock (both spots -25 %, vols up) that pushes the long, healthy accounts
under water while the short ones stay healthy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.two_asset_market import ASSETS, INSTRUMENTS, PARAMS
from engine.commitments import params_hash
from engine.fileio import write_json_atomic
from engine.fixedpoint import SCALE
from engine.formats import QuotesFile, dump_accounts, dump_params, dump_quotes, load_accounts
from engine.formats.account import LabeledAccount
from engine.margin import compute_margin
from engine.margin_arrays import AccountBatch
from engine.margin_batch import compute_margins
from engine.market_builder import build_market
from engine.model import Account, AssetQuote, Market, RiskParams, Slot
from engine.profiles import get_profile
from prover.keys.artifacts import CircuitArtifacts
from verifier_contracts.batch_gate import BatchGate
from verifier_contracts.chain import Chain
from verifier_contracts.deployment import Deployment, save_deployment
from verifier_contracts.gate import deploy_verifier

PROFILE = get_profile("test")
AS_OF = dt.date(2026, 11, 20)
#: (label, positions as (instrument_id, units), target status on the first snapshot)
BOOK: tuple[tuple[str, tuple[tuple[int, float], ...], int], ...] = (
    ("long-btc-healthy", ((1, 2.0),), 0),
    ("long-eth-healthy", ((3, 30.0),), 0),
    ("short-btc-healthy", ((1, -1.5),), 0),
    ("pair-restricted", ((1, 1.0), (3, -10.0)), 1),
    ("long-btc-liq", ((1, 1.0),), 2),
    ("short-eth-liq", ((3, -20.0),), 2),
    ("spot-pair-liq", ((0, 0.5), (2, 8.0)), 2),
    ("long-eth-insolvent", ((3, 15.0),), 3),
    ("mixed-insolvent", ((0, 1.0), (3, -12.0)), 3),
)
FIRST_ID = 5001


@dataclass(frozen=True)
class Scenario:
    """The input files of one operator run and the margins the engine expects."""

    folder: Path
    quotes: tuple[Path, ...]  # one per snapshot, in order
    params: Path
    accounts: Path
    risk: RiskParams

    def markets(self, first_epoch: int = 1) -> list[Market]:
        return [
            build_market(PROFILE, first_epoch + i, q.assets, q.instruments, PARAMS.row_config, q.as_of)
            for i, q in enumerate(self.quote_files())
        ]

    def quote_files(self) -> list[QuotesFile]:
        from engine.formats import load_quotes

        return [load_quotes(path, PROFILE) for path in self.quotes]

    def statuses(self, snapshot: int) -> dict[int, int]:
        """account id -> engine status on snapshot ``snapshot`` (0-based)."""
        market = self.markets()[snapshot]
        accounts = [a.account for a in load_accounts(self.accounts, market)]
        batch = compute_margins(market, self.risk, AccountBatch.from_accounts(accounts))
        return {a.account_id: int(batch.status[i]) for i, a in enumerate(accounts)}

    def liquidatable(self, snapshot: int) -> set[int]:
        return {i for i, s in self.statuses(snapshot).items() if s >= 2}


def shocked(assets: Sequence[AssetQuote], move: float = -0.25, vol_up: float = 1.5) -> tuple[AssetQuote, ...]:
    return tuple(replace(a, spot=round(a.spot * (1 + move), 2), vol=a.vol * vol_up) for a in assets)


def _account(
    market: Market, risk: RiskParams, n: int, positions: tuple[tuple[int, float], ...], target: int
) -> Account:
    slots = [Slot(i, round(units * SCALE)) for i, units in sorted(positions)]
    slots += [Slot(0, 0)] * (PROFILE.slots - len(slots))
    base = Account(account_id=FIRST_ID + n, nonce=1, salt=10**40 + 7919 * n, cash=0, slots=tuple(slots))
    r = compute_margin(market, risk, base)
    equity = {0: r.IM + r.IM // 2, 1: (r.MM + r.IM) // 2, 2: r.MM // 2, 3: -(r.MM // 10) - SCALE}[target]
    account = replace(base, cash=equity - r.E)
    assert compute_margin(market, risk, account).status == target, (n, target)
    return account


def write_scenario(folder: Path, *, shock: bool = True, book: Sequence[int] | None = None) -> Scenario:
    """Quotes (one snapshot, or two with the shock), params and accounts in ``folder``/inputs."""
    inputs = folder / "inputs"
    snaps = folder / "snapshots"
    inputs.mkdir(parents=True, exist_ok=True)
    snaps.mkdir(parents=True, exist_ok=True)
    first = QuotesFile(as_of=AS_OF, assets=ASSETS, instruments=INSTRUMENTS)
    files = [(snaps / "q-2026-11-20.json", first)]
    if shock:
        second = QuotesFile(
            as_of=AS_OF + dt.timedelta(days=1), assets=shocked(ASSETS), instruments=INSTRUMENTS
        )
        files.append((snaps / "q-2026-11-21.json", second))
    for path, quotes in files:
        write_json_atomic(path, dump_quotes(quotes))
    market = build_market(PROFILE, 1, first.assets, first.instruments, PARAMS.row_config, first.as_of)
    risk = PARAMS.resolve(first.asset_names, PROFILE)
    chosen = [BOOK[i] for i in (book if book is not None else range(len(BOOK)))]
    accounts = [
        LabeledAccount(_account(market, risk, n, positions, target), label)
        for n, (label, positions, target) in enumerate(chosen)
    ]
    params_path, accounts_path = inputs / "params.json", inputs / "accounts.json"
    write_json_atomic(params_path, dump_params(PARAMS))
    write_json_atomic(accounts_path, dump_accounts(accounts))
    return Scenario(snaps, tuple(p for p, _ in files), params_path, accounts_path, risk)


# ------------------------------------------------------------------ chain


@dataclass(frozen=True)
class GateOnAnvil:
    chain: Chain
    gate: BatchGate
    deployment: Path
    rpc_url: str


def deploy_gate(chain: Chain, artifacts: CircuitArtifacts, risk: RiskParams, folder: Path) -> GateOnAnvil:
    """Deploy the test profile's batch verifier and a BatchGate (K = 4), set the parameters,
    write deployment.json."""
    assert chain.rpc_url is not None
    verifier, _ = deploy_verifier(chain, artifacts.verifier_sol.read_text(encoding="utf-8"))
    gate, result = BatchGate.deploy(chain, verifier, PROFILE.batch_size, max_market_age=3600)
    gate.set_params(params_hash(risk))
    deployment = Deployment(
        chain_id=chain.w3.eth.chain_id,
        chain="anvil",
        gate=gate.address,
        verifier=verifier,
        block_number=result.block_number,
        max_market_age=3600,
        rpc_url=chain.rpc_url,
        profile=PROFILE.name,
        roles=chain.roles.as_dict(),
        block_hash="0x" + bytes(chain.w3.eth.get_block(result.block_number)["hash"]).hex(),
    )
    path = save_deployment(deployment, folder / "deployment.json")
    return GateOnAnvil(chain, gate, path, chain.rpc_url)


def liquidation_events(gate: BatchGate) -> list[dict[str, Any]]:
    """Every liquidation case the gate opened (its LiquidationsOpened events, one entry per
    id): id, market epoch and the tx hash."""
    logs = gate.contract.events.LiquidationsOpened().get_logs(from_block=0)
    return [
        {
            "id": int(i),
            "epoch": int(e["args"]["marketEpoch"]),
            "tx_hash": "0x" + bytes(e["transactionHash"]).hex(),
        }
        for e in logs
        for i in e["args"]["ids"]
    ]


def nonce(chain: Chain, who: str) -> int:
    return int(chain.w3.eth.get_transaction_count(who))  # type: ignore[arg-type]


# ------------------------------------------------------------------ the CLI


def zkmargin_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "zkmargin.cli.main", *(str(a) for a in args)]


def run_args(
    scenario: Scenario,
    env: GateOnAnvil,
    db: Path,
    *source: str | Path,
    workers: int = 1,
    confirmations: int = 1,
    prover: str = "snarkjs",
) -> list[str]:
    """The keeper's command line. Anvil here mines a block per transaction only, so a
    liquidation is final at its own block (``confirmations=1``) unless a test mines more.
    The drills prove with snarkjs by default (about 2 s a proof on the test profile): they
    act on the chain or the process while jobs are still open, and the native provers
    finish a batch within a second; the arkworks keeper is run by
    ``test_folder_of_snapshots_processed_in_order`` and the demo."""
    return zkmargin_cmd(
        "operator",
        "run",
        *source,
        "--accounts",
        scenario.accounts,
        "--params",
        scenario.params,
        "--profile",
        PROFILE.name,
        "--db",
        db,
        "--deployment",
        env.deployment,
        "--rpc",
        env.rpc_url,
        "--workers",
        str(workers),
        "--confirmations",
        str(confirmations),
        "--prover",
        prover,
    )


@contextmanager
def operator_process(args: list[str], log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start the operator in its own session; on exit, stop whatever of it is left (by group id)."""
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=Path.cwd()
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # node workers it started, if still running


def run_operator(args: list[str], log_file: Path, timeout: float = 300) -> int:
    with operator_process(args, log_file) as proc:
        return proc.wait(timeout=timeout)


def job_states(db: Path) -> dict[str, int]:
    """Counts of jobs by state, read straight from the SQLite file (a second reader)."""
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return dict(con.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
    except sqlite3.OperationalError:
        return {}  # schema not created yet
    finally:
        con.close()


def wait_for(predicate: Any, timeout: float, poll: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False


def status_json(db: Path) -> dict[str, Any]:
    proc = subprocess.run(
        zkmargin_cmd("operator", "status", "--db", db, "--json"), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def accounts_of(jobs: Sequence[dict[str, Any]], snapshot_id: str | None = None) -> set[int]:
    """The account ids of the batch jobs in ``operator status --json``'s job list."""
    return {
        int(e["account_id"])
        for j in jobs
        if snapshot_id is None or j["snapshot_id"] == snapshot_id
        for e in j["entries"]
    }


def opened_by(jobs: Sequence[dict[str, Any]]) -> dict[int, str]:
    """account id -> the tx hash of the confirmed batch that opened its case."""
    return {
        int(i): j["tx_hash"]
        for j in jobs
        if j["state"] == "confirmed"
        for i, what in (j["outcome"] or {}).items()
        if what == "opened"
    }

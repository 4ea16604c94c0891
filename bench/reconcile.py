"""Reconciliation at scale: a keeper on anvil takes new snapshots over 100,000 accounts.

    .venv/bin/python -m bench.reconcile [--accounts 100000] [--out bench/results/reconcile.json]

The drill profile's shape (``bench/crash_drill.py``) with an accounts tree of depth 9 (room
for 262,144 accounts). The accounts are all healthy and stay so: the snapshots move the
prices by a few per cent, so no proof is made and what is timed is reconciliation alone:
read the accounts, check them against the new market, the commitments and accounts tree,
post the market (a transaction mined on anvil), compare the gate's accounts root (posting
it when it changed), every account's margin and the bulk read of the liquidatable
accounts' records. Each figure is ``Keeper.process`` of one snapshot, from the snapshot
read to its end:

* ``first``: a new job log, nothing cached: every commitment hashed, the root posted;
* ``unchanged``: the next snapshot, the accounts file unchanged (the target case);
* ``restart``: a new keeper process-state on the same job log and file (commitments from
  the log's cache, the file read in full);
* ``changed``: 1 % of the accounts changed in the file (only they are hashed; the new root
  is posted).

The gate's verifier is the drill circuit's (depth 7); it is never called, since no account
becomes liquidatable (checked before the run).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from bench.crash_drill import CALM_DAY, make_accounts
from bench.two_asset_market import ASSETS, INSTRUMENTS, PARAMS
from engine.commitments import params_hash
from engine.fileio import write_json_atomic
from engine.formats import LabeledAccount, QuotesFile, dump_accounts, dump_quotes
from engine.margin_arrays import AccountBatch
from engine.margin_batch import compute_margins
from engine.market_builder import build_market
from engine.model import Account
from engine.profiles import get_profile
from prover.keys.artifacts import prepare_artifacts
from prover.toolchain.build import batch_spec
from verifier_contracts.batch_gate import BatchGate
from verifier_contracts.chain import anvil
from verifier_contracts.gate import deploy_verifier
from zkmargin.cli.render import console
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.keeper import Keeper, KeeperSettings
from zkmargin.keeper.pool import ProverPool
from zkmargin.keeper.snapshots import read_snapshot
from zkmargin.keeper.transactions import DurableTxs

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "reconcile.json"
DRILL = get_profile("drill")
PROFILE = dataclasses.replace(DRILL, name="reconcile", accounts_depth=9)
MOVES = {"first": 0.0, "unchanged": -0.03, "restart": -0.04, "changed": -0.05}
TARGET_SECONDS = 10.0


def _quotes(move: float) -> QuotesFile:
    assets = tuple(dataclasses.replace(a, spot=round(a.spot * (1 + move), 2)) for a in ASSETS)
    return QuotesFile(as_of=CALM_DAY, assets=assets, instruments=INSTRUMENTS)


def _check_all_healthy(accounts: list[Account]) -> None:
    risk = PARAMS.resolve(("BTC", "ETH"), PROFILE)
    batch = AccountBatch.from_accounts(accounts)
    for move in MOVES.values():
        q = _quotes(move)
        market = build_market(PROFILE, 1, q.assets, q.instruments, PARAMS.row_config, q.as_of)
        worst = int(np.max(compute_margins(market, risk, batch).status))
        if worst >= 2:
            raise SystemExit(f"a move of {move:+.0%} makes an account liquidatable: the bench would prove")


def _changed(accounts: list[Account], share: float, seed: int = 11) -> list[Account]:
    rng = np.random.default_rng(seed)
    picks = set(rng.choice(len(accounts), size=max(1, int(len(accounts) * share)), replace=False).tolist())
    return [dataclasses.replace(a, nonce=a.nonce + 1) if i in picks else a for i, a in enumerate(accounts)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--work", type=Path, default=Path("build/reconcile"))
    args = parser.parse_args(argv)
    if not 1 <= args.accounts <= PROFILE.accounts_capacity:
        raise SystemExit(f"--accounts must be in 1..{PROFILE.accounts_capacity}")
    artifacts = prepare_artifacts(batch_spec(DRILL), console=console, notify=console.print)
    console.print(f"making {args.accounts:,} accounts ...")
    accounts, _ = make_accounts(args.accounts, due=0)
    _check_all_healthy(accounts)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("operator.sqlite*"):
        old.unlink()
    accounts_path = work / "accounts.json"
    write_json_atomic(accounts_path, dump_accounts([LabeledAccount(a) for a in accounts]))
    snaps = work / "snapshots"
    snaps.mkdir(exist_ok=True)
    paths = {}
    for n, (case, move) in enumerate(MOVES.items()):
        paths[case] = snaps / f"q-{n}-{case}.json"
        write_json_atomic(paths[case], dump_quotes(_quotes(move)))
    risk = PARAMS.resolve(("BTC", "ETH"), PROFILE)
    db = work / "operator.sqlite"
    figures: dict[str, dict[str, Any]] = {}
    with anvil() as chain:
        verifier, _ = deploy_verifier(chain, artifacts.verifier_sol.read_text(encoding="utf-8"))
        gate, _ = BatchGate.deploy(chain, verifier, PROFILE.batch_size, max_market_age=3600)
        gate.set_params(params_hash(risk))
        settings = KeeperSettings(accounts_path, PARAMS, PROFILE, poll=0.2, confirmations=1)
        pool = ProverPool(artifacts, db, 1)
        try:

            def run(keeper: Keeper, case: str) -> None:
                started = time.perf_counter()
                outcome = keeper.process(read_snapshot(paths[case]))
                seconds = time.perf_counter() - started
                if outcome.state != "done" or outcome.jobs:
                    raise SystemExit(f"{case}: {outcome.state} {outcome.reason} {outcome.jobs}")
                stats = keeper.accounts.stats
                figures[case] = {
                    "seconds": round(seconds, 2),
                    "accounts_seconds": round(stats.seconds, 2),
                    "file_reused": stats.reused,
                    "commitments_hashed": stats.hashed,
                }
                console.print(case, figures[case])

            log = JobLog(db)
            keeper = Keeper(settings, log, gate, chain.roles, pool, DurableTxs(chain, gate.artifact.abi))
            run(keeper, "first")
            run(keeper, "unchanged")
            log.close()
            log = JobLog(db)  # the keeper restarted: only the job log is left
            keeper = Keeper(settings, log, gate, chain.roles, pool, DurableTxs(chain, gate.artifact.abi))
            run(keeper, "restart")
            write_json_atomic(
                accounts_path, dump_accounts([LabeledAccount(a) for a in _changed(accounts, 0.01)])
            )
            run(keeper, "changed")
            log.close()
        finally:
            pool.close()
    table = Table(title=f"reconciling {args.accounts:,} accounts on anvil (no account liquidatable)")
    for col in ("case", "snapshot processed", "accounts (file, commitments, tree)", "commitments hashed"):
        table.add_column(col, justify="right")
    for case, f in figures.items():
        table.add_row(
            case,
            f"{f['seconds']:.2f} s",
            f"{f['accounts_seconds']:.2f} s" + (" (file unchanged)" if f["file_reused"] else ""),
            f"{f['commitments_hashed']:,}",
        )
    console.print(table)
    write_json_atomic(
        args.out,
        {
            "format": "zkmargin/bench-reconcile@1",
            "profile": "drill shape, accounts depth 9",
            "accounts": args.accounts,
            "cases": figures,
            "target_seconds_unchanged": TARGET_SECONDS,
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )
    console.print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

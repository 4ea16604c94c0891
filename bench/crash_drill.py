"""Crash drill: from a crash snapshot to the last liquidation confirmed, on anvil, with the
keeper proving on Dask.

    .venv/bin/python -m bench.crash_drill [--accounts 10000] [--due 500] [--modes local-1 local-2 processes-2]
        [--out bench/results/crash_drill.json]

The drill profile (``engine/profiles.py``: the test profile's shape, batches of K = 8, an
accounts tree of depth 7 for up to 16,384 accounts) is built and given the native
development setup (single-party). ``--accounts`` accounts are margined on a calm
snapshot (all healthy; the keeper posts the market and the accounts root), then a crash
snapshot (BTC and ETH -25 %, implied vols x1.5) makes about ``--due`` of them (long,
thinly margined) liquidatable. For each mode a fresh gate is deployed on the same anvil
and the keeper runs both snapshots:

* ``local-1``: a LocalCluster of 1 worker process (arkworks on both cores);
* ``local-2``: a LocalCluster of 2 worker processes (one core each);
* ``processes-2``: ``dask scheduler`` and 2 ``dask worker`` processes on loopback, joined
  by address (``--cluster tcp://...``), as on separate machines.

Figures per mode: time from the crash snapshot to the last liquidation confirmed, the
part before the first proof was leased (reconciliation: margins, tree, bulk reads), proofs
and proofs/s, the workers' busy share, the cores busy (the worker processes' CPU time over
cores x wall, from psutil), and the head's own CPU time per proof during proving (lease,
input, checks, bundle, signing, submitting, settling, logging). A projection (stated as
such) for 10, 100 and 1,000 machines follows from the measured per-machine rate and head
time per proof.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from rich.table import Table

from bench.dask_processes import dask_processes
from bench.two_asset_market import ASSETS, INSTRUMENTS, PARAMS
from engine.commitments import params_hash
from engine.fileio import write_json_atomic
from engine.fixedpoint import SCALE
from engine.formats import LabeledAccount, QuotesFile, dump_accounts, dump_params, dump_quotes
from engine.margin_arrays import AccountBatch
from engine.margin_batch import compute_margins
from engine.market_builder import build_market
from engine.model import Account, Slot
from engine.profiles import get_profile
from prover.keys.artifacts import CircuitArtifacts, prepare_artifacts
from prover.toolchain.build import batch_spec
from verifier_contracts.batch_gate import BatchGate
from verifier_contracts.chain import Chain, anvil
from verifier_contracts.gate import deploy_verifier
from zkmargin.cli.render import console
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.keeper import Keeper, KeeperSettings
from zkmargin.keeper.pool import ProverPool
from zkmargin.keeper.snapshots import read_snapshot
from zkmargin.keeper.transactions import DurableTxs

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "crash_drill.json"
PROFILE = get_profile("drill")
CALM_DAY = dt.date(2026, 11, 20)
CRASH, VOL_UP = -0.25, 1.5
MODES = ("local-1", "local-2", "processes-2")
MACHINES = (1, 10, 100, 1000)
TARGETS = {"cores_busy": 0.90, "head_share": 0.05, "seconds_500": 600.0}


# ------------------------------------------------------------------ inputs


def _quotes(day: dt.date, crash: bool) -> QuotesFile:
    assets = ASSETS
    if crash:
        assets = tuple(replace(a, spot=round(a.spot * (1 + CRASH), 2), vol=a.vol * VOL_UP) for a in ASSETS)
    return QuotesFile(as_of=day, assets=assets, instruments=INSTRUMENTS)


def make_accounts(count: int, due: int, seed: int = 7) -> tuple[list[Account], dict[str, int]]:
    """``count`` accounts, all healthy on the calm market; ``due`` of them long and thinly
    margined (equity 1.05 to 3 x IM), the rest with equity 4 x IM; returns them and the
    crash's statuses counted."""
    rng = np.random.default_rng(seed)
    calm = build_market(PROFILE, 1, ASSETS, INSTRUMENTS, PARAMS.row_config, CALM_DAY)
    q = _quotes(CALM_DAY + dt.timedelta(days=1), crash=True)
    crashed = build_market(PROFILE, 2, q.assets, q.instruments, PARAMS.row_config, q.as_of)
    risk = PARAMS.resolve(("BTC", "ETH"), PROFILE)
    fragile = set(rng.choice(count, size=min(due, count), replace=False).tolist())
    base = []
    for n in range(count):
        if n in fragile:
            btc, eth = rng.uniform(0.2, 2.0), rng.uniform(2.0, 30.0)
        else:
            btc, eth = rng.uniform(-2.0, 2.0), rng.uniform(-30.0, 30.0)
        slots = (Slot(1, round(btc * SCALE)), Slot(3, round(eth * SCALE)), Slot(0, 0), Slot(0, 0))
        base.append(Account(account_id=n + 1, nonce=1, salt=10**40 + 7919 * n, cash=0, slots=slots))
    before = compute_margins(calm, risk, AccountBatch.from_accounts(base))
    accounts = []
    for n, account in enumerate(base):
        equity, im = int(before.E[n]), int(before.IM[n])
        fragile_target = im + int(im * rng.uniform(0.05, 2.0))
        target = fragile_target if n in fragile else 4 * im + SCALE
        accounts.append(replace(account, cash=target - equity))
    after = compute_margins(crashed, risk, AccountBatch.from_accounts(accounts))
    calm_status = compute_margins(calm, risk, AccountBatch.from_accounts(accounts)).status
    assert all(int(s) == 0 for s in calm_status), "every account is healthy before the crash"
    names = ("healthy", "restricted", "liquidatable", "insolvent")
    counts = {names[s]: int(np.sum(after.status == s)) for s in range(4)}
    return accounts, counts


# ------------------------------------------------------------------ one run


@dataclass
class ModeResult:
    mode: str
    workers: int
    seconds: float  # crash snapshot to the last liquidation confirmed
    reconcile_seconds: float  # crash snapshot to the first job leased
    proofs: int
    accounts_liquidated: int
    proofs_per_second: float
    proof_seconds_mean: float  # on a worker
    workers_busy: float  # share of the proving phase the workers spent proving
    cores_busy: float  # worker processes' CPU / (cores x proving phase)
    head_cpu_per_proof: float  # the head's CPU seconds per proof while proving
    head_share: float  # head CPU per proof / worker seconds per proof
    late_proofs: int
    lost_leases: int

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@contextmanager
def _cluster(mode: str, folder: Path) -> Iterator[tuple[str, int]]:
    kind, _, n = mode.partition("-")
    workers = int(n)
    if kind == "local":
        yield "local", workers
    else:
        with dask_processes(
            folder / "dask", workers, prover_threads=max(1, (os.cpu_count() or 1) // workers)
        ) as a:
            yield a, workers


def _cpu_of(pids: list[int]) -> float:
    """CPU seconds of these processes and their children (the node witness programs)."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def run_mode(
    mode: str, chain: Chain, artifacts: CircuitArtifacts, folder: Path, accounts_path: Path
) -> ModeResult:
    folder.mkdir(parents=True, exist_ok=True)
    risk = PARAMS.resolve(("BTC", "ETH"), PROFILE)
    verifier, _ = deploy_verifier(chain, artifacts.verifier_sol.read_text(encoding="utf-8"))
    gate, _ = BatchGate.deploy(chain, verifier, PROFILE.batch_size, max_market_age=3600)
    gate.set_params(params_hash(risk))
    snaps = folder / "snapshots"
    snaps.mkdir(exist_ok=True)
    calm, crash = snaps / "q-1-calm.json", snaps / "q-2-crash.json"
    write_json_atomic(calm, dump_quotes(_quotes(CALM_DAY, crash=False)))
    write_json_atomic(crash, dump_quotes(_quotes(CALM_DAY + dt.timedelta(days=1), crash=True)))
    db = folder / "operator.sqlite"
    with _cluster(mode, folder) as (address, workers):
        log = JobLog(db)
        pool = ProverPool(artifacts, db, workers, cluster=address)
        txs = DurableTxs(chain, gate.artifact.abi)
        settings = KeeperSettings(accounts_path, PARAMS, PROFILE, poll=0.2, confirmations=1)
        keeper = Keeper(settings, log, gate, chain.roles, pool, txs)
        try:
            pool.start()
            for _ in range(100):
                if len(pool.cluster.workers(fresh=True)) >= workers:
                    break
                time.sleep(0.2)
            pids = list(pool.cluster.worker_pids().values())
            first = keeper.process(read_snapshot(calm))
            assert first.state == "done", first.reason
            head = psutil.Process()
            started = time.perf_counter()
            cpu0: float | None = None
            head0: float | None = None
            leased_at = started
            outcome_box: list[Any] = []

            def drive() -> None:
                outcome_box.append(keeper.process(read_snapshot(crash)))

            thread = threading.Thread(target=drive)
            thread.start()
            while thread.is_alive() and cpu0 is None:
                if pool.leases():
                    cpu0, head0 = _cpu_of(pids), sum(head.cpu_times()[:2])
                    leased_at = time.perf_counter()
                time.sleep(0.005)
            thread.join()
            ended = time.perf_counter()
            outcome = outcome_box[0]
            assert outcome.state == "done", outcome.reason
            if cpu0 is None or head0 is None:
                raise SystemExit("the crash made no liquidation job")
            worker_cpu = _cpu_of(pids) - cpu0
            head_cpu = sum(head.cpu_times()[:2]) - head0
        finally:
            pool.close()
        jobs = [j for j in log.jobs.select() if j.snapshot_id == outcome.snapshot_id]
        log.close()
    timings = pool.timings
    phase = ended - leased_at
    proofs = len(timings)
    busy = sum(t.seconds for t in timings)
    cores = os.cpu_count() or 1
    per_proof = busy / proofs
    return ModeResult(
        mode=mode,
        workers=workers,
        seconds=ended - started,
        reconcile_seconds=leased_at - started,
        proofs=proofs,
        accounts_liquidated=sum(len(j.entries) for j in jobs if j.state == "confirmed"),
        proofs_per_second=proofs / phase,
        proof_seconds_mean=per_proof,
        workers_busy=busy / (workers * phase),
        cores_busy=worker_cpu / (cores * phase),
        head_cpu_per_proof=head_cpu / proofs,
        head_share=(head_cpu / proofs) / per_proof,
        late_proofs=pool.late,
        lost_leases=pool.lost_leases,
    )


# ------------------------------------------------------------------ projection


def projection(best: ModeResult, cores: int) -> list[dict[str, Any]]:
    """Projected, not measured: N machines like this one, each proving at the measured
    rate, behind one head whose CPU time per proof is the measured one (its ceiling:
    1 / head time per proof, proofs/s)."""
    rate = best.proofs_per_second
    ceiling = 1.0 / best.head_cpu_per_proof if best.head_cpu_per_proof > 0 else float("inf")
    accounts_per_proof = PROFILE.batch_size
    rows = []
    for machines in MACHINES:
        proofs_s = min(machines * rate, ceiling)
        rows.append(
            {
                "machines": machines,
                "cores": machines * cores,
                "proofs_per_second": round(proofs_s, 2),
                "head_bound": machines * rate > ceiling,
                "minutes_for_10k_liquidations": round(10_000 / accounts_per_proof / proofs_s / 60, 2),
                "minutes_for_100k_liquidations": round(100_000 / accounts_per_proof / proofs_s / 60, 2),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument(
        "--due", type=int, default=500, help="accounts made fragile (about that many liquidatable)"
    )
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--work", type=Path, default=Path("build/crash-drill"))
    args = parser.parse_args(argv)
    if not 1 <= args.accounts <= PROFILE.accounts_capacity:
        raise SystemExit(f"--accounts must be in 1..{PROFILE.accounts_capacity} (the drill profile's tree)")
    artifacts = prepare_artifacts(batch_spec(PROFILE), console=console, notify=console.print)
    accounts, crash_counts = make_accounts(args.accounts, args.due)
    args.work.mkdir(parents=True, exist_ok=True)
    accounts_path = args.work / "accounts.json"
    write_json_atomic(accounts_path, dump_accounts([LabeledAccount(a) for a in accounts]))
    write_json_atomic(args.work / "params.json", dump_params(PARAMS))
    console.print(
        f"drill: {args.accounts:,} accounts; after the crash {crash_counts}; circuit "
        f"{artifacts.spec.label}: {artifacts.constraints:,} constraints, K = {PROFILE.batch_size} "
        "(local single-party setup)"
    )
    results = []
    with anvil() as chain:
        for mode in args.modes:
            console.print(f"[bold]{mode}[/bold] ...")
            result = run_mode(mode, chain, artifacts, args.work / mode, accounts_path)
            results.append(result)
            console.print(result.to_dict())
    cores = os.cpu_count() or 1
    table = Table(
        title=f"crash drill: {args.accounts:,} accounts, {sum(r.accounts_liquidated for r in results[:1]):,} liquidated"
    )
    for col in (
        "mode",
        "to last confirmed",
        "reconcile",
        "proofs",
        "proofs/s",
        "s/proof",
        "workers busy",
        "cores busy",
        "head CPU/proof",
        "head share",
    ):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            r.mode,
            f"{r.seconds:.1f} s",
            f"{r.reconcile_seconds:.2f} s",
            str(r.proofs),
            f"{r.proofs_per_second:.3f}",
            f"{r.proof_seconds_mean:.2f}",
            f"{r.workers_busy:.0%}",
            f"{r.cores_busy:.0%}",
            f"{r.head_cpu_per_proof * 1000:.0f} ms",
            f"{r.head_share:.1%}",
        )
    console.print(table)
    best = max(results, key=lambda r: r.proofs_per_second)
    rows = projection(best, cores)
    ptable = Table(
        title=f"PROJECTION (not measured) from {best.mode}: machines like this one behind one head"
    )
    for col in ("machines", "cores", "proofs/s", "head-bound", "10k liquidations", "100k liquidations"):
        ptable.add_column(col, justify="right")
    for row in rows:
        ptable.add_row(
            str(row["machines"]),
            str(row["cores"]),
            f"{row['proofs_per_second']:.2f}",
            "yes" if row["head_bound"] else "no",
            f"{row['minutes_for_10k_liquidations']:.1f} min",
            f"{row['minutes_for_100k_liquidations']:.1f} min",
        )
    console.print(ptable)
    write_json_atomic(
        args.out,
        {
            "format": "zkmargin/bench-crash-drill@1",
            "profile": PROFILE.name,
            "batch_size": PROFILE.batch_size,
            "constraints": artifacts.constraints,
            "accounts": args.accounts,
            "crash_statuses": crash_counts,
            "cores": cores,
            "modes": [r.to_dict() for r in results],
            "projection": rows,
            "projection_note": "projected from the measured per-machine rate and head CPU per proof; not measured",
            "targets": TARGETS,
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )
    console.print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""zkmargin CLI commands: ``operator run`` (the keeper), ``operator status`` (its job log) and
``operator proof`` (a user's batch proof out of it).

    zkmargin operator run (--snapshots DIR | --once FILE) --accounts FILE --params FILE
        --profile P --db operator.sqlite --deployment deployment.json
        [--rpc URL] [--cluster local|tcp://HOST:8786] [--workers N] [--poll S] [--max-snapshots N] [--exit-when-idle]
    zkmargin operator status --db operator.sqlite [--json]
    zkmargin operator proof --db operator.sqlite --account ID --out FILE

See docs/operator.md. Defaults come from flags > environment > ``zkmargin.toml``
(``[operator]`` and ``[chain]``; see :mod:`zkmargin.settings`). With ``--snapshots`` a failed
snapshot is recorded with its reason and the loop goes on. Exit codes: 2 when the input is
bad (a snapshot ``--once`` that does not load); 1 when the run processed a snapshot that
failed or a liquidation job that failed; 0 otherwise.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from engine.errors import CheckFailed
from engine.formats import load_params
from engine.profiles import PROFILES, get_profile
from zkmargin.cli.live import live_progress
from zkmargin.cli.options import BoundedFloat, chain_target, prover_backend, prover_option, rpc_option
from zkmargin.cli.render import CliError, console, print_job_log
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.states import JOB_STATES
from zkmargin.keeper.status import status_data
from zkmargin.logs import setup_logging
from zkmargin.settings import load_settings

if TYPE_CHECKING:
    from zkmargin.keeper.status import SnapshotOutcome

_IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_IN_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@dataclass(frozen=True)
class RunOptions:
    """Everything ``operator run`` was given."""

    snapshots: Path | None
    once: Path | None
    accounts: Path
    params: Path
    profile: str | None
    db: Path
    deployment: Path
    rpc: str | None
    workers: int
    cluster: str
    lease_seconds: float
    confirmations: int
    max_fee_gwei: float
    replace_after: float
    poll: float
    max_snapshots: int | None
    prover: str
    exit_when_idle: bool
    as_json: bool
    log_json: bool = False


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def _chain_errors() -> Iterator[None]:
    """Chain-layer failures become one clear line and exit code 2."""
    from requests.exceptions import RequestException
    from web3.exceptions import Web3Exception

    from verifier_contracts.chain import ChainError
    from verifier_contracts.deployment import DeploymentError
    from verifier_contracts.gate import GateError

    try:
        yield
    except (ChainError, DeploymentError, GateError, Web3Exception) as exc:
        raise CliError(str(exc)) from exc
    except RequestException as exc:
        raise CliError(f"the node stopped answering: {exc}") from exc


def run_command(opts: RunOptions) -> None:
    """Build the keeper from the options and run it."""
    from prover.keys.artifacts import find_artifacts
    from prover.toolchain.build import batch_spec
    from verifier_contracts.chain import SIGNING_ROLES, from_rpc, signing_keys
    from verifier_contracts.deployment import load_deployment, open_gate
    from zkmargin.keeper.cluster import ClusterError, parse_cluster
    from zkmargin.keeper.factory import open_keeper
    from zkmargin.keeper.keeper import KeeperSettings
    from zkmargin.keeper.snapshots import read_snapshot
    from zkmargin.keeper.status import outcome_json, run_summary
    from zkmargin.keeper.transactions import FeePolicy

    if (opts.snapshots is None) == (opts.once is None):
        raise click.UsageError("pass exactly one of --snapshots DIR and --once FILE")
    if opts.workers < 1:
        raise click.UsageError("--workers must be at least 1")
    try:
        parse_cluster(opts.cluster)
    except ClusterError as exc:
        raise click.UsageError(str(exc)) from None
    if not 0 < opts.poll < 86400:
        raise click.UsageError(f"--poll must be a number of seconds in (0, 86400), got {opts.poll}")
    signal.signal(signal.SIGTERM, _terminate)
    with _chain_errors():
        deployment = load_deployment(opts.deployment)
        profile_name = opts.profile or deployment.profile
        if profile_name is None:
            raise CliError("pass --profile (the deployment file does not name one)")
        if deployment.profile is not None and deployment.profile != profile_name:
            raise CliError(f"--profile {profile_name} but the gate was deployed for {deployment.profile!r}")
        profile = get_profile(profile_name)
        params = load_params(opts.params)
        artifacts = find_artifacts(batch_spec(profile))
        if artifacts is None or artifacts.setup is None:
            raise CliError(
                f"no proving keys for the batch circuit of profile {profile_name!r}: "
                f"run `zkmargin setup --profile {profile_name} --circuit batch`"
            )
        keys = signing_keys()
        chain = from_rpc(
            chain_target(None, opts.rpc, deployment.rpc_url, deployment.chain),
            deployment.chain,
            recorded=deployment.roles,
            keys=keys,
            senders=SIGNING_ROLES,
        )
        gate = open_gate(chain, deployment)
        if gate.batch_size() != profile.batch_size:
            raise CliError(
                f"the gate at {deployment.gate} takes batches of {gate.batch_size()}, the profile "
                f"{profile_name} proves batches of {profile.batch_size}"
            )
        recorded = (deployment.block_number, deployment.block_hash) if deployment.block_hash else None
        fees = FeePolicy(max_fee_wei=round(opts.max_fee_gwei * 10**9), replace_after=opts.replace_after)
        settings = KeeperSettings(
            opts.accounts,
            params,
            profile,
            confirmations=opts.confirmations,
            fees=fees,
            deployment_block=recorded,
        )
        started = time.perf_counter()
        outcomes: list[SnapshotOutcome] = []
        with (
            open_keeper(
                settings,
                opts.db,
                chain,
                gate,
                artifacts,
                keys=list(keys.values()),
                workers=opts.workers,
                cluster=opts.cluster,
                lease_seconds=opts.lease_seconds,
                backend=opts.prover,
            ) as keeper,
            live_progress(opts.db, sys.stderr.isatty() and not (opts.as_json or opts.log_json)),
        ):
            if opts.once is not None:
                outcomes.append(keeper.process(read_snapshot(opts.once)))
            else:
                assert opts.snapshots is not None
                keeper.run_folder(
                    opts.snapshots,
                    poll=opts.poll,
                    max_snapshots=opts.max_snapshots,
                    exit_when_idle=opts.exit_when_idle,
                    on_outcome=outcomes.append,
                )
        elapsed = time.perf_counter() - started
    summary = run_summary(keeper.pool, elapsed)
    if opts.as_json:
        click.echo(json.dumps({"snapshots": [outcome_json(o) for o in outcomes], **summary}, indent=2))
    if opts.once is not None and outcomes and outcomes[0].state == "failed":
        raise CliError(f"snapshot {opts.once} failed: {outcomes[0].reason}")
    failed_snapshots = [o for o in outcomes if o.state == "failed"]
    incomplete = [o for o in outcomes if o.state == "incomplete"]
    failed_jobs = sum(o.jobs.get("failed", 0) for o in outcomes)
    if failed_snapshots or failed_jobs or incomplete:
        what = []
        if failed_snapshots:
            what.append(f"{len(failed_snapshots)} snapshot(s) failed")
        if incomplete:
            what.append(f"{len(incomplete)} snapshot(s) incomplete (run again: {incomplete[0].reason})")
        if failed_jobs:
            what.append(f"{failed_jobs} liquidation job(s) failed")
        raise CheckFailed(f"{' and '.join(what)} (zkmargin operator status --db {opts.db})")


# ------------------------------------------------------------------ click


@click.group("operator")
def operator_group() -> None:
    """The operator's keeper and its job log.

    The keeper turns quote snapshots into market roots, proofs and liquidations.

    \b
    Example:
      zkmargin operator run --snapshots snapshots/ --accounts accounts.json --params params.json
      zkmargin operator status --db operator.sqlite
    """


@operator_group.command("run")
@click.option("--snapshots", type=_IN_DIR, help="folder of quote snapshots (zkmargin/quotes@1), watched")
@click.option("--once", type=_IN_FILE, help="process this one snapshot file and exit")
@click.option("--accounts", type=_IN_FILE, help="accounts file (zkmargin/accounts@1)")
@click.option("--params", type=_IN_FILE, help="params file (zkmargin/params@2, ZKPM-2)")
@click.option(
    "--profile", type=click.Choice(sorted(PROFILES)), help="circuit profile (default: the deployment's)"
)
@click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), help="job log (default operator.sqlite)"
)
@click.option("--deployment", type=_IN_FILE, help="written by chain deploy (default deployment.json)")
@rpc_option
@click.option(
    "--cluster",
    help="where proofs are made: 'local' (a Dask LocalCluster of --workers processes, the default) "
    "or a Dask scheduler tcp://HOST:8786",
)
@click.option("--workers", type=click.IntRange(1, 64), help="worker processes of --cluster local (default 1)")
@click.option(
    "--lease-seconds",
    type=BoundedFloat(1, 86400, unit="seconds"),
    default=600.0,
    show_default=True,
    help="a job's lease on a worker runs out after this long; it is then proved elsewhere",
)
@click.option(
    "--poll",
    type=BoundedFloat(0, 86400, low_open=True, high_open=True, unit="seconds"),
    help="seconds between looks at --snapshots (default 5)",
)
@click.option(
    "--max-fee-gwei",
    type=BoundedFloat(0.001, 1e6, unit="gwei"),
    default=1000.0,
    show_default=True,
    help="fee cap of liquidations (maxFeePerGas); replacements bump fees 12.5 % up to it",
)
@click.option(
    "--replace-after",
    type=BoundedFloat(0.1, 3600, unit="seconds"),
    default=12.0,
    show_default=True,
    help="seconds a liquidation may wait unmined before it is replaced with higher fees",
)
@click.option(
    "--confirmations",
    type=click.IntRange(1, 1000),
    help="blocks a liquidation needs before it is final (default 2); until then it is re-checked",
)
@click.option(
    "--max-snapshots", type=click.IntRange(1, 2**63 - 1), help="stop after processing this many snapshots"
)
@click.option("--exit-when-idle", is_flag=True, help="stop when --snapshots holds no new snapshot")
@click.option(
    "--json", "as_json", is_flag=True, help="print a JSON summary (snapshots, proofs per second) at the end"
)
@prover_option
@click.option("-v", "--verbose", is_flag=True, help="debug logging")
@click.option("--log-json", is_flag=True, help="log lines as JSON objects (time, level, logger, message)")
def run_cmd(
    verbose: bool,
    log_json: bool,
    snapshots: Path | None,
    once: Path | None,
    accounts: Path | None,
    params: Path | None,
    profile: str | None,
    db: Path | None,
    deployment: Path | None,
    rpc: str | None,
    cluster: str | None,
    workers: int | None,
    lease_seconds: float,
    poll: float | None,
    confirmations: int | None,
    max_fee_gwei: float,
    replace_after: float,
    max_snapshots: int | None,
    exit_when_idle: bool,
    as_json: bool,
    prover_backend_flag: str | None,
) -> None:
    """Keep margins proven: post each snapshot's market, prove and submit liquidations.

    Every option but --once may come from zkmargin.toml (see examples/zkmargin.toml).

    \b
    Example:
      zkmargin operator run --snapshots snapshots/ --accounts accounts.json \\
        --params params.json --db operator.sqlite --workers 2
    """
    settings = load_settings()
    setup_logging(verbose, json_lines=log_json)
    run_command(
        RunOptions(
            snapshots=settings.get("operator.snapshots", snapshots) if once is None else snapshots,
            once=once,
            accounts=settings.require("operator.accounts", accounts, "--accounts"),
            params=settings.require("operator.params", params, "--params"),
            profile=settings.get("operator.profile", profile),
            db=settings.get("operator.db", db),
            deployment=settings.get("chain.deployment", deployment),
            rpc=rpc,
            workers=settings.get("operator.workers", workers),
            cluster=settings.get("operator.cluster", cluster),
            lease_seconds=lease_seconds,
            poll=settings.get("operator.poll", poll),
            confirmations=settings.get("operator.confirmations", confirmations),
            max_fee_gwei=max_fee_gwei,
            replace_after=replace_after,
            max_snapshots=max_snapshots,
            exit_when_idle=exit_when_idle,
            as_json=as_json,
            prover=prover_backend(prover_backend_flag),
            log_json=log_json,
        )
    )


@operator_group.command("status")
@click.option("--db", type=_IN_FILE, default=None, help="job log (default: zkmargin.toml, operator.sqlite)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def status_cmd(db: Path | None, as_json: bool) -> None:
    """Snapshots and jobs of an operator's job log, by state.

    \b
    Example:
      zkmargin operator status --db operator.sqlite
    """
    path = Path(load_settings().get("operator.db", db))
    if not path.is_file():
        raise CliError(f"no job log at {path}: pass --db FILE")
    data = status_data(path)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        print_job_log(data, JOB_STATES)


@operator_group.command("proof")
@click.option("--db", type=_IN_FILE, default=None, help="job log (default: zkmargin.toml, operator.sqlite)")
@click.option("--account", "account_id", type=click.IntRange(0, 2**64 - 1), required=True, help="account id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="bundle to write")
def proof_cmd(db: Path | None, account_id: int, out: Path) -> None:
    """Export the batch proof that liquidated an account, for its user to audit.

    The newest confirmed batch of the job log that names the account, as a batch proof
    bundle (`zkmargin/batch-proof@1`, with the account's path in the accounts tree); the
    user audits it with `zkmargin audit --proof FILE` (docs/audit.md).

    \b
    Example:
      zkmargin operator proof --db operator.sqlite --account 1003 --out 1003-proof.json
    """
    from prover.statements.batch_bundle import BatchBundle

    path = Path(load_settings().get("operator.db", db))
    if not path.is_file():
        raise CliError(f"no job log at {path}: pass --db FILE")
    log = JobLog(path, read_only=True)
    try:
        confirmed = [
            j for j in log.jobs.select(state="confirmed") if account_id in j.account_ids and j.bundle
        ]
    finally:
        log.close()
    if not confirmed:
        raise CliError(f"no confirmed batch of the job log {path} names account {account_id}")
    job = confirmed[-1]
    assert job.bundle is not None
    BatchBundle.from_dict(json.loads(job.bundle)).save(out)
    what = (job.outcome or {}).get(account_id, "recorded")
    console.print(
        f"batch {job.batch} of snapshot {job.snapshot_id[:12]} (account {account_id}: {what}; "
        f"tx {job.tx_hash}) -> {out}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )

"""zkmargin CLI commands: prover (``build``, ``setup``, ``prove``, ``verify``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from engine.profiles import PROFILES
from prover.artifacts import CircuitArtifacts, find_setup_by_vkey, prepare_artifacts
from prover.bundle import ProofBundle
from prover.verify_py import verify_groth16
from prover.vkey import load_vkey, vkey_sha256
from zkmargin.cli_support import CliError, console, err_console

STATUS_NAMES = {0: "healthy", 1: "restricted", 2: "liquidatable", 3: "insolvent"}

profile_option = click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default="test",
    show_default=True,
    help="circuit shape (A assets, k slots, tree depth d)",
)
json_option = click.option("--json", "as_json", is_flag=True, help="print a JSON summary instead of text")


def _notify(message: str) -> None:
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)


def _print_summary(title: str, artifacts: CircuitArtifacts, seconds: float, as_json: bool) -> None:
    summary = artifacts.summary() | {"elapsed_seconds": round(seconds, 3)}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    console.print(f"[bold]{title}[/bold] {artifacts.spec.label} ({seconds:.1f} s)")
    for key, value in summary.items():
        console.print(f"  {key:<18} {value}", markup=False, highlight=False, soft_wrap=True)


def build_command(profile: str, force: bool, as_json: bool) -> None:
    """Compile the margin circuit for a profile (cached by source hash)."""
    started = time.perf_counter()
    artifacts = prepare_artifacts(profile, setup=False, force=force, notify=_notify)
    cached = " (cached)" if artifacts.build.cached else ""
    _print_summary(f"built{cached}", artifacts, time.perf_counter() - started, as_json)


def setup_command(profile: str, ptau: Path | None, force: bool, as_json: bool) -> None:
    """Groth16 keys for a profile: zkey, verification key, Solidity verifier (cached)."""
    started = time.perf_counter()
    artifacts = prepare_artifacts(profile, ptau=ptau, force=force, console=err_console, notify=_notify)
    assert artifacts.setup is not None
    if artifacts.setup.record.get("single_party"):
        _notify("note: these keys come from a single-party setup: for development only.")
    cached = " (cached)" if artifacts.setup.cached else ""
    _print_summary(f"set up{cached}", artifacts, time.perf_counter() - started, as_json)


def prove_command(
    market_path: Path,
    params_path: Path,
    account_path: Path,
    select: str | None,
    out: Path,
    ptau: Path | None,
    use_worker: bool,
    as_json: bool,
) -> None:
    """Prove one account's status and shortfall; write the proof bundle."""
    from engine.formats import load_accounts, load_market, load_params
    from prover.prove import Prover
    from prover.prove_account import prove_account
    from zkmargin.commands_engine_views import select_account

    mf = load_market(market_path)
    market = mf.market
    risk = load_params(params_path).resolve(market.asset_names, market.profile, mf.calibrated_rho)
    chosen = select_account(load_accounts(account_path, market), select)
    artifacts = prepare_artifacts(market.profile.name, ptau=ptau, console=err_console, notify=_notify)
    started = time.perf_counter()
    with Prover(use_worker=use_worker, notify=_notify) as prover:
        proved = prove_account(market, risk, chosen.account, artifacts, prover)
    seconds = time.perf_counter() - started
    proved.bundle.save(out)
    bundle = proved.bundle
    report = {
        "out": str(out),
        "account": chosen.label,
        "profile": bundle.profile,
        "status": bundle.status,
        "status_name": STATUS_NAMES.get(bundle.status, "unknown"),
        "shortfall": bundle.shortfall,
        "market_epoch": bundle.market_epoch,
        "backend": proved.proof.backend,
        "witness_seconds": round(proved.proof.witness_seconds, 3),
        "prove_seconds": round(proved.proof.prove_seconds, 3),
        "total_seconds": round(seconds, 3),
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console.print(
        f"[bold green]proved[/bold green] {chosen.label}: status {bundle.status} ({report['status_name']}), "
        f"shortfall {bundle.shortfall}, epoch {bundle.market_epoch} "
        f"({proved.proof.backend}, {seconds:.1f} s) -> {out}"
    )


def _vkey_for(bundle: ProofBundle, vkey_path: Path | None) -> tuple[dict[str, Any], str]:
    """The verification key: ``--vkey``, else the cached key the bundle names by digest."""
    if vkey_path is not None:
        return load_vkey(vkey_path), str(vkey_path)
    keys = find_setup_by_vkey(bundle.vkey_sha256)
    if keys is not None:
        return load_vkey(keys.vkey), str(keys.vkey)
    hint = (
        f"run zkmargin setup --profile {bundle.profile}, or pass --vkey"
        if bundle.profile in PROFILES
        else "pass --vkey"
    )
    raise CliError(f"no cached verification key with sha256 {bundle.vkey_sha256[:16]}…: {hint}")


def verify_command(bundle_path: Path, vkey_path: Path | None, as_json: bool) -> None:
    """Verify a proof bundle in pure Python (py_ecc); exit 2 if it is not valid."""
    bundle = ProofBundle.load(bundle_path)
    vkey, source = _vkey_for(bundle, vkey_path)
    digest = vkey_sha256(vkey)
    if digest != bundle.vkey_sha256:
        raise CliError(
            f"the bundle was made for verification key {bundle.vkey_sha256[:16]}…, {source} is {digest[:16]}…"
        )
    started = time.perf_counter()
    result = verify_groth16(vkey, bundle.public_signals, bundle.proof)
    seconds = time.perf_counter() - started
    report = {
        "valid": result.ok,
        "reason": result.reason,
        "profile": bundle.profile,
        "status": bundle.status,
        "status_name": STATUS_NAMES.get(bundle.status, "unknown"),
        "shortfall": bundle.shortfall,
        "commitment": str(bundle.commitment),
        "market_root": str(bundle.market_root),
        "params_hash": str(bundle.params_hash),
        "market_epoch": bundle.market_epoch,
        "vkey": source,
        "verify_seconds": round(seconds, 3),
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
    if not result.ok:
        raise CliError(f"proof INVALID: {result.reason}")
    if not as_json:
        console.print(
            f"[bold green]proof valid[/bold green]: status {bundle.status} ({report['status_name']}), "
            f"shortfall {bundle.shortfall}, epoch {bundle.market_epoch} ({seconds:.2f} s)"
        )


def register(cli: click.Group) -> None:
    """Attach this module's commands to the main group."""

    @cli.command("build")
    @profile_option
    @click.option("--force", is_flag=True, help="recompile even if the cache holds this build")
    @json_option
    def build(profile: str, force: bool, as_json: bool) -> None:
        """Compile the margin circuit for a profile (cached by source hash)."""
        build_command(profile, force, as_json)

    @cli.command("setup")
    @profile_option
    @click.option(
        "--ptau",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="powers of tau file (default: $ZKMARGIN_PTAU, the shared dev file, or generate one)",
    )
    @click.option("--force", is_flag=True, help="redo the setup even if keys exist")
    @json_option
    def setup(profile: str, ptau: Path | None, force: bool, as_json: bool) -> None:
        """Groth16 keys for a profile: zkey, verification key, Solidity verifier (cached)."""
        setup_command(profile, ptau, force, as_json)

    @cli.command("prove")
    @click.option("--market", "market_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--params", "params_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
    @click.option(
        "--account",
        "account_path",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="account or accounts file",
    )
    @click.option("--select", default=None, help="label or account id when the file holds several accounts")
    @click.option(
        "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="bundle to write"
    )
    @click.option(
        "--ptau", type=click.Path(dir_okay=False, path_type=Path), default=None, help="ptau for a first setup"
    )
    @click.option("--no-worker", is_flag=True, help="prove with the snarkjs CLI instead of the node worker")
    @json_option
    def prove(
        market_path: Path,
        params_path: Path,
        account_path: Path,
        select: str | None,
        out: Path,
        ptau: Path | None,
        no_worker: bool,
        as_json: bool,
    ) -> None:
        """Prove one account's margin status and shortfall; write a proof bundle."""
        prove_command(market_path, params_path, account_path, select, out, ptau, not no_worker, as_json)

    @cli.command("verify")
    @click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
    @click.option(
        "--vkey",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="verification key JSON (default: the cached key of the bundle's profile)",
    )
    @json_option
    def verify(bundle: Path, vkey: Path | None, as_json: bool) -> None:
        """Verify a proof bundle in pure Python (py_ecc); exit 2 if it is not valid."""
        verify_command(bundle, vkey, as_json)

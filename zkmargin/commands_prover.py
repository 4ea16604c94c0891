"""zkmargin CLI commands: prover (``build``, ``setup``, ``verify``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from engine.profiles import PROFILES
from prover.artifacts import CircuitArtifacts, find_artifacts, prepare_artifacts
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


def _vkey_for(bundle: ProofBundle, vkey_path: Path | None) -> tuple[dict[str, Any], str]:
    if vkey_path is not None:
        return load_vkey(vkey_path), str(vkey_path)
    if bundle.profile not in PROFILES:
        raise CliError(f"bundle profile {bundle.profile!r} is unknown: pass --vkey")
    artifacts = find_artifacts(bundle.profile)
    if artifacts is None or artifacts.setup is None:
        raise CliError(
            f"no keys for profile {bundle.profile!r}: run zkmargin setup --profile {bundle.profile} or pass --vkey"
        )
    return artifacts.vkey_json(), str(artifacts.vkey)


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

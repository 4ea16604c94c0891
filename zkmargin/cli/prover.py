"""zkmargin CLI commands of the prover: ``build``, ``setup``, ``prove``, ``verify``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.errors import CheckFailed
from engine.status import Status
from zkmargin.cli.options import json_option, profile_option, prover_option
from zkmargin.cli.options import prover_backend as resolve_prover
from zkmargin.cli.render import CliError, console, err_console, proof_outputs_text

if TYPE_CHECKING:
    from engine.formats import LabeledAccount
    from engine.model import Market, RiskParams
    from prover.keys.artifacts import CircuitArtifacts
    from prover.offline.bundle import ProofBundle
    from prover.statements.batch_bundle import BatchBundle
    from prover.toolchain.build import CircuitSpec
    from zkmargin.cli.head_start import HeadStart

_PTAU_HELP = "powers-of-tau file (default: $ZKMARGIN_PTAU, the shared dev file, or generate one)"


def _notify(message: str) -> None:
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)


def _print_summary(title: str, artifacts: CircuitArtifacts, seconds: float, as_json: bool) -> None:
    """A few human lines (or, with --json, every path and figure)."""
    summary = artifacts.summary() | {"elapsed_seconds": round(seconds, 3)}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    console.print(f"[bold]{title}[/bold] {artifacts.spec.label} in {seconds:.1f} s")
    console.print(
        f"  {artifacts.constraints:,} constraints, {artifacts.public_signals} public signals, "
        f"needs a 2^{artifacts.ptau_power} ptau",
        highlight=False,
    )
    if artifacts.setup is not None:
        zkey_mb = artifacts.zkey.stat().st_size / 1e6
        console.print(
            f"  keys from {artifacts.setup.origin()}; zkey {zkey_mb:.1f} MB; "
            f"verification key sha256 {artifacts.vkey_sha256[:16]}…",
            highlight=False,
        )
    console.print("  (paths and every figure: --json)", style="dim")


_CIRCUIT_OPTION = click.option(
    "--circuit",
    type=click.Choice(("batch", "margin")),
    default="batch",
    show_default=True,
    help="batch: MarginBatch (K accounts of the accounts tree: the gate's, the keeper's and "
    "`prove --batch`'s circuit); margin: the offline one-account MarginCheck (`zkmargin prove`)",
)


def _spec(profile: str, circuit: str) -> str | CircuitSpec:
    """The profile's name (MarginCheck) or its batch circuit's spec."""
    if circuit == "margin":
        return profile
    from engine.profiles import get_profile
    from prover.toolchain.build import batch_spec

    return batch_spec(get_profile(profile))


@click.command("build")
@profile_option()
@_CIRCUIT_OPTION
@click.option("--force", is_flag=True, help="recompile even if the cache holds this build")
@json_option
def build_cmd(profile: str, circuit: str, force: bool, as_json: bool) -> None:
    """Compile the margin circuit for a profile (cached by source hash).

    The batch circuit by default (the one the gate verifies); --circuit margin compiles the
    offline one-account circuit of `zkmargin prove`.

    \b
    Example:
      zkmargin build --profile demo                    # MarginBatch, the gate's
      zkmargin build --profile demo --circuit margin   # MarginCheck, offline
    """
    from prover.keys.artifacts import prepare_artifacts

    started = time.perf_counter()
    artifacts = prepare_artifacts(_spec(profile, circuit), setup=False, force_build=force, notify=_notify)
    cached = " (cached)" if artifacts.build.cached else ""
    _print_summary(f"built{cached}", artifacts, time.perf_counter() - started, as_json)


@click.command("setup")
@profile_option()
@_CIRCUIT_OPTION
@click.option("--ptau", type=click.Path(dir_okay=False, path_type=Path), default=None, help=_PTAU_HELP)
@click.option("--force", is_flag=True, help="redo the setup even if keys from this ptau exist")
@click.option(
    "--method",
    type=click.Choice(("auto", "native", "snarkjs")),
    default="auto",
    show_default=True,
    help="new keys from a native circuit-specific setup (seconds, no ptau), from snarkjs over a "
    "ptau, or auto: native when built, unless --ptau names a ptau",
)
@json_option
def setup_cmd(profile: str, circuit: str, ptau: Path | None, force: bool, method: str, as_json: bool) -> None:
    """Groth16 keys for a profile: zkey, verification key, Solidity verifier.

    Cached. Keys from a ptau are cached per ptau (by its sha256): with --ptau (or
    $ZKMARGIN_PTAU) only keys made from that very file are used (the ceremony path:
    docs/prover.md). Every local setup is single-party: for development only.

    The batch circuit by default (the one the gate verifies); --circuit margin sets up the
    offline one-account circuit of `zkmargin prove`.

    \b
    Example:
      zkmargin setup --profile demo                          # MarginBatch, native, seconds
      zkmargin setup --profile demo --circuit margin         # MarginCheck, offline
      zkmargin setup --profile demo --ptau pot15_final.ptau  # snarkjs over a public ptau
    """
    from prover.keys.artifacts import prepare_artifacts

    started = time.perf_counter()
    artifacts = prepare_artifacts(
        _spec(profile, circuit),
        ptau=ptau,
        force_setup=force,
        console=err_console,
        notify=_notify,
        method=method,
    )
    assert artifacts.setup is not None
    note = artifacts.setup.trust_note()
    if note:
        _notify(f"note: {note}.")
    cached = " (cached)" if artifacts.setup.cached else ""
    _print_summary(f"set up{cached}", artifacts, time.perf_counter() - started, as_json)


@click.command("prove")
@click.option("--market", "market_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--params", "params_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--account",
    "account_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="account or accounts file",
)
@click.option(
    "--select",
    default=None,
    help="label or account id when the file holds several accounts; with --batch, several, comma-separated",
)
@click.option(
    "--batch",
    is_flag=True,
    help="one MarginBatch proof (the gate's) of the --select accounts, over the accounts tree of the whole file",
)
@click.option(
    "--accounts-epoch",
    type=click.IntRange(1, 2**32 - 1),
    default=1,
    show_default=True,
    help="with --batch: the accounts epoch the file's tree is posted under (`zkmargin chain status`)",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="bundle to write")
@click.option(
    "--ptau", type=click.Path(dir_okay=False, path_type=Path), default=None, help="ptau for a first setup"
)
@click.option("--no-worker", is_flag=True, help="prove with the snarkjs CLI instead of the node worker")
@prover_option
@json_option
def prove_cmd(
    market_path: Path,
    params_path: Path,
    account_path: Path,
    select: str | None,
    batch: bool,
    accounts_epoch: int,
    out: Path,
    ptau: Path | None,
    no_worker: bool,
    prover_backend_flag: str | None,
    as_json: bool,
) -> None:
    """Prove one account's margin status and shortfall; write a bundle.

    With --batch, the accounts named by --select are proven together in one batch proof
    over the accounts tree of the whole file (what `zkmargin chain attest/liquidate`
    take); without it, one account in a one-account proof (an offline statement).

    \b
    Example:
      zkmargin prove --market market.json --params examples/params.json \\
        --account examples/accounts.json --select carol --out carol-proof.json
      zkmargin prove --batch --market market.json --params examples/params.json \\
        --account examples/accounts.json --select carol,dave --out batch-proof.json
    """
    from engine.formats import load_accounts, load_market, load_params
    from engine.pipeline import select_account
    from prover.backends.prove import Prover
    from prover.keys.artifacts import prepare_artifacts
    from prover.offline.prove_account import prove_account
    from zkmargin.cli.head_start import head_start

    resolve_prover(prover_backend_flag)  # a bad settings file is refused before any compile
    head = head_start(market_path, ptau, batch, no_worker, prover_backend_flag)
    try:
        mf = load_market(market_path)
        market = mf.market
        risk = load_params(params_path).resolve(market.asset_names, market.profile, mf.calibrated_rho)
        accounts = load_accounts(account_path, market)
        if batch:
            _prove_batch(
                market, risk, accounts, select, accounts_epoch, out, ptau, prover_backend_flag, as_json, head
            )
            return
        chosen = select_account(accounts, select)
        artifacts = head.artifacts_for(market) if head is not None else None
        if artifacts is None:
            artifacts = prepare_artifacts(market.profile.name, ptau=ptau, console=err_console, notify=_notify)
        started = time.perf_counter()
        backend = resolve_prover(prover_backend_flag)
        if head is not None:
            head.warm.wait()
        worker = head.warm.worker if head is not None else None
        with Prover(use_worker=not no_worker, worker=worker, notify=_notify, backend=backend) as prover:
            proved = prove_account(market, risk, chosen.account, artifacts, prover)
        seconds = time.perf_counter() - started
    finally:
        if head is not None:
            head.stop()
    proved.bundle.save(out)
    bundle = proved.bundle
    if as_json:
        report = _outputs_json(bundle) | {
            "out": str(out),
            "account": chosen.label,
            "backend": proved.proof.backend,
            "witness_seconds": round(proved.proof.witness_seconds, 3),
            "prove_seconds": round(proved.proof.prove_seconds, 3),
            "total_seconds": round(seconds, 3),
        }
        click.echo(json.dumps(report, indent=2))
        return
    console.print(
        f"[bold green]proved[/bold green] {chosen.display_name}: "
        f"{proof_outputs_text(bundle.status, bundle.shortfall, bundle.market_epoch)} "
        f"({proved.proof.backend}, {seconds:.1f} s) -> {out}"
    )


def _prove_batch(
    market: Market,
    risk: RiskParams,
    accounts: list[LabeledAccount],
    select: str | None,
    accounts_epoch: int,
    out: Path,
    ptau: Path | None,
    prover_backend_flag: str | None,
    as_json: bool,
    head: HeadStart | None,
) -> None:
    """`zkmargin prove --batch`: the selected accounts in one batch proof bundle."""
    from engine.accounts_tree import AccountsTree
    from engine.errors import InputError
    from engine.pipeline import check_unique_ids, select_account
    from prover.backends.prove import Prover
    from prover.keys.artifacts import prepare_artifacts
    from prover.statements.batch_bundle import BatchBundle
    from prover.statements.prove_batch import prove_batch
    from prover.toolchain.build import batch_spec

    if not select:
        raise InputError(
            "--select", "with --batch, name the accounts to prove (comma-separated labels or ids)"
        )
    check_unique_ids(accounts)
    chosen = [select_account(accounts, name.strip()) for name in select.split(",")]
    profile = market.profile
    if len(chosen) > profile.batch_size:
        raise InputError(
            "--select",
            f"names {len(chosen)} accounts; a batch of profile {profile.name} holds at most {profile.batch_size}",
        )
    if len({c.account.account_id for c in chosen}) != len(chosen):
        raise InputError("--select", "names an account twice")
    tree = AccountsTree.of_accounts([a.account for a in accounts], depth=profile.accounts_depth)
    artifacts = head.artifacts_for(market) if head is not None else None
    if artifacts is None:
        artifacts = prepare_artifacts(batch_spec(profile), ptau=ptau, console=err_console, notify=_notify)
    started = time.perf_counter()
    backend = resolve_prover(prover_backend_flag)
    if head is not None:
        head.warm.wait()
    worker = head.warm.worker if head is not None else None
    with Prover(worker=worker, notify=_notify, backend=backend) as prover:
        proved = prove_batch(market, risk, [c.account for c in chosen], tree, artifacts, prover)
    seconds = time.perf_counter() - started
    paths = {e.account_id: tree.path(e.account_id) for e in proved.entries}
    bundle = BatchBundle.of(proved, paths, accounts_epoch=accounts_epoch)
    bundle.save(out)
    if as_json:
        report = {"out": str(out)} | _batch_json(bundle)
        report |= {"backend": proved.proof.backend, "total_seconds": round(seconds, 3)}
        click.echo(json.dumps(report, indent=2))
        return
    console.print(
        f"[bold green]proved[/bold green] {len(bundle.entries)} account(s) in one batch proof "
        f"(K = {bundle.batch_size}, {proved.proof.backend}, {seconds:.1f} s) -> {out}"
    )
    _print_entries(bundle)


def _batch_json(bundle: BatchBundle) -> dict[str, Any]:
    """A batch proof bundle's statement, for --json."""
    return {
        "profile": bundle.profile,
        "batch_size": bundle.batch_size,
        "accounts_root": str(bundle.accounts_root),
        "market_root": str(bundle.market_root),
        "params_hash": str(bundle.params_hash),
        "market_epoch": bundle.market_epoch,
        "entries": [
            {
                "account_id": e.account_id,
                "status": e.status,
                "status_name": Status.label_of(e.status),
                "shortfall": e.shortfall,
            }
            for e in bundle.entries
        ],
    }


def _print_entries(bundle: BatchBundle) -> None:
    for e in bundle.entries:
        console.print(
            f"  account {e.account_id}: {proof_outputs_text(e.status, e.shortfall, bundle.market_epoch)}"
        )


def _report_batch(
    bundle: BatchBundle, ok: bool, reason: str, source: str, seconds: float, as_json: bool
) -> None:
    """`zkmargin verify` of a batch proof bundle: its entries, the verdict."""
    if as_json:
        report = {"valid": ok, "reason": reason} | _batch_json(bundle)
        report |= {"vkey": source, "verify_seconds": round(seconds, 3)}
        click.echo(json.dumps(report, indent=2))
    if not ok:
        raise CheckFailed(f"proof INVALID: {reason}")
    if not as_json:
        console.print(
            f"[bold green]batch proof valid[/bold green]: {len(bundle.entries)} account(s), epoch "
            f"{bundle.market_epoch} ({seconds:.2f} s)"
        )
        _print_entries(bundle)


def _outputs_json(bundle: ProofBundle) -> dict[str, Any]:
    return {
        "profile": bundle.profile,
        "status": bundle.status,
        "status_name": Status.label_of(bundle.status),
        "shortfall": bundle.shortfall,
        "market_epoch": bundle.market_epoch,
    }


def vkey_for(bundle: ProofBundle | BatchBundle, vkey_path: Path | None) -> tuple[dict[str, Any], str]:
    """The verification key: ``--vkey``, else the cached key the bundle names by digest."""
    from engine.profiles import PROFILES
    from prover.keys.artifacts import find_setup_by_vkey
    from prover.keys.vkey import load_vkey
    from prover.statements.batch_bundle import BatchBundle

    if vkey_path is not None:
        return load_vkey(vkey_path), str(vkey_path)
    keys = find_setup_by_vkey(bundle.vkey_sha256)
    if keys is not None:
        return load_vkey(keys.vkey), str(keys.vkey)
    circuit = "" if isinstance(bundle, BatchBundle) else " --circuit margin"
    hint = (
        f"run zkmargin setup --profile {bundle.profile}{circuit}, or pass --vkey"
        if bundle.profile in PROFILES
        else "pass --vkey"
    )
    raise CliError(f"no cached verification key with sha256 {bundle.vkey_sha256[:16]}…: {hint}")


@click.command("verify")
@click.argument("bundle_path", metavar="BUNDLE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--vkey",
    "vkey_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="verification key JSON (default: the cached key the bundle names)",
)
@json_option
def verify_cmd(bundle_path: Path, vkey_path: Path | None, as_json: bool) -> None:
    """Verify a proof bundle in pure Python (py_ecc).

    A one-account bundle or a batch proof bundle (by its format). Exit 1 if the proof is
    not valid.

    \b
    Example:
      zkmargin verify carol-proof.json --vkey verification_key.json
    """
    from prover.keys.artifacts import profile_of_key
    from prover.keys.vkey import vkey_sha256
    from prover.offline.bundle import load_any_bundle
    from prover.statements.batch_bundle import BatchBundle
    from prover.verification.verify_py import verify_groth16

    bundle = load_any_bundle(bundle_path)
    vkey, source = vkey_for(bundle, vkey_path)
    digest = vkey_sha256(vkey)
    if digest != bundle.vkey_sha256:
        raise CliError(
            f"the bundle was made for verification key {bundle.vkey_sha256[:16]}…, {source} is {digest[:16]}…"
        )
    key_profile = profile_of_key(digest)
    if key_profile is not None and key_profile != bundle.profile:
        raise CheckFailed(
            f"the bundle says profile {bundle.profile!r}, but its verification key is the {key_profile!r} circuit's"
        )
    started = time.perf_counter()
    result = verify_groth16(vkey, bundle.public_signals, bundle.proof)
    seconds = time.perf_counter() - started
    if isinstance(bundle, BatchBundle):
        _report_batch(bundle, result.ok, result.reason, source, seconds, as_json)
        return
    if as_json:
        report = (
            {"valid": result.ok, "reason": result.reason}
            | _outputs_json(bundle)
            | {
                "commitment": str(bundle.commitment),
                "market_root": str(bundle.market_root),
                "params_hash": str(bundle.params_hash),
                "vkey": source,
                "vkey_profile": key_profile,
                "verify_seconds": round(seconds, 3),
            }
        )
        click.echo(json.dumps(report, indent=2))
    if not result.ok:
        raise CheckFailed(f"proof INVALID: {result.reason}")
    if not as_json:
        console.print(
            f"[bold green]proof valid[/bold green]: "
            f"{proof_outputs_text(bundle.status, bundle.shortfall, bundle.market_epoch)} ({seconds:.2f} s)"
        )

"""``zkmargin audit``: a user checks their own margin proof.

Offline by default (pure Python: no node, no chain). With ``--rpc`` (and the gate's
address, or a deployment file) it also checks the chain: the account's commitment,
the posted market root and the parameters hash. ``--proof`` may also be a batch proof
bundle (``zkmargin/batch-proof@1``, one proof of several accounts): then the account's
leaf and path in the accounts tree and its entry in the batch are checked, and on chain
the BatchGate's accounts root, market, parameters and record.

Exit codes: 0 every check passed; 1 a check failed (the table says which);
2 bad input (a file that does not parse or breaks a bound).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from engine.errors import CheckFailed
from zkmargin.cli.options import IN_FILE as _IN
from zkmargin.cli.render import CliError, console, print_checks, print_explanation

if TYPE_CHECKING:
    from engine.model import Account
    from prover.offline.bundle import ProofBundle
    from prover.statements.batch_bundle import BatchBundle
    from zkmargin.audit import Check


class _AuditGroup(click.Group):
    """``zkmargin audit [files] --account ...`` audits files; ``zkmargin audit web`` serves the page.

    Without a subcommand name the arguments go to ``files``, so the audit keeps its short form.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["files", *args]
        return super().parse_args(ctx, args)


@click.group("audit", cls=_AuditGroup, context_settings={"help_option_names": ["-h", "--help"]})
def audit_cmd() -> None:
    """Audit your own margin proof, offline and (with --rpc) on chain.

    `zkmargin audit --account ...` (the same as `zkmargin audit files ...`) audits your
    files here; `zkmargin audit web` serves the same audit as a page for your browser,
    which needs nothing installed and keeps your files on your device.

    \b
    Example:
      zkmargin audit --account account.json --market market.json --params params.json \\
        --proof proof.json --vkey vkey.json
      zkmargin audit web --port 8080
    """


@audit_cmd.command("files")
@click.option(
    "--account", "account_path", type=_IN, required=True, help="your account file (with salt and nonce)"
)
@click.option("--select", default=None, help="label or account id when the file holds several accounts")
@click.option("--market", "market_path", type=_IN, required=True, help="the published market file")
@click.option("--params", "params_path", type=_IN, required=True, help="the published risk parameters")
@click.option(
    "--proof",
    "proof_path",
    type=_IN,
    required=True,
    help="the proof (or batch proof) bundle naming your account",
)
@click.option("--vkey", "vkey_path", type=_IN, default=None, help="the published verification key JSON")
@click.option(
    "--accounts-tree",
    "tree_path",
    type=_IN,
    default=None,
    help="with a batch proof: the operator's published accounts-tree file (each id once)",
)
@click.option("--rpc", default=None, help="RPC URL of the chain, to check the gate too")
@click.option("--gate", "gate_address", default=None, help="the gate's address (with --rpc)")
@click.option(
    "--deployment",
    "deployment_path",
    type=_IN,
    default=None,
    help="deployment file naming the gate (with --rpc)",
)
@click.option("--json", "as_json", is_flag=True, help="print the audit as JSON")
def audit_files_cmd(
    account_path: Path,
    select: str | None,
    market_path: Path,
    params_path: Path,
    proof_path: Path,
    vkey_path: Path | None,
    tree_path: Path | None,
    rpc: str | None,
    gate_address: str | None,
    deployment_path: Path | None,
    as_json: bool,
) -> None:
    """Audit your files here: offline and (with --rpc) on chain (the default of `audit`).

    Checks the commitment, market, parameters, margin and Groth16 proof (and, with
    --rpc, the on-chain state); shows your margin, its parts and liquidation prices.

    The proof is checked with py_ecc's reference pairing and the fast pairing; both must agree.

    \b
    Example:
      zkmargin audit --account account.json --market market.json --params params.json \\
        --proof proof.json --vkey verification_key.json
    """
    from engine.formats import dumps, load_accounts, load_accounts_tree, load_market, load_params
    from engine.pipeline import explain_account, select_account
    from prover.offline.bundle import load_any_bundle
    from prover.statements.batch_bundle import BatchBundle
    from zkmargin.audit import audit_batch_offline, audit_offline
    from zkmargin.cli.prover import vkey_for

    if gate_address is not None:
        _check_gate_address(gate_address)
    mf = load_market(market_path)
    params = load_params(params_path).resolve(mf.market.asset_names, mf.market.profile, mf.calibrated_rho)
    labeled = select_account(load_accounts(account_path, mf.market), select)
    account = labeled.account
    bundle = load_any_bundle(proof_path)
    vkey, _ = vkey_for(bundle, vkey_path)
    if isinstance(bundle, BatchBundle):
        published = load_accounts_tree(tree_path) if tree_path is not None else None
        report = audit_batch_offline(account, mf.market, params, bundle, vkey, published=published)
    else:
        if tree_path is not None:
            raise CliError("--accounts-tree goes with a batch proof bundle (zkmargin/batch-proof@1)")
        report = audit_offline(account, mf.market, params, bundle, vkey)
    checks: list[Check] = list(report.checks)
    if rpc is not None:
        checks.extend(_chain_checks(rpc, gate_address, deployment_path, account, bundle))
    elif gate_address is not None or deployment_path is not None:
        raise CliError("--gate and --deployment need --rpc (the chain to read them from)")
    ok = all(c.ok for c in checks)
    explanation = explain_account(mf, params, labeled, [])
    if as_json:
        doc = report.to_dict() | {
            "ok": ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
            "explanation": explanation,
        }
        click.echo(dumps(doc), nl=False)
    else:
        print_checks(f"audit of {escape(labeled.display_name)}", checks)
        print_explanation(explanation)
        verdict = "[green]audit passed[/green]" if ok else "[bold red]audit FAILED[/bold red]"
        console.print(verdict)
    if not ok:
        failed = ", ".join(c.name for c in checks if not c.ok)
        raise CheckFailed(f"audit failed: {failed}")


def _chain_checks(
    rpc: str,
    gate_address: str | None,
    deployment_path: Path | None,
    account: Account,
    bundle: ProofBundle | BatchBundle,
) -> list[Check]:
    from prover.statements.batch_bundle import BatchBundle
    from verifier_contracts.chain import ChainError, from_rpc
    from verifier_contracts.deployment import DeploymentError, load_deployment, open_gate
    from zkmargin.audit import audit_batch_onchain

    if not isinstance(bundle, BatchBundle):
        raise CliError(
            "--rpc: a single-account proof (zkmargin/proof@1) is never on chain: the gate takes batch "
            "proofs; audit on chain the batch proof that names you (zkmargin/batch-proof@1)"
        )
    if gate_address is None and deployment_path is None:
        raise CliError("with --rpc, name the gate: --gate ADDRESS or --deployment FILE")
    try:
        if gate_address is None:
            assert deployment_path is not None
            gate_address = load_deployment(deployment_path).gate
        gate = open_gate(from_rpc(rpc), gate_address)
    except (ChainError, DeploymentError) as exc:
        raise CliError(str(exc)) from None
    return list(audit_batch_onchain(gate, account.account_id, bundle))


def _check_gate_address(address: str) -> None:
    from verifier_contracts.deployment import DeploymentError, check_address

    try:
        check_address("--gate", address)
    except DeploymentError as exc:
        raise CliError(str(exc)) from None


@audit_cmd.command("web")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="port on 127.0.0.1"
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="build the site into this folder (to host it) instead of serving it",
)
def audit_web_cmd(port: int, out_dir: Path | None) -> None:
    """Serve the browser audit on 127.0.0.1, or build it into a folder.

    The page runs the whole audit in the browser, offline: the checks of `zkmargin audit`
    (key, commitment or accounts tree, market root, params hash, margin recomputed exactly,
    Groth16 proof with snarkjs) and, given an RPC URL and the gate, the chain. Files are read
    from your device or from URLs you type; nothing is uploaded. Stop with Ctrl-C.

    \b
    Example:
      zkmargin audit web --port 8080
      zkmargin audit web --out public/audit
    """
    from zkmargin.web_audit import SiteServer, build_site

    if out_dir is not None:
        site = build_site(out_dir)
        console.print(f"built the audit page into {escape(str(site))} (serve the folder as static files)")
        return
    import signal

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops it as Ctrl-C does (SIGINT may be ignored in the background)

    site = build_site()
    server = SiteServer(site, port)
    signal.signal(signal.SIGTERM, _stop)
    console.print(
        f"the audit page: {server.url}  (serving {escape(str(site))}; Ctrl-C stops)", soft_wrap=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()

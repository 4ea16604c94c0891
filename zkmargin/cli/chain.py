"""zkmargin CLI commands: ``zkmargin chain ...`` drives the on-chain gate.

    zkmargin chain [--rpc URL | --chain embedded|anvil] [--deployment FILE] COMMAND

Commands: ``node``, ``deploy``, ``post-market``, ``set-params``, ``post-accounts``,
``attest``, ``liquidate``, ``close-liquidation``, ``status``. The gate is a ``BatchGate``
(docs/batching.md): proofs name up to K accounts of the posted accounts tree. Every command but ``deploy`` and ``node``
reads the deployment file that ``deploy`` writes, and by default connects to the RPC URL
recorded there (``$ZKMARGIN_RPC`` or ``zkmargin.toml`` override it; see
:func:`zkmargin.cli.options.chain_target`).

``--chain embedded|anvil`` asks for a throwaway chain that ends with the command (a dry
run of ``deploy``). A sequence of commands needs a node that outlives them: run
``zkmargin chain node`` (anvil on 127.0.0.1:8545) and deploy with
``--rpc http://127.0.0.1:8545``; later commands find the node in the deployment file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.fixedpoint import FIELD_P
from engine.money import money
from engine.status import Status
from verifier_contracts.constants import DEFAULT_MAX_MARKET_AGE
from zkmargin.cli.options import (
    IN_FILE,
    SECONDS_UINT64,
    THROWAWAY_CHAINS,
    UINT64,
    BoundedInt,
    chain_option,
    chain_target,
    rpc_option,
)
from zkmargin.cli.render import CliError, console, err_console
from zkmargin.settings import load_settings

if TYPE_CHECKING:
    from verifier_contracts.batch_gate import BatchCall, BatchGate
    from verifier_contracts.chain import Chain
    from verifier_contracts.deployment import Deployment
    from verifier_contracts.gate import TxResult

EPHEMERAL_NOTE = (
    "note: the {kind} chain ends with this command; for commands in separate processes run "
    "`zkmargin chain node` and deploy with --rpc http://127.0.0.1:8545"
)


#: Roots, hashes and commitments: non-zero BN254 scalar-field elements.
FIELD_INT = BoundedInt(1, FIELD_P, "0 < x < r (the BN254 scalar field)")


@dataclass(frozen=True)
class ChainOptions:
    """The group's options: where to connect and which deployment file to use."""

    chain_kind: str | None
    rpc: str | None
    deployment_file: Path

    def target(self, deployment: Deployment | None) -> str:
        recorded = (deployment.rpc_url, deployment.chain) if deployment is not None else (None, None)
        return chain_target(self.chain_kind, self.rpc, *recorded)


@contextmanager
def _session(opts: ChainOptions) -> Iterator[tuple[Chain, Deployment, BatchGate]]:
    """Connect and open the deployed gate, checking it exists on this chain."""
    from verifier_contracts.chain import connect
    from verifier_contracts.deployment import NoGate, load_deployment, open_gate

    deployment = load_deployment(opts.deployment_file)
    with connect(opts.target(deployment)) as chain:
        try:
            gate = open_gate(chain, deployment)
        except NoGate as exc:
            raise CliError(
                f"{exc}: run `zkmargin chain node` and `zkmargin chain --rpc http://127.0.0.1:8545 deploy`"
            ) from None
        yield chain, deployment, gate


def _report(action: str, result: TxResult) -> None:
    console.print(f"[green]{action}[/green] (block {result.block_number}, gas {result.gas_used:,})")
    for name, args in result.events:
        shown = ", ".join(f"{k}={v}" for k, v in args.items())
        console.print(f"  event {name}({shown})", markup=False, highlight=False, soft_wrap=True)


def _read_batch_bundle(path: Path) -> BatchCall:
    """A batch proof bundle (zkmargin/batch-proof@1), every field checked as `zkmargin
    verify` checks it, as the gate's call arguments."""
    from prover.statements.batch_bundle import BatchBundle
    from verifier_contracts.batch_gate import batch_calldata

    bundle = BatchBundle.load(path)
    return batch_calldata(bundle.proof, bundle.public_signals)


def _verifier_source(verifier_sol: Path | None, profile: str | None) -> str:
    if verifier_sol is None and profile is None:
        raise CliError("pass --verifier-sol PATH or --profile NAME (after `zkmargin setup --profile NAME`)")
    if verifier_sol is None:
        from engine.profiles import get_profile  # the prover's cache, only when asked for
        from prover.keys.artifacts import find_artifacts
        from prover.toolchain.build import batch_spec

        artifacts = find_artifacts(batch_spec(get_profile(str(profile))))
        if artifacts is None or artifacts.setup is None:
            raise CliError(
                f"no keys for the batch circuit of profile {profile!r}: "
                f"run `zkmargin setup --profile {profile} --circuit batch`"
            )
        verifier_sol = artifacts.verifier_sol
    try:
        return verifier_sol.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read verifier source {verifier_sol}: {exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"--verifier-sol {verifier_sol}: not UTF-8 text (a Solidity source)") from None


def _status_json(gate: BatchGate, ids: tuple[int, ...]) -> dict[str, Any]:
    market = gate.latest_market()
    root, epoch = gate.accounts_root()
    accounts = {}
    for account in ids:
        st = gate.status_of(account)
        proven = st.proven_at != 0
        accounts[str(account)] = {
            "proven": proven,
            "status": st.status,
            "status_name": Status.label_of(st.status) if proven else None,
            "shortfall": str(st.shortfall),
            "proven_epoch": st.proven_epoch,
            "proven_at": st.proven_at,
            "accounts_epoch": st.accounts_epoch,
            "current": st.current,
            "liquidation_open": st.liquidation_open,
            "liquidatable_now": gate.is_liquidatable(account),
        }
    return {
        "gate": gate.address,
        "verifier": gate.verifier(),
        "batch_size": gate.batch_size(),
        "market": {
            "root": str(market.root),
            "epoch": market.epoch,
            "posted_at": market.posted_at,
            "fresh": market.fresh,
            "expires_at": market.expires_at,
            "max_age": gate.max_market_age(),
        },
        "accounts_root": {"root": str(root), "epoch": epoch},
        "params_hash": str(gate.params_hash()),
        "roles": gate.role_holders(),
        "accounts": accounts,
    }


@click.group("chain")
@rpc_option
@chain_option
@click.option(
    "--deployment",
    "deployment_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="deployment file written by `deploy` (default: $ZKMARGIN_DEPLOYMENT, zkmargin.toml, deployment.json)",
)
@click.pass_context
def chain_group(
    ctx: click.Context, rpc: str | None, chain_kind: str | None, deployment_file: Path | None
) -> None:
    """The on-chain gate: deploy, post, attest, liquidate, status.

    Commands after `deploy` connect to the node recorded in the deployment file.

    \b
    Example:
      zkmargin chain node &                      # anvil on 127.0.0.1:8545
      zkmargin chain --rpc http://127.0.0.1:8545 deploy --profile demo
      zkmargin chain status --id 1001
    """
    path = load_settings().get("chain.deployment", deployment_file)
    ctx.obj = ChainOptions(chain_kind=chain_kind, rpc=rpc, deployment_file=Path(path))


@chain_group.command("node")
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@click.option(
    "--block-time",
    type=click.IntRange(0, 3600),
    default=1,
    show_default=True,
    help="seconds between blocks (0: a block only per transaction); the keeper counts confirmations in blocks",
)
def node_command(port: int, block_time: int) -> None:
    """Run anvil (from node_modules) on 127.0.0.1:PORT in the foreground until Ctrl-C.

    \b
    Example:
      zkmargin chain node --port 8545
    """
    from verifier_contracts.chain import anvil_command

    cmd = anvil_command(port) + (["--block-time", str(block_time)] if block_time else [])
    err_console.print(f"anvil on http://127.0.0.1:{port} (Ctrl-C stops it)")
    os.execv(cmd[0], cmd)


@chain_group.command("deploy")
@click.option("--verifier-sol", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--profile", help="use the batch circuit's verifier from `zkmargin setup --profile NAME`")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1024),
    default=None,
    help="K of the verifier's circuit (default: the profile's; needed with --verifier-sol)",
)
@click.option(
    "--max-market-age",
    type=SECONDS_UINT64,
    default=DEFAULT_MAX_MARKET_AGE,
    show_default=True,
    help="seconds a posted market stays fresh (1 <= x < 2**64)",
)
@click.pass_obj
def deploy_command(
    opts: ChainOptions,
    verifier_sol: Path | None,
    profile: str | None,
    batch_size: int | None,
    max_market_age: int,
) -> None:
    """Deploy the Groth16 verifier and a BatchGate; write the deployment file.

    Needs --rpc URL (or $ZKMARGIN_RPC), or --chain embedded|anvil for a dry run.

    \b
    Example:
      zkmargin chain --rpc http://127.0.0.1:8545 deploy --profile demo
    """
    from engine.profiles import get_profile
    from verifier_contracts.batch_gate import BatchGate
    from verifier_contracts.chain import connect
    from verifier_contracts.deployment import Deployment, save_deployment
    from verifier_contracts.gate import deploy_verifier

    if batch_size is None:
        if profile is None:
            raise CliError("--verifier-sol needs --batch-size K (the K of its batch circuit)")
        batch_size = get_profile(profile).batch_size
    _check_writable(opts.deployment_file)  # every option before the first transaction
    source = _verifier_source(verifier_sol, profile)
    with connect(opts.target(None)) as chain:
        verifier, v_result = deploy_verifier(chain, source)
        gate, g_result = BatchGate.deploy(chain, verifier, batch_size, max_market_age=max_market_age)
        deployment = Deployment(
            chain_id=chain.w3.eth.chain_id,
            chain=chain.kind,
            gate=gate.address,
            verifier=verifier,
            block_number=g_result.block_number,
            max_market_age=max_market_age,
            rpc_url=chain.rpc_url if chain.kind not in THROWAWAY_CHAINS else None,
            profile=profile,
            roles=chain.roles.as_dict(),
            block_hash="0x" + bytes(chain.w3.eth.get_block(g_result.block_number)["hash"]).hex(),
        )
        path = save_deployment(deployment, opts.deployment_file)
    console.print(f"[green]verifier[/green] {verifier} (gas {v_result.gas_used:,})")
    console.print(
        f"[green]gate[/green]     {gate.address} (batches of {batch_size}; gas {g_result.gas_used:,})"
    )
    console.print(f"deployment written to {path}")
    if chain.kind in THROWAWAY_CHAINS:
        err_console.print(EPHEMERAL_NOTE.format(kind=chain.kind))


def _check_writable(path: Path) -> None:
    """The deployment file can be written where --deployment says (checked before a deploy
    spends any gas: afterwards, a gate without its file is lost to the later commands)."""
    folder = path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(f"--deployment {path}: cannot write there ({folder} is not a writable folder)")


@chain_group.command("post-market")
@click.option("--root", type=FIELD_INT, required=True, help="market root (decimal or 0x-hex)")
@click.option("--epoch", type=UINT64, required=True, help="strictly greater than the latest epoch")
@click.pass_obj
def post_market_command(opts: ChainOptions, root: int, epoch: int) -> None:
    """Oracle: post a market root for a new epoch.

    \b
    Example:
      zkmargin chain post-market --root 0x1a2b... --epoch 8
    """
    with _session(opts) as (_, _, gate):
        _report(f"market epoch {epoch} posted", gate.post_market(root, epoch))


@chain_group.command("set-params")
@click.option("--params-hash", type=FIELD_INT, default=None, help="the hash itself (decimal or 0x-hex)")
@click.option(
    "--params", "params_path", type=IN_FILE, default=None, help="params file (zkmargin/params@2, ZKPM-2)"
)
@click.option(
    "--market", "market_path", type=IN_FILE, default=None, help="with --params: the market it is resolved for"
)
@click.pass_obj
def set_params_command(
    opts: ChainOptions, params_hash: int | None, params_path: Path | None, market_path: Path | None
) -> None:
    """Governance: set the risk-parameters hash, given or computed from a params file.

    The hash covers the parameters resolved for a market (its assets, profile and
    calibrated correlation), so --params needs --market.

    \b
    Example:
      zkmargin chain set-params --params examples/params.json --market market.json
    """
    if (params_hash is None) == (params_path is None):
        raise click.UsageError("pass exactly one of --params-hash and --params FILE")
    if params_path is not None:
        if market_path is None:
            raise click.UsageError("--params needs --market (the parameters are resolved for a market)")
        from engine.commitments import params_hash as hash_params
        from engine.formats import load_market, load_params

        mf = load_market(market_path)
        risk = load_params(params_path).resolve(mf.market.asset_names, mf.market.profile, mf.calibrated_rho)
        params_hash = hash_params(risk)
    assert params_hash is not None
    with _session(opts) as (_, _, gate):
        _report(f"params set to {params_hash}", gate.set_params(params_hash))


@chain_group.command("post-accounts")
@click.option(
    "--accounts", "accounts_path", type=IN_FILE, required=True, help="accounts file (zkmargin/accounts@1)"
)
@click.option(
    "--market",
    "market_path",
    type=IN_FILE,
    required=True,
    help="a market file of the profile (its instruments)",
)
@click.option(
    "--tree-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("accounts-tree.json"),
    show_default=True,
    help="where the published accounts tree is written (before the root is posted)",
)
@click.pass_obj
def post_accounts_command(opts: ChainOptions, accounts_path: Path, market_path: Path, tree_out: Path) -> None:
    """Operator: post the accounts root of an accounts file (one transaction for all).

    The accounts tree (docs/margin-model.md section 5) is written to --tree-out first: the
    operator publishes it, so that users can check their leaf and that no id is in it
    twice. The root is posted under the next accounts epoch; nothing is sent if the gate
    already has it.

    \b
    Example:
      zkmargin chain post-accounts --accounts accounts.json --market market.json
    """
    from engine.accounts_tree import AccountsTree
    from engine.fileio import write_json_atomic
    from engine.formats import dump_accounts_tree, load_accounts, load_market
    from engine.pipeline import check_unique_ids

    market = load_market(market_path).market
    accounts = load_accounts(accounts_path, market)
    check_unique_ids(accounts)
    tree = AccountsTree.of_accounts([a.account for a in accounts], depth=market.profile.accounts_depth)
    with _session(opts) as (_, _, gate):
        root, epoch = gate.accounts_root()
        write_json_atomic(tree_out, dump_accounts_tree(tree))
        if root == tree.root:
            console.print(
                f"the gate already has this accounts root (epoch {epoch}); tree written to {tree_out}"
            )
            return
        _report(
            f"accounts root of {len(accounts)} account(s) posted as accounts epoch {epoch + 1} "
            f"(tree written to {tree_out})",
            gate.post_accounts(tree.root, epoch + 1),
        )


@chain_group.command("attest")
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.pass_obj
def attest_command(opts: ChainOptions, bundle: Path) -> None:
    """Verify a batch proof bundle on chain and record each of its accounts' status.

    \b
    Example:
      zkmargin chain attest --bundle batch-proof.json
    """
    call = _read_batch_bundle(bundle)
    with _session(opts) as (_, _, gate):
        _report(f"{len(call.entries)} account(s) attested", gate.attest_batch(call))


@chain_group.command("liquidate")
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.pass_obj
def liquidate_command(opts: ChainOptions, bundle: Path) -> None:
    """Open a liquidation case for each account of status 2 or 3 in a batch proof bundle.

    \b
    Example:
      zkmargin chain liquidate --bundle batch-proof.json
    """
    from verifier_contracts.batch_gate import opened_ids, skipped_ids

    call = _read_batch_bundle(bundle)
    with _session(opts) as (_, _, gate):
        tx = gate.liquidate_batch(call)
        _report(f"{len(opened_ids(tx))} liquidation case(s) opened, {len(skipped_ids(tx))} skipped", tx)


@chain_group.command("close-liquidation")
@click.option("--id", "account", type=UINT64, required=True)
@click.pass_obj
def close_liquidation_command(opts: ChainOptions, account: int) -> None:
    """Operator: close an open liquidation case.

    \b
    Example:
      zkmargin chain close-liquidation --id 1003
    """
    with _session(opts) as (_, _, gate):
        _report(f"liquidation closed for account {account}", gate.close_liquidation(account))


@chain_group.command("status")
@click.option("--id", "ids", type=UINT64, multiple=True, help="account ids to show (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def status_command(opts: ChainOptions, ids: tuple[int, ...], as_json: bool) -> None:
    """Show the latest market, accounts root, params, roles and the given accounts' records.

    \b
    Example:
      zkmargin chain status --id 1003 --id 1004
    """
    with _session(opts) as (_, _, gate):
        summary = _status_json(gate, ids)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    market = summary["market"]
    console.print(f"[bold]gate[/bold] {summary['gate']} (verifier {summary['verifier']})")
    console.print(
        f"market epoch {market['epoch']} root {market['root']} "
        f"({'fresh' if market['fresh'] else 'STALE'} until {market['expires_at']}; "
        f"the max age for new markets {market['max_age']} s)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"params {summary['params_hash']}", markup=False, highlight=False, soft_wrap=True)
    accounts = summary["accounts_root"]
    console.print(
        f"accounts epoch {accounts['epoch']} root {accounts['root']}; batches of {summary['batch_size']}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    for account, st in summary["accounts"].items():
        proven = (
            f"{st['status_name']} (epoch {st['proven_epoch']}, accounts epoch {st['accounts_epoch']}"
            f"{'' if st['current'] else ', not current'}, shortfall {money(int(st['shortfall']))})"
        )
        line = f"account {account}: {proven if st['proven'] else 'not proven'}"
        if st["liquidation_open"]:
            line += ", liquidation open"
        elif st["liquidatable_now"]:
            line += ", liquidatable now"
        console.print(line, markup=False, highlight=False, soft_wrap=True)

"""Option and argument types shared by the CLI's command groups."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.profiles import PROFILES
from verifier_contracts.constants import THROWAWAY_CHAINS  # --chain: a chain that ends with the command

FC = TypeVar("FC", bound=Callable[..., Any])

#: An existing input file.
IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
#: A file to write (its folder is created).
OUT_FILE = click.Path(dir_okay=False, writable=True, path_type=Path)

json_option = click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")


def profile_option(default: str = "test") -> Callable[[FC], FC]:
    """``--profile`` naming one of the circuit profiles of :mod:`engine.profiles`."""
    return click.option(
        "--profile",
        type=click.Choice(sorted(PROFILES)),
        default=default,
        show_default=True,
        help="circuit profile (A assets, k slots, tree depth d)",
    )


#: ``--prover``: which Groth16 prover makes the proofs (``prover.backends.choice``).
PROVER_CHOICES = ("auto", "arkworks", "rapidsnark", "snarkjs")  # prover.backends.BACKENDS

prover_option = click.option(
    "--prover",
    "prover_backend_flag",
    type=click.Choice(PROVER_CHOICES),
    default=None,
    help="Groth16 prover: arkworks (native), rapidsnark (helper), snarkjs, or auto (the fastest built) "
    "[default: $ZKMARGIN_PROVER, [prover] backend, else auto]",
)


def prover_backend(flag: str | None) -> str:
    """``--prover``, else $ZKMARGIN_PROVER, else the settings file, else ``auto``."""
    from zkmargin.settings import load_settings

    value = str(load_settings().get("prover.backend", flag))
    if value not in PROVER_CHOICES:
        raise click.BadParameter(
            f"{value!r} is not one of {', '.join(PROVER_CHOICES)}", param_hint="--prover"
        )
    return value


# ---------------------------------------------------------------------- chains


chain_option = click.option(
    "--chain",
    "chain_kind",
    type=click.Choice(THROWAWAY_CHAINS),
    default=None,
    help="a throwaway chain that ends with this command: embedded py-evm or a fresh anvil",
)
rpc_option = click.option(
    "--rpc",
    metavar="URL",
    default=None,
    help="a running node (default: $ZKMARGIN_RPC, zkmargin.toml, then the deployment file's URL)",
)


def chain_target(
    chain_kind: str | None, rpc: str | None, recorded_rpc: str | None, recorded_kind: str | None = None
) -> str:
    """Where a command connects, the same rule in every command:

    ``--rpc URL`` > ``--chain embedded|anvil`` > ``$ZKMARGIN_RPC`` / ``zkmargin.toml`` >
    the RPC URL recorded in the deployment file. A deployment made on a throwaway chain
    records none: that chain is gone.
    """
    from zkmargin.cli.render import CliError
    from zkmargin.settings import load_settings

    if chain_kind is not None and rpc is not None:
        raise click.UsageError("pass --chain or --rpc, not both")
    if rpc is not None:
        return rpc
    if chain_kind is not None:
        return chain_kind
    configured = load_settings().get("chain.rpc")
    if configured:
        return str(configured)
    if recorded_rpc:
        return recorded_rpc
    if recorded_kind in THROWAWAY_CHAINS:
        raise CliError(
            f"the deployment file's gate was deployed on a throwaway {recorded_kind} chain that lived only "
            "inside the deploying process: run `zkmargin chain node` and "
            "`zkmargin chain --rpc http://127.0.0.1:8545 deploy`, then the other commands find that node"
        )
    raise CliError(
        "no chain given: pass --rpc URL (or set ZKMARGIN_RPC), "
        "or --chain embedded|anvil for a throwaway chain that ends with this command"
    )

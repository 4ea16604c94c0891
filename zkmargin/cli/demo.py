"""zkmargin CLI command: ``demo``."""

from __future__ import annotations

from pathlib import Path

import click

from engine.errors import CheckFailed
from zkmargin.cli.options import chain_option, profile_option, prover_backend, prover_option, rpc_option
from zkmargin.cli.render import console


@click.command("demo")
@profile_option(default="demo")
@chain_option
@rpc_option
@click.option(
    "--accounts", default=24, show_default=True, type=click.IntRange(8, 500), help="Accounts to generate."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/demo"),
    show_default=True,
    help="Where the user files and summary.json are written.",
)
@click.option(
    "--ptau",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A powers-of-tau file to use (e.g. a public ceremony's); else env ZKMARGIN_PTAU, the shared "
    "dev file, or one generated and cached here.",
)
@prover_option
def demo_cmd(
    profile: str,
    chain_kind: str | None,
    rpc: str | None,
    accounts: int,
    out: Path,
    ptau: Path | None,
    prover_backend_flag: str | None,
) -> None:
    """The end-to-end demo: market, margins, proofs, liquidations, audit.

    Runs on the embedded chain unless --chain anvil or --rpc URL is given.

    \b
    Example:
      zkmargin demo                      # embedded py-evm chain
      zkmargin demo --rpc http://127.0.0.1:8545
    """
    from zkmargin.cli.options import chain_target
    from zkmargin.demo.run import DemoOptions, run_demo

    target = chain_target(chain_kind, rpc, None) if (chain_kind or rpc) else "embedded"
    options = DemoOptions(
        profile=profile,
        chain=target,
        accounts=accounts,
        out=out,
        ptau=ptau,
        prover=prover_backend(prover_backend_flag),
    )
    summary = run_demo(options, console)
    if not summary.audit_ok:
        raise CheckFailed("the user's audit failed")

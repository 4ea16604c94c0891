"""zkmargin CLI commands: ``demo``."""

from __future__ import annotations

from pathlib import Path

import click

from zkmargin.cli_support import console


@click.command("demo")
@click.option(
    "--profile", default="demo", show_default=True, help="Circuit profile (see engine/profiles.py)."
)
@click.option(
    "--chain",
    "chain",
    default="embedded",
    show_default=True,
    help="embedded (py-evm in this process), anvil (started from node_modules), or an RPC URL.",
)
@click.option("--rpc", "rpc", default=None, help="RPC URL of a running node (same as --chain URL).")
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
def demo_cmd(profile: str, chain: str, rpc: str | None, accounts: int, out: Path, ptau: Path | None) -> None:
    """The end-to-end demo: market, margins, proofs, on-chain liquidations, a user's audit."""
    from zkmargin.demo import DemoOptions, run_demo

    options = DemoOptions(profile=profile, chain=rpc or chain, accounts=accounts, out=out, ptau=ptau)
    summary = run_demo(options, console)
    if not summary.audit_ok:
        raise click.ClickException("the user's audit failed")


def register(cli: click.Group) -> None:
    """Attach this module's commands to the main group."""
    cli.add_command(demo_cmd)

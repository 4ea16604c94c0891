"""The ``zkmargin`` console script: one click group, commands in one module per area.

* ``zkmargin.commands_engine``  - market build, margin, explain, calibrate
* ``zkmargin.commands_prover``  - build, setup, prove, verify
* ``zkmargin.commands_audit``   - audit (a user's own proof, offline and on chain)
* ``zkmargin.commands_chain``   - chain deploy / post-market / commit / attest / liquidate / status
* ``zkmargin.commands_demo``    - demo
* ``zkmargin.commands_operator`` - operator run / status

Bad input (``engine.errors.InputError``) and other expected failures
(``zkmargin.cli_support.CliError``) end with a clear message and exit code 2.
"""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from engine.errors import InputError
from zkmargin import (
    commands_audit,
    commands_chain,
    commands_demo,
    commands_engine,
    commands_operator,
    commands_prover,
)
from zkmargin.cli_support import CliError, err_console


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zkmargin")
def cli() -> None:
    """Zero-knowledge verified portfolio margin (ZKPM-1)."""


for _module in (
    commands_engine,
    commands_prover,
    commands_audit,
    commands_chain,
    commands_demo,
    commands_operator,
):
    _module.register(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; map expected errors to exit code 2."""
    try:
        cli.main(args=argv, prog_name="zkmargin", standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("[red]aborted[/red]")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 1 else exc.exit_code)
    except InputError as exc:
        err_console.print(
            f"[bold red]error:[/bold red] invalid input: {escape(exc.field)}: {escape(exc.message)}"
        )
        sys.exit(2)
    except CliError as exc:
        err_console.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        sys.exit(2)
    sys.exit(0)


if __name__ == "__main__":
    main()

"""The ``zkmargin`` console script: one click group whose commands load on demand.

Each command group lives in its own module under ``zkmargin.cli`` and is imported only
when it runs (or its own ``--help`` is asked for), so ``zkmargin --help`` imports neither
web3, eth-tester nor scipy. The registry below holds each command's one-line help for
the top-level listing; a test checks it against the commands' own docstrings.

Exit codes, the same for every command:

* 0 - done;
* 1 - a check ran and failed (an invalid proof, an audit mismatch, a failed snapshot);
* 2 - bad input or an expected failure the user can act on (the message names the field
  and the bound, or what to do);
* 70 - an unexpected failure (a bug): one line and a hint, never a bare traceback
  (``ZKMARGIN_DEBUG=1`` shows the traceback);
* 130 - interrupted.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path

import click
from rich.markup import escape

from engine.errors import CheckFailed, InputError, ZkmarginError

#: name -> (module, attribute, one-line help shown by ``zkmargin --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "account": ("zkmargin.cli.account", "account_group", "Create account files from human units."),
    "market": ("zkmargin.cli.market", "market_group", "Build market snapshots from oracle quotes."),
    "margin": ("zkmargin.cli.margin", "margin_cmd", "Margin status of every account in ACCOUNTS_FILE..."),
    "explain": (
        "zkmargin.cli.margin",
        "explain_cmd",
        "Why an account has its status: parts, liquidation prices, what-if.",
    ),
    "calibrate": (
        "zkmargin.cli.market",
        "calibrate_cmd",
        "Volatility forecasts (EWMA, GARCH(1,1)) and correlation from closes.",
    ),
    "backtest": (
        "zkmargin.cli.backtest",
        "backtest_cmd",
        "Backtest the margin models on real closes: coverage, procyclicality, report.",
    ),
    "stress": (
        "zkmargin.cli.stress",
        "stress_group",
        "Stress tests of the venue: liquidation cascades through a crash.",
    ),
    "build": (
        "zkmargin.cli.prover",
        "build_cmd",
        "Compile the margin circuit for a profile (cached by source hash).",
    ),
    "setup": (
        "zkmargin.cli.prover",
        "setup_cmd",
        "Groth16 keys for a profile: zkey, verification key, Solidity verifier.",
    ),
    "prove": (
        "zkmargin.cli.prover",
        "prove_cmd",
        "Prove one account's margin status and shortfall; write a bundle.",
    ),
    "verify": ("zkmargin.cli.prover", "verify_cmd", "Verify a proof bundle in pure Python (py_ecc)."),
    "audit": (
        "zkmargin.cli.audit",
        "audit_cmd",
        "Audit your own margin proof, offline and (with --rpc) on chain.",
    ),
    "chain": (
        "zkmargin.cli.chain",
        "chain_group",
        "The on-chain gate: deploy, post, attest, liquidate, status.",
    ),
    "operator": ("zkmargin.cli.operator", "operator_group", "The operator's keeper and its job log."),
    "demo": (
        "zkmargin.cli.demo",
        "demo_cmd",
        "The end-to-end demo: market, margins, proofs, liquidations, audit.",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr, _ = entry
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, _, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zkmargin")
def cli() -> None:
    """Zero-knowledge verified portfolio margin (ZKPM-2).

    Exit codes: 0 done, 1 a check failed, 2 bad input.

    \b
    Example:
      zkmargin margin --market market.json --params params.json accounts.json
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map the project's errors to exit codes."""
    from zkmargin.cli.render import err_console

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
            f"[bold red]error:[/bold red] invalid input: {escape(exc.field)}: {escape(exc.message)}",
            soft_wrap=True,
        )
        sys.exit(2)
    except CheckFailed as exc:
        err_console.print(f"[bold red]check failed:[/bold red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(1)
    except ZkmarginError as exc:
        err_console.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    except Exception as exc:  # the command-level guard: anything unexpected is a bug
        if os.environ.get("ZKMARGIN_DEBUG"):
            raise
        where = traceback.extract_tb(exc.__traceback__)[-1]
        err_console.print(
            f"[bold red]error:[/bold red] unexpected failure: {type(exc).__name__}: {escape(str(exc))} "
            f"(at {Path(where.filename).name}:{where.lineno})",
            soft_wrap=True,
        )
        err_console.print(
            "hint: this is a bug in zkmargin, not in your input; re-run with ZKMARGIN_DEBUG=1 for the "
            "traceback and report it",
            soft_wrap=True,
        )
        sys.exit(70)
    sys.exit(0)


if __name__ == "__main__":
    main()

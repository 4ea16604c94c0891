"""zkmargin CLI commands: ``margin`` (status of many accounts) and ``explain`` (one account).

Every command loads and validates all of its input first and writes its output file
(atomically) only after that succeeded, so bad input never leaves a file behind.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from engine.errors import InputError
from engine.fileio import write_atomic_with
from engine.formats import dumps, iter_accounts, load_accounts, load_market, load_params
from engine.formats.json_text import as_int
from engine.model import Market
from zkmargin.cli.options import IN_FILE, OUT_FILE
from zkmargin.cli.render import MarginTable, console, print_explanation

#: Accounts read, margined and written at a time by ``zkmargin margin``.
ACCOUNTS_PER_PIECE = 20_000


@click.command("margin")
@click.option("--market", "market_path", type=IN_FILE, required=True, help="market file (zkmargin/market@1)")
@click.option(
    "--params", "params_path", type=IN_FILE, required=True, help="params file (zkmargin/params@2, ZKPM-2)"
)
@click.argument("accounts_paths", metavar="ACCOUNTS_FILE...", nargs=-1, required=True, type=IN_FILE)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON instead of a table")
@click.option("--out", "out_path", type=OUT_FILE, help="write the report (zkmargin/report@1) here")
def margin_cmd(
    market_path: Path, params_path: Path, accounts_paths: Sequence[Path], as_json: bool, out_path: Path | None
) -> None:
    """Margin status of every account in ACCOUNTS_FILE... (account or accounts files).

    \b
    Example:
      zkmargin margin --market market.json --params examples/params.json examples/accounts.json
    """
    from engine.commitments import params_hash
    from engine.formats.report import ReportLines, report_head
    from engine.pipeline import UniqueIds, margins

    mf = load_market(market_path)
    risk = load_params(params_path).resolve(mf.market.asset_names, mf.market.profile, mf.calibrated_rho)
    # Piece by piece (read, margin, commit, one line per account to a temporary file), so a
    # million accounts need memory for one piece; nothing is written before the last one.
    ids = UniqueIds()
    table = MarginTable()
    with ReportLines() as lines:
        for path in accounts_paths:
            for piece in iter_accounts(path, mf.market, chunk=ACCOUNTS_PER_PIECE):
                ids.add(piece)
                results = margins(mf.market, risk, piece)
                lines.add(piece, results)
                table.add(piece, results)
        head = report_head(
            profile=mf.market.profile.name,
            epoch=mf.market.epoch,
            as_of=mf.as_of.isoformat(),
            market_root=mf.market_root,
            params_hash=params_hash(risk),
            counts=lines.counts,
        )
        if out_path is not None:
            write_atomic_with(out_path, lambda fh: lines.write_to(fh, head))
        if as_json:
            lines.write_to(sys.stdout, head)
    if not as_json:
        table.print()
        if out_path is not None:
            console.print(f"wrote [bold]{out_path}[/bold]")


# ---------------------------------------------------------------------- explain


def _parse_trade(text: str, market: Market) -> tuple[int, int]:
    """``ID:Q`` (integer id, ``Q`` x 10**6) or ``NAME:SIZE`` (the market's instrument name,
    a size in units such as ``-2.5``)."""
    from engine.human import instrument_by_name
    from zkmargin.cli.options import units_value

    ref, sep, size = text.partition(":")
    bad = InputError(
        "--trade",
        "must be ID:Q (integer id, Q x 10**6, signed) or NAME:SIZE (instrument name, "
        f"size in units such as -2.5), got {text!r}",
    )
    if not sep or not ref or not size:
        raise bad
    if ref.isdigit():
        try:
            return as_int("--trade", ref), as_int("--trade", size)
        except InputError:
            raise bad from None
    return instrument_by_name("--trade", ref, market), units_value("--trade", size)


@click.command("explain")
@click.option("--market", "market_path", type=IN_FILE, required=True, help="market file (zkmargin/market@1)")
@click.option(
    "--params", "params_path", type=IN_FILE, required=True, help="params file (zkmargin/params@2, ZKPM-2)"
)
@click.argument("account_path", metavar="ACCOUNT", type=IN_FILE)
@click.option("--select", help="label or account id, when ACCOUNT is a file of several accounts")
@click.option(
    "--trade",
    "trades",
    multiple=True,
    metavar="NAME:SIZE",
    help="hypothetical trade at the mark: BTC-PERP:-2.5 (or ID:Q with q x 10**6); repeatable",
)
@click.option(
    "--json", "as_json", is_flag=True, help="print the explanation (zkmargin/explanation@1) as JSON"
)
def explain_cmd(
    market_path: Path,
    params_path: Path,
    account_path: Path,
    select: str | None,
    trades: Sequence[str],
    as_json: bool,
) -> None:
    """Why an account has its status: parts, liquidation prices, what-if.

    \b
    Example:
      zkmargin explain --market market.json --params examples/params.json \\
        examples/accounts.json --select carol --trade BTC-PERP:0.5
    """
    from engine.pipeline import explain_account, select_account

    mf = load_market(market_path)
    trade_list = [_parse_trade(t, mf.market) for t in trades]
    risk = load_params(params_path).resolve(mf.market.asset_names, mf.market.profile, mf.calibrated_rho)
    account = select_account(load_accounts(account_path, mf.market), select)
    explanation = explain_account(mf, risk, account, trade_list)
    if as_json:
        click.echo(dumps(explanation), nl=False)
    else:
        print_explanation(explanation)

"""zkmargin CLI commands of the engine: ``market build``, ``margin``, ``explain``, ``calibrate``.

Every command loads and validates all of its input first and writes its output file
(atomically) only after that succeeded, so bad input never leaves a file behind.
Bad input raises :class:`engine.errors.InputError`, which the main group reports as
``error: invalid input: <field>: <bound>`` with exit code 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from engine.errors import InputError
from engine.formats import (
    dump_calibration,
    dump_market,
    dump_report,
    dumps,
    load_accounts,
    load_market,
    load_params,
    load_quotes,
    make_market_file,
)
from engine.formats_json import as_int
from engine.profiles import PROFILES, get_profile
from zkmargin import commands_engine_views as views
from zkmargin.cli_support import console, write_json_atomic

#: From this many accounts on, ``margin`` uses the vectorised batch path.
BATCH_THRESHOLD = 8

_IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_OUT_FILE = click.Path(dir_okay=False, writable=True, path_type=Path)


def _parse_assets(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if any(not n for n in names):
        raise InputError("--assets", f"must be a comma-separated list of asset names, got {text!r}")
    if len(set(names)) != len(names):
        raise InputError("--assets", f"lists an asset twice: {text!r}")
    return names


# ---------------------------------------------------------------------- market


@click.group("market")
def market_group() -> None:
    """Build market snapshots from oracle quotes."""


@market_group.command("build")
@click.option("--quotes", "quotes_path", type=_IN_FILE, required=True, help="quotes file (zkmargin/quotes@1)")
@click.option("--params", "params_path", type=_IN_FILE, required=True, help="params file (zkmargin/params@1)")
@click.option(
    "--profile", "profile_name", type=click.Choice(list(PROFILES)), required=True, help="circuit profile"
)
@click.option("--epoch", type=int, required=True, help="market epoch (0 <= epoch < 2**64, increasing)")
@click.option(
    "--history", "history_path", type=_IN_FILE, help="daily closes CSV: vol forecasts and correlation"
)
@click.option("--out", "out_path", type=_OUT_FILE, required=True, help="market file to write")
def market_build(
    quotes_path: Path,
    params_path: Path,
    profile_name: str,
    epoch: int,
    history_path: Path | None,
    out_path: Path,
) -> None:
    """Derive the instrument rows and hashes of a market and write the market file."""
    from engine.calibration import load_closes_csv
    from engine.market_builder import build_market

    profile = get_profile(profile_name)
    quotes = load_quotes(quotes_path, profile)
    params = load_params(params_path)
    views.check_config_assets(params.row_config, quotes.asset_names)
    closes = load_closes_csv(history_path, assets=quotes.asset_names) if history_path else None
    cal = views.calibration_for(quotes, closes)
    config = cal.row_config(params.row_config) if cal else params.row_config
    market = build_market(profile, epoch, quotes.assets, quotes.instruments, config, quotes.as_of)
    rho = cal.rho_for(quotes.asset_names, profile.assets) if cal else None
    mf = make_market_file(market, quotes, config, rho)
    risk = params.resolve(quotes.asset_names, profile, rho)
    write_json_atomic(out_path, dump_market(mf))
    views.print_market(mf, risk, cal)
    console.print(f"wrote [bold]{out_path}[/bold]")


@market_group.command("check")
@click.argument("market_path", metavar="MARKET", type=_IN_FILE)
@click.option("--json", "as_json", is_flag=True, help="print the comparison as JSON")
def market_check(market_path: Path, as_json: bool) -> None:
    """Recompute a market's rows from the quotes it was built from; every value must agree
    within one unit (spec section 4's audit criterion). Exit 1 if one does not."""
    import sys

    from engine.market_builder import build_market
    from engine.row_audit import compare_rows

    mf = load_market(market_path)
    m = mf.market
    rebuilt = build_market(m.profile, m.epoch, mf.source.assets, mf.source.instruments, mf.config, mf.as_of)
    check = compare_rows(m, rebuilt)
    if as_json:
        click.echo(dumps(check.to_dict()), nl=False)
    else:
        console.print(check.describe())
    if not check.ok:
        sys.exit(1)


# ---------------------------------------------------------------------- margin


@click.command("margin")
@click.option("--market", "market_path", type=_IN_FILE, required=True, help="market file (zkmargin/market@1)")
@click.option("--params", "params_path", type=_IN_FILE, required=True, help="params file (zkmargin/params@1)")
@click.argument("accounts_paths", metavar="ACCOUNTS_FILE...", nargs=-1, required=True, type=_IN_FILE)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON instead of a table")
@click.option("--out", "out_path", type=_OUT_FILE, help="write the report (zkmargin/report@1) here")
def margin_cmd(
    market_path: Path, params_path: Path, accounts_paths: Sequence[Path], as_json: bool, out_path: Path | None
) -> None:
    """Margin status of every account in ACCOUNTS_FILE... (account or accounts files)."""
    mf = load_market(market_path)
    risk = load_params(params_path).resolve(mf.market.asset_names, mf.market.profile, mf.calibrated_rho)
    accounts = [acc for path in accounts_paths for acc in load_accounts(path, mf.market)]
    results = views.compute_all(mf.market, risk, accounts, BATCH_THRESHOLD)
    report = dump_report(
        profile=mf.market.profile.name,
        epoch=mf.market.epoch,
        as_of=mf.as_of.isoformat(),
        market_root=mf.market_root,
        params_hash=views.params_hash(risk),
        accounts=accounts,
        results=results,
    )
    if out_path is not None:
        write_json_atomic(out_path, report)
    if as_json:
        click.echo(dumps(report), nl=False)
    else:
        views.print_margin_table(accounts, results)
        if out_path is not None:
            console.print(f"wrote [bold]{out_path}[/bold]")


# ---------------------------------------------------------------------- explain


def _parse_trade(text: str) -> tuple[int, int]:
    """``ID:Q`` with decimal integers (``Q`` signed, x 10**6)."""
    iid, sep, q = text.partition(":")
    try:
        if not sep:
            raise InputError("--trade", "no colon")
        return as_int("--trade", iid), as_int("--trade", q)
    except InputError:
        raise InputError("--trade", f"must be ID:Q with integers (Q x 10**6, signed), got {text!r}") from None


@click.command("explain")
@click.option("--market", "market_path", type=_IN_FILE, required=True, help="market file (zkmargin/market@1)")
@click.option("--params", "params_path", type=_IN_FILE, required=True, help="params file (zkmargin/params@1)")
@click.argument("account_path", metavar="ACCOUNT", type=_IN_FILE)
@click.option("--select", help="label or account id, when ACCOUNT is a file of several accounts")
@click.option(
    "--trade",
    "trades",
    multiple=True,
    metavar="ID:Q",
    help="hypothetical trade at the mark (q x 10**6); repeatable",
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
    """Why an account has its status: parts per asset, liquidation prices, what-if."""
    trade_list = [_parse_trade(t) for t in trades]
    mf = load_market(market_path)
    risk = load_params(params_path).resolve(mf.market.asset_names, mf.market.profile, mf.calibrated_rho)
    account = views.select_account(load_accounts(account_path, mf.market), select)
    explanation = views.explain_account(mf, risk, account, trade_list)
    if as_json:
        click.echo(dumps(explanation), nl=False)
    else:
        views.print_explanation(explanation)


# ---------------------------------------------------------------------- calibrate


@click.command("calibrate")
@click.option(
    "--history", "history_path", type=_IN_FILE, required=True, help="daily closes CSV (date,<asset>,...)"
)
@click.option("--assets", "assets_text", help="comma-separated assets to use (default: every column)")
@click.option("--json", "as_json", is_flag=True, help="print the calibration as JSON")
@click.option("--out", "out_path", type=_OUT_FILE, help="write the calibration (zkmargin/calibration@1) here")
def calibrate_cmd(history_path: Path, assets_text: str | None, as_json: bool, out_path: Path | None) -> None:
    """Volatility forecasts (EWMA, GARCH(1,1)) and correlation from daily closes."""
    from engine.calibration import calibrate, load_closes_csv

    assets = _parse_assets(assets_text)
    cal = calibrate(load_closes_csv(history_path, assets=assets))
    doc = dump_calibration(cal)
    if out_path is not None:
        write_json_atomic(out_path, doc)
    if as_json:
        click.echo(dumps(doc), nl=False)
    else:
        views.print_calibration(cal)
        if out_path is not None:
            console.print(f"wrote [bold]{out_path}[/bold]")


def register(cli: click.Group) -> None:
    """Attach this module's commands to the main group."""
    for command in (market_group, margin_cmd, explain_cmd, calibrate_cmd):
        cli.add_command(command)

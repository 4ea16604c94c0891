"""zkmargin CLI commands: ``market build``, ``market check``, ``calibrate``.

Every command loads and validates all of its input first and writes its output file
(atomically) only after that succeeded, so bad input never leaves a file behind.
Bad input raises :class:`engine.errors.InputError`, which the main group reports as
``error: invalid input: <field>: <bound>`` with exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from engine.errors import CheckFailed, InputError
from engine.fileio import write_json_atomic
from engine.formats import dump_calibration, dump_market, dumps, load_market, load_params, load_quotes
from engine.profiles import PROFILES, get_profile
from zkmargin.cli.options import IN_FILE, OUT_FILE
from zkmargin.cli.render import console, print_calibration, print_market


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
    """Build market snapshots from oracle quotes.

    \b
    Example:
      zkmargin market build --quotes quotes.json --params params.json --profile demo --epoch 1 --out market.json
    """


@market_group.command("build")
@click.option("--quotes", "quotes_path", type=IN_FILE, required=True, help="quotes file (zkmargin/quotes@1)")
@click.option(
    "--params", "params_path", type=IN_FILE, required=True, help="params file (zkmargin/params@2, ZKPM-2)"
)
@click.option(
    "--profile", "profile_name", type=click.Choice(list(PROFILES)), required=True, help="circuit profile"
)
@click.option("--epoch", type=int, required=True, help="market epoch (0 <= epoch < 2**64, increasing)")
@click.option(
    "--history", "history_path", type=IN_FILE, help="daily closes CSV: vol forecasts and correlation"
)
@click.option("--out", "out_path", type=OUT_FILE, required=True, help="market file to write")
def market_build(
    quotes_path: Path,
    params_path: Path,
    profile_name: str,
    epoch: int,
    history_path: Path | None,
    out_path: Path,
) -> None:
    """Derive the instrument rows and hashes of a market and write the market file.

    \b
    Example:
      zkmargin market build --quotes examples/quotes.json --params examples/params.json \\
        --profile demo --epoch 1 --history examples/data/closes-excerpt.csv --out market.json
    """
    from engine.calibration.calibrate import OwnCloses, load_histories
    from engine.commitments import params_hash
    from engine.pipeline import price_market

    profile = get_profile(profile_name)
    quotes = load_quotes(quotes_path, profile)
    params = load_params(params_path)
    # only closes up to the quotes' as_of: a market must not see the future (spec section 4);
    # each asset's forecast from its own closes, the correlation from the common dates
    h = load_histories(history_path, quotes.asset_names, end=quotes.as_of) if history_path else None
    closes = dict(h.common.closes) if h else None
    own = {a: OwnCloses(t.closes[a], t.day_gaps) for a, t in h.own.items()} if h else None
    priced = price_market(quotes, params, profile, epoch, closes, h.common.day_gaps if h else None, own)
    write_json_atomic(out_path, dump_market(priced.file))
    print_market(priced.file, priced.risk, params_hash(priced.risk), priced.calibration)
    console.print(f"wrote [bold]{out_path}[/bold]")


@market_group.command("check")
@click.argument("market_path", metavar="MARKET", type=IN_FILE)
@click.option("--json", "as_json", is_flag=True, help="print the comparison as JSON")
def market_check(market_path: Path, as_json: bool) -> None:
    """Recompute a market's rows from its quotes; exit 1 unless every value agrees.

    Agreement within one unit per value is the audit criterion (docs/margin-model.md
    section 4).

    \b
    Example:
      zkmargin market check market.json
    """
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
        raise CheckFailed(f"{market_path}: rows do not follow from the quotes (see above)")


# ---------------------------------------------------------------------- calibrate


@click.command("calibrate")
@click.option(
    "--history", "history_path", type=IN_FILE, required=True, help="daily closes CSV (date,<asset>,...)"
)
@click.option("--assets", "assets_text", help="comma-separated assets to use (default: every column)")
@click.option("--json", "as_json", is_flag=True, help="print the calibration as JSON")
@click.option("--out", "out_path", type=OUT_FILE, help="write the calibration (zkmargin/calibration@1) here")
def calibrate_cmd(history_path: Path, assets_text: str | None, as_json: bool, out_path: Path | None) -> None:
    """Volatility forecasts (EWMA, GARCH(1,1)) and correlation from closes.

    Each asset's forecast is from its own closes, the correlation from the dates on which
    every chosen asset has a close.

    \b
    Example:
      zkmargin calibrate --history examples/data/closes-excerpt.csv --assets BTC,ETH
    """
    from engine.calibration.calibrate import calibrate_histories, load_histories

    assets = _parse_assets(assets_text)
    cal = calibrate_histories(load_histories(history_path, assets))
    doc = dump_calibration(cal)
    if out_path is not None:
        write_json_atomic(out_path, doc)
    if as_json:
        click.echo(dumps(doc), nl=False)
    else:
        print_calibration(cal)
        if out_path is not None:
            console.print(f"wrote [bold]{out_path}[/bold]")

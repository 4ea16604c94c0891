"""zkmargin CLI commands: ``account new`` writes an account file from human units."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path

import click

from engine.errors import InputError
from zkmargin.cli.options import IN_FILE, OUT_FILE
from zkmargin.cli.render import console


@click.group("account")
def account_group() -> None:
    """Create account files from human units.

    \b
    Example:
      zkmargin account new --market market.json --id 2001 --cash 10000 --position BTC-PERP:-2.5 --out a.json
    """


@account_group.command("new")
@click.option("--market", "market_path", type=IN_FILE, required=True, help="market file: instrument names")
@click.option("--id", "account_id", type=str, required=True, help="account id (integer, 0 <= id < 2**64)")
@click.option(
    "--cash", type=str, default="0", show_default=True, help="cash in the quote currency, e.g. 10000"
)
@click.option(
    "--position",
    "positions",
    multiple=True,
    metavar="NAME:SIZE",
    help="a position by instrument name and size in units, e.g. BTC-PERP:-2.5; repeatable",
)
@click.option("--label", default="", help="a name for people (not committed)")
@click.option("--nonce", type=str, default="0", show_default=True, help="state counter (integer)")
@click.option("--out", "out_path", type=OUT_FILE, required=True, help="account file to write")
def account_new(
    market_path: Path,
    account_id: str,
    cash: str,
    positions: Sequence[str],
    label: str,
    nonce: str,
    out_path: Path,
) -> None:
    """Write an account file (zkmargin/account@1) with a fresh random salt.

    Sizes and cash are in units (six decimals at most); the file holds them x 10**6.

    \b
    Example:
      zkmargin account new --market market.json --id 2001 --cash 10000 \\
        --position BTC-PERP:-2.5 --position ETH:12 --out account.json
    """
    from engine.commitments import commitment
    from engine.fileio import write_json_atomic
    from engine.fixedpoint import FIELD_P
    from engine.formats import LabeledAccount, dump_account, load_accounts_doc, load_market
    from engine.formats.json_text import as_int
    from engine.human import instrument_by_name
    from zkmargin.cli.options import units_value

    market = load_market(market_path).market
    parsed: list[dict[str, object]] = []
    for i, text in enumerate(positions):
        name, sep, size = text.rpartition(":")
        if not sep or not name:
            raise InputError(f"--position[{i}]", f"must be NAME:SIZE such as BTC-PERP:-2.5, got {text!r}")
        iid = instrument_by_name(f"--position[{i}]", name, market)
        parsed.append({"instrument_id": iid, "q": units_value(f"--position[{i}]", size)})
    doc: dict[str, object] = {
        "format": "zkmargin/account@1",
        **({"label": label} if label else {}),
        "account_id": as_int("--id", account_id),
        "nonce": as_int("--nonce", nonce),
        "salt": str(secrets.randbelow(FIELD_P)),
        "cash": units_value("--cash", cash),
        "positions": parsed,
    }
    (account,) = load_accounts_doc(doc, market)  # every bound of the account format, then write
    write_json_atomic(out_path, dump_account(LabeledAccount(account.account, label)))
    console.print(
        f"wrote [bold]{out_path}[/bold]: account {account.account.account_id}, "
        f"{len(parsed)} position(s), commitment {commitment(account.account)}",
        soft_wrap=True,
    )
    console.print("keep this file private: its salt hides your positions behind the commitment", style="dim")

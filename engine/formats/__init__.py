"""JSON file formats of zkmargin: one import point for every loader and writer.

Each ``load_*`` function reads a file, parses it strictly, validates every value
and raises :class:`engine.errors.InputError` naming the JSON path of the bad value
(the file name is appended to the message). Each ``dump_*`` function returns the
JSON-ready ``dict``; write it with ``zkmargin.cli.render.write_json_atomic`` or
:func:`engine.formats.json_text.dumps`. The formats are documented in
``docs/formats.md``:

====================  =========================  ==========================================
kind                  loader                     writer
====================  =========================  ==========================================
quotes                :func:`load_quotes`        :func:`dump_quotes`
params                :func:`load_params`        :func:`dump_params`
market                :func:`load_market`        :func:`dump_market`
account / accounts    :func:`load_accounts`      :func:`dump_account`, :func:`dump_accounts`
report                :func:`load_report`        :func:`dump_report`
accounts tree         :func:`load_accounts_tree` :func:`dump_accounts_tree`
explanation           (output only)              :func:`dump_explanation`
calibration           (output only)              :func:`dump_calibration`
====================  =========================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from engine.accounts_tree import AccountsTree
from engine.errors import InputError
from engine.formats.account import (
    LabeledAccount,
    dump_account,
    dump_accounts,
    iter_accounts_doc,
    load_accounts_doc,
)
from engine.formats.accounts_tree import dump_accounts_tree, load_accounts_tree_doc
from engine.formats.json_text import (
    StreamedDocument,
    cyclic_gc_paused,
    decode_utf8,
    dumps,
    in_file,
    parse_json_text,
    read_file_bytes,
    read_json_text,
)
from engine.formats.market import MarketFile, dump_market, load_market_doc, make_market_file
from engine.formats.params import FROM_CALIBRATION, ParamsFile, dump_params, dump_risk_params, load_params_doc
from engine.formats.quotes import QuotesFile, dump_quotes, load_quotes_doc
from engine.formats.report import dump_calibration, dump_explanation, dump_report, load_report_doc
from engine.model import Market
from engine.profiles import Profile

__all__ = [
    "FROM_CALIBRATION",
    "LabeledAccount",
    "MarketFile",
    "ParamsFile",
    "QuotesFile",
    "dump_account",
    "dump_accounts",
    "dump_accounts_tree",
    "dump_calibration",
    "dump_explanation",
    "dump_market",
    "dump_params",
    "dump_quotes",
    "dump_report",
    "dump_risk_params",
    "dumps",
    "iter_accounts",
    "load_account",
    "load_accounts",
    "load_accounts_bytes",
    "load_accounts_tree",
    "load_market",
    "load_params",
    "load_quotes",
    "load_report",
    "make_market_file",
    "parse_json_text",
]

T = TypeVar("T")
PathLike = str | Path


def _load(path: PathLike, root: str, parse: Callable[[dict[str, Any]], T], raw: bytes | None = None) -> T:
    """Read ``path`` (or take ``raw``, its bytes already read) and run ``parse`` on its
    JSON; every error names the file."""
    p = Path(path)
    try:
        with cyclic_gc_paused():
            data = read_file_bytes(p, root) if raw is None else raw
            return parse(parse_json_text(decode_utf8(data, p, root), root))
    except InputError as err:
        raise in_file(err, path) from None


def load_quotes(path: PathLike, profile: Profile) -> QuotesFile:
    """A quotes file, validated against ``profile`` (asset count, instrument id range)."""
    return _load(path, "quotes", lambda d: load_quotes_doc(d, profile))


def load_params(path: PathLike) -> ParamsFile:
    """A params file; resolve it against a market with :meth:`ParamsFile.resolve`."""
    return _load(path, "params", load_params_doc)


def load_market(path: PathLike) -> MarketFile:
    """A market file, validated and with its hashes recomputed and checked."""
    return _load(path, "market", load_market_doc)


def load_accounts(path: PathLike, market: Market) -> list[LabeledAccount]:
    """The accounts of an ``account`` or ``accounts`` file, canonical and checked against ``market``."""
    return _load(path, "account", lambda d: load_accounts_doc(d, market))


def load_accounts_bytes(raw: bytes, path: PathLike, market: Market) -> list[LabeledAccount]:
    """``load_accounts`` of bytes already read from ``path`` (a caller that also hashes
    them parses exactly what it hashed); every error names ``path``."""
    return _load(path, "account", lambda d: load_accounts_doc(d, market), raw)


def iter_accounts(path: PathLike, market: Market, chunk: int = 10_000) -> Iterator[list[LabeledAccount]]:
    """``load_accounts`` in lists of at most ``chunk`` accounts, read element by element:
    memory for the file's text and one list, whatever the number of accounts. Every
    error names the file; a caller that writes output must do so only after the last list."""
    try:
        text = read_json_text(path, "account")
        try:
            yield from iter_accounts_doc(
                StreamedDocument(text, "account", "accounts"), market, "account", chunk
            )
        except InputError:
            # the whole-file reader names the problem exactly as every other command does
            # (it checks the format before the accounts, wherever the tag is in the file)
            load_accounts_doc(parse_json_text(text, "account"), market)
            raise
    except InputError as err:
        raise in_file(err, path) from None


def load_accounts_tree(path: PathLike) -> AccountsTree:
    """A published accounts tree, its root rebuilt from its leaves and checked."""
    return _load(path, "accounts_tree", load_accounts_tree_doc)


def load_account(path: PathLike, market: Market) -> LabeledAccount:
    """The one account of an ``account`` file (or of an ``accounts`` file holding exactly one)."""
    accounts = load_accounts(path, market)
    if len(accounts) != 1:
        raise InputError(
            "accounts", f"expected exactly one account, the file holds {len(accounts)} (in {path})"
        )
    return accounts[0]


def load_report(path: PathLike) -> list[dict[str, Any]]:
    """The account lines of a report file."""
    return _load(path, "report", load_report_doc)

"""The account formats: one account (``zkmargin/account@1``) or many (``zkmargin/accounts@1``).

An account is ``account_id``, ``nonce``, ``salt`` (a field element), ``cash`` (x 10**6)
and a list of ``positions`` ``{"instrument_id", "q"}`` (``q`` x 10**6) in any order;
loading turns the list into the profile's ``k`` canonical slots
(:func:`engine.validate.canonicalize_positions`) and checks every bound and that
every instrument is listed in the market. An optional ``label`` names the account
for people (reports, tables); it is not committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.errors import InputError
from engine.fixedpoint import CASH_LIMIT, FIELD_P, ID_LIMIT, Q_LIMIT
from engine.formats.json_text import (
    Obj,
    StreamedDocument,
    as_int,
    as_list,
    as_str,
    check_format,
    cyclic_gc_paused,
    emit_field,
    emit_int,
    format_tag,
    is_int_text,
)
from engine.model import EMPTY_SLOT, Account, Market, Slot
from engine.validate import canonicalize_positions, validate_account


@dataclass(frozen=True)
class LabeledAccount:
    """An account and the human label it was given in its file (may be empty)."""

    account: Account
    label: str = ""

    @property
    def display_name(self) -> str:
        return self.label or f"#{self.account.account_id}"


def _position(path: str, value: Any) -> tuple[int, int]:
    o = Obj(path, value)
    pos = (o.get("instrument_id", as_int), o.get("q", as_int))
    o.done()
    return pos


def read_account(o: Obj, market: Market) -> LabeledAccount:
    """The account fields of ``o`` (the caller checks for leftovers with ``o.done()``)."""
    label = o.opt("label", as_str) or ""
    account_id = o.get("account_id", as_int)
    nonce = o.get("nonce", as_int)
    salt = o.get("salt", as_int)
    cash = o.get("cash", as_int)
    positions = [_position(p, v) for p, v in o.items("positions")]
    slots = canonicalize_positions(positions, market.profile.slots, field=o.sub("positions"))
    account = Account(account_id=account_id, nonce=nonce, salt=salt, cash=cash, slots=slots)
    _check_listed(o, positions, market)
    validate_account(account, market, field=o.path)
    return LabeledAccount(account=account, label=label)


_ACCOUNT_KEYS = frozenset({"account_id", "nonce", "salt", "cash", "positions"})
_LABELED_KEYS = _ACCOUNT_KEYS | {"label"}
_POSITION_KEYS = frozenset({"instrument_id", "q"})


def plain_account(value: Any, market: Market) -> LabeledAccount | None:
    """The account of ``value`` when it is plainly valid, else None.

    A fast path for files of many accounts: it accepts only the common shape (JSON
    integers, a decimal-string or integer salt, no unknown keys) and checks the bounds
    of :func:`read_account`, which stays the definition. Whatever this does not accept
    goes through ``read_account``, which either accepts it too or names the field and
    the bound; tests check on random and broken accounts that this never accepts what
    ``read_account`` refuses and returns exactly what it returns.
    """
    if type(value) is not dict:
        return None
    keys = value.keys()
    if keys == _LABELED_KEYS:
        label = value["label"]
        if type(label) is not str:
            return None
    elif keys == _ACCOUNT_KEYS:
        label = ""
    else:
        return None
    account_id, nonce, salt, cash = (_int(value[key]) for key in ("account_id", "nonce", "salt", "cash"))
    if not (
        account_id is not None
        and nonce is not None
        and salt is not None
        and cash is not None
        and 0 <= account_id < ID_LIMIT
        and 0 <= nonce < ID_LIMIT
        and 0 <= salt < FIELD_P
        and -CASH_LIMIT < cash < CASH_LIMIT
    ):
        return None
    positions = value["positions"]
    if type(positions) is not list:
        return None
    kept: list[tuple[int, int]] = []
    ids: set[int] = set()
    rows = market.rows
    capacity = market.profile.capacity
    for p in positions:
        if type(p) is not dict or p.keys() != _POSITION_KEYS:
            return None
        iid, q = p["instrument_id"], p["q"]
        if type(iid) is not int:
            iid = _int(iid)
        if type(q) is not int:
            q = _int(q)
        if iid is None or q is None or iid < 0 or not -Q_LIMIT < q < Q_LIMIT or iid in ids:
            return None
        ids.add(iid)
        if q != 0:
            if iid >= capacity or iid not in rows:
                return None
            kept.append((iid, q))
    k = market.profile.slots
    if len(kept) > k:
        return None
    kept.sort()
    slots = tuple(Slot(iid, q) for iid, q in kept) + (EMPTY_SLOT,) * (k - len(kept))
    return LabeledAccount(Account(account_id, nonce, salt, cash, slots), label)


def _int(value: Any) -> int | None:
    """``as_int`` without the error: the integer, or None where ``as_int`` would refuse."""
    if type(value) is int:
        return value
    if type(value) is str and is_int_text(value):
        return int(value)
    return None


def _check_listed(o: Obj, positions: list[tuple[int, int]], market: Market) -> None:
    """Name an unlisted instrument by its place in the user's list (not the sorted slot)."""
    for i, (iid, q) in enumerate(positions):
        if q != 0 and iid not in market.rows:
            raise InputError(
                f"{o.sub('positions')}[{i}].instrument_id",
                f"unknown instrument {iid}: not listed in the market (ids: {_id_summary(market)})",
            )


def _id_summary(market: Market) -> str:
    ids = sorted(market.rows)
    return ", ".join(str(i) for i in ids) if len(ids) <= 12 else f"{len(ids)} ids from {ids[0]} to {ids[-1]}"


def load_accounts_doc(data: dict[str, Any], market: Market, root: str = "account") -> list[LabeledAccount]:
    """Accounts of an account or accounts document (both kinds are accepted)."""
    o = Obj(root, data)
    kind = check_format(o, "account", "accounts")
    if kind == "account":
        one = read_account(o, market)
        o.done()
        return [one]
    out = [_entry(i, value, market) for i, value in enumerate(as_list("accounts", o.raw("accounts")))]
    o.done()
    return out


def _entry(i: int, value: Any, market: Market) -> LabeledAccount:
    """Element ``i`` of an accounts list: the fast path, else ``read_account`` (the definition)."""
    fast = plain_account(value, market)
    if fast is not None:
        return fast
    entry = Obj(f"accounts[{i}]", value)
    out = read_account(entry, market)
    entry.done()
    return out


def iter_accounts_doc(
    doc: StreamedDocument, market: Market, root: str = "account", chunk: int = 10_000
) -> Iterator[list[LabeledAccount]]:
    """The accounts of a document read element by element (:class:`StreamedDocument`), in
    lists of at most ``chunk``: the same accounts and the same errors as
    :func:`load_accounts_doc`, without a tree of the whole file. A document without an
    ``accounts`` array (an ``account`` file, or a broken one) is read whole."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    elements = enumerate(doc.elements())
    while True:
        batch: list[LabeledAccount] = []
        with cyclic_gc_paused():  # each list is built with the collector off, not the caller's work
            for i, value in elements:
                batch.append(_entry(i, value, market))
                if len(batch) == chunk:
                    break
        if len(batch) < chunk:
            break
        yield batch
    if not doc.found:
        yield load_accounts_doc(doc.head, market, root)
        return
    o = Obj(root, {**doc.head, "accounts": []})
    check_format(o, "accounts")
    o.raw("accounts")
    o.done()
    if batch:
        yield batch


def dump_account_body(acc: LabeledAccount) -> dict[str, Any]:
    a = acc.account
    out: dict[str, Any] = {"label": acc.label} if acc.label else {}
    out.update(
        {
            "account_id": emit_int(a.account_id),
            "nonce": emit_int(a.nonce),
            "salt": emit_field(a.salt),
            "cash": emit_int(a.cash),
            "positions": [{"instrument_id": s.instrument_id, "q": emit_int(s.q)} for s in a.positions()],
        }
    )
    return out


def dump_account(acc: LabeledAccount) -> dict[str, Any]:
    return {"format": format_tag("account"), **dump_account_body(acc)}


def dump_accounts(accounts: list[LabeledAccount]) -> dict[str, Any]:
    return {"format": format_tag("accounts"), "accounts": [dump_account_body(a) for a in accounts]}

"""The published accounts tree (``zkmargin/accounts-tree@1``, docs/formats.md): every leaf
of an epoch's accounts tree, so that anyone can rebuild its root and see that no account
id appears twice (docs/margin-model.md section 5).

    {
      "format": "zkmargin/accounts-tree@1",
      "depth": 10,
      "root": "<accounts root>",
      "leaves": [["<account id>", "<commitment>"], ...]      (strictly increasing ids)
    }

The leaves are the (id, commitment) pairs: commitments are hiding (each binds a private
salt), so the account states behind them stay private. Loading rebuilds the tree
and checks the stated root.
"""

from __future__ import annotations

from typing import Any

from engine.accounts_tree import AccountsTree
from engine.errors import InputError
from engine.fixedpoint import FIELD_P, ID_LIMIT
from engine.formats.json_text import Obj, as_int, check_format, emit_field, format_tag

MAX_DEPTH = 32


def dump_accounts_tree(tree: AccountsTree) -> dict[str, Any]:
    return {
        "format": format_tag("accounts-tree"),
        "depth": tree.depth,
        "root": emit_field(tree.root),
        "leaves": [[str(i), emit_field(tree.commitments[i])] for i in tree.ids],
    }


def _field(path: str, value: Any, low: int, high: int, what: str) -> int:
    number = as_int(path, value)
    if not low <= number < high:
        raise InputError(path, f"{what} must satisfy {low} <= x < {'2**64' if high == ID_LIMIT else 'r'}")
    return number


def load_accounts_tree_doc(data: dict[str, Any]) -> AccountsTree:
    """The tree of a published accounts-tree document; ``InputError`` names the bad value."""
    o = Obj("accounts_tree", data)
    check_format(o, "accounts-tree")
    depth = o.get("depth", as_int)
    if not 1 <= depth <= MAX_DEPTH:
        raise InputError(o.sub("depth"), f"must be in 1..{MAX_DEPTH}, got {depth}")
    stated = o.get("root", lambda p, v: _field(p, v, 0, FIELD_P, "a root"))
    commitments: dict[int, int] = {}
    previous = -1
    for path, leaf in o.items("leaves"):
        if not isinstance(leaf, list) or len(leaf) != 2:
            raise InputError(path, "a leaf is [account id, commitment]")
        account_id = _field(f"{path}[0]", leaf[0], 0, ID_LIMIT, "an account id")
        if account_id <= previous:
            raise InputError(
                f"{path}[0]", f"ids must strictly increase (no account twice): {account_id} after {previous}"
            )
        previous = account_id
        commitments[account_id] = _field(f"{path}[1]", leaf[1], 0, FIELD_P, "a commitment")
    o.done()
    tree = AccountsTree(commitments, depth)
    if tree.root != stated:
        raise InputError(o.sub("root"), "is not the root of the listed leaves")
    return tree

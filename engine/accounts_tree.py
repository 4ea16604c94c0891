"""The accounts tree (docs/margin-model.md section 5): one root that binds every account id
to its commitment, posted once per update instead of one commitment per account.

* Leaf: ``Poseidon2(account_id, commitment)`` (``commitment`` of spec section 5).
* Position: the account's rank by id (the smallest id at position 0). Entries of a
  batch proof come in strictly increasing id order, so their positions increase too.
* Tree: the 4-ary Poseidon tree of ``engine.merkle``, empty leaves 0, depth 10 by default
  (capacity 4**10 = 2**20 accounts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.commitments import commitments as commitments_of
from engine.errors import InputError
from engine.fixedpoint import FIELD_P, ID_LIMIT
from engine.merkle import MerklePath, SparseTree
from engine.model import Account
from engine.poseidon import poseidon, poseidon_many

ACCOUNTS_TREE_DEPTH = 10  # 4**10 = 2**20 accounts


def account_leaf(account_id: int, commitment: int) -> int:
    """The leaf binding ``account_id`` to ``commitment``: Poseidon2(id, commitment)."""
    return poseidon([account_id, commitment])


class AccountsTree:
    """The accounts tree of ``commitments`` (account id -> commitment)."""

    def __init__(self, commitments: Mapping[int, int], depth: int = ACCOUNTS_TREE_DEPTH) -> None:
        for account_id, c in commitments.items():
            if (
                isinstance(account_id, bool)
                or not isinstance(account_id, int)
                or not 0 <= account_id < ID_LIMIT
            ):
                raise InputError("accounts", f"account id must satisfy 0 <= id < 2**64, got {account_id!r}")
            if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < FIELD_P:
                raise InputError(f"accounts[{account_id}]", "commitment must be a field element (0 <= c < p)")
        self.ids = sorted(commitments)
        if len(self.ids) > 4**depth:
            raise InputError(
                "accounts", f"at most 4**{depth} = {4**depth} accounts fit the tree, got {len(self.ids)}"
            )
        self.position = {account_id: i for i, account_id in enumerate(self.ids)}
        leaves = poseidon_many([[i, commitments[i]] for i in self.ids])
        self.tree = SparseTree(dict(enumerate(leaves)), depth, "position")
        self.commitments = dict(commitments)
        self.depth = depth

    @classmethod
    def of_accounts(cls, accounts: Iterable[Account], depth: int = ACCOUNTS_TREE_DEPTH) -> AccountsTree:
        """The tree of these account states (each id once)."""
        states = list(accounts)
        seen: set[int] = set()
        for account in states:
            if account.account_id in seen:
                raise InputError("accounts", f"account {account.account_id} appears twice")
            seen.add(account.account_id)
        # batched (native, on every core when built): the same values as commitment() one by one
        values = commitments_of(states)
        return cls({a.account_id: c for a, c in zip(states, values, strict=True)}, depth)

    @property
    def root(self) -> int:
        return self.tree.root

    def path(self, account_id: int) -> MerklePath:
        """The Merkle path of ``account_id``'s leaf (at its position)."""
        if account_id not in self.position:
            raise InputError("account_id", f"account {account_id} is not in the accounts tree")
        return self.tree.path(self.position[account_id])

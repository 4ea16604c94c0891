"""The accounts tree: leaves, positions by id, paths, bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.accounts_tree import AccountsTree, account_leaf
from engine.errors import InputError
from engine.fixedpoint import FIELD_P
from engine.merkle import ARITY, node_hash
from engine.poseidon import poseidon


def dense_root(leaves: list[int]) -> int:
    level = leaves
    while len(level) > 1:
        level = [node_hash(level[i : i + ARITY]) for i in range(0, len(level), ARITY)]
    return level[0]


def test_leaf_is_poseidon2_of_id_and_commitment() -> None:
    assert account_leaf(7, 99) == poseidon([7, 99])


def test_positions_follow_the_ids_and_the_root_is_the_dense_one() -> None:
    commitments = {30: 3, 10: 1, 20: 2}
    tree = AccountsTree(commitments, depth=2)
    assert tree.ids == [10, 20, 30]
    leaves = [account_leaf(i, commitments[i]) for i in (10, 20, 30)] + [0] * 13
    assert tree.root == dense_root(leaves)
    assert tree.path(20).index == 1


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.integers(0, 2**64 - 1), st.integers(0, FIELD_P - 1), min_size=1, max_size=20))
def test_every_path_leads_to_the_root(commitments: dict[int, int]) -> None:
    tree = AccountsTree(commitments, depth=3)
    for account_id, c in commitments.items():
        path = tree.path(account_id)
        assert path.leaf == account_leaf(account_id, c)
        assert path.compute_root() == tree.root
        assert path.compute_root(account_leaf(account_id, (c + 1) % FIELD_P)) != tree.root


def test_bounds() -> None:
    with pytest.raises(InputError, match="at most 4\\*\\*1 = 4 accounts"):
        AccountsTree({i: 0 for i in range(5)}, depth=1)
    with pytest.raises(InputError, match="0 <= id < 2\\*\\*64"):
        AccountsTree({-1: 0})
    with pytest.raises(InputError, match="field element"):
        AccountsTree({1: FIELD_P})
    with pytest.raises(InputError, match="not in the accounts tree"):
        AccountsTree({1: 5}).path(2)
    assert AccountsTree({}).root == AccountsTree({}, depth=10).root

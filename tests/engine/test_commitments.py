"""Commitments of spec section 5: hash_list, leaves, the 4-ary tree, market/params/account."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.commitments import (
    InstrumentTree,
    MarketCommitments,
    asset_hash,
    commitment,
    hash_list,
    market_root,
    params_hash,
    positions_hash,
    ra_hash,
    row_leaf,
)
from engine.errors import InputError
from engine.fixedpoint import FIELD_P, SCALE
from engine.merkle import MerklePath, empty_subtree_root
from engine.model import EMPTY_SLOT, Account, AssetEntry, InstrumentRow, Market, RiskParams, Slot
from engine.poseidon import poseidon
from engine.profiles import PROFILES

TEST = PROFILES["test"]  # A = 2, k = 4, d = 2


def make_row(instrument_id: int, seed: int = 0, asset: int = 0) -> InstrumentRow:
    """A row with distinct, partly negative values derived from ``seed``."""
    ra = tuple((-1) ** s * (seed + 1) * (s + 1) * 1_000 for s in range(16))
    return InstrumentRow(
        instrument_id=instrument_id,
        asset=asset,
        mark=100 * SCALE + seed,
        delta=-SCALE // 2 + seed,
        ra=ra,
        c_long=2 * SCALE + seed,
        c_short=3 * SCALE + seed,
    )


def make_market(rows: dict[int, InstrumentRow] | None = None, epoch: int = 7) -> Market:
    if rows is None:
        rows = {1: make_row(1, 1), 6: make_row(6, 2, asset=1), 15: make_row(15, 3)}
    assets = (
        AssetEntry(spot=50_000 * SCALE, depth=10**7 * SCALE),
        AssetEntry(spot=3_000 * SCALE, depth=10**6),
    )
    return Market(profile=TEST, epoch=epoch, assets=assets, rows=rows)


def make_account() -> Account:
    slots = (Slot(1, 5 * SCALE), Slot(6, -2 * SCALE), EMPTY_SLOT, EMPTY_SLOT)
    return Account(account_id=42, nonce=3, salt=123456789, cash=-1_000 * SCALE, slots=slots)


# ---------------------------------------------------------------- hash_list


def chained(chunks: list[list[int]]) -> int:
    """Expected hash_list value from explicit, already padded chunks."""
    h = 0
    for chunk in chunks:
        assert len(chunk) == 15
        h = poseidon([h, *chunk])
    return h


def test_hash_list_empty_is_zero() -> None:
    assert hash_list([]) == 0


@pytest.mark.parametrize("n", [1, 15, 16, 30, 31])
def test_hash_list_chunking(n: int) -> None:
    xs = [i + 1 for i in range(n)]
    padded = xs + [0] * (-n % 15)
    chunks = [padded[i : i + 15] for i in range(0, len(padded), 15)]
    assert len(chunks) == -(-n // 15)
    assert hash_list(xs) == chained(chunks)


def test_hash_list_padding_is_visible_only_through_length() -> None:
    # Zero padding means a trailing zero inside a chunk does not change the hash...
    assert hash_list([1, 2]) == hash_list([1, 2, 0])
    # ...but a full zero chunk does (one more Poseidon16 round).
    assert hash_list([1] * 15) != hash_list([1] * 15 + [0])


def test_hash_list_maps_negatives_mod_p() -> None:
    assert hash_list([-5, 7]) == hash_list([FIELD_P - 5, 7])
    assert hash_list([-5, 7]) != hash_list([5, 7])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=-(2**100), max_value=2**100), max_size=20))
def test_hash_list_equals_its_definition(xs: list[int]) -> None:
    field = [x % FIELD_P for x in xs]
    padded = field + [0] * (-len(field) % 15)
    assert hash_list(xs) == chained([padded[i : i + 15] for i in range(0, len(padded), 15)])


# ---------------------------------------------------------------- rows and leaves


def test_row_leaf_definition() -> None:
    row = make_row(9, seed=4)
    ra = [x % FIELD_P for x in row.ra]
    expected = poseidon([9, row.asset, row.mark, row.delta % FIELD_P, row.c_long, row.c_short, poseidon(ra)])
    assert ra_hash(row.ra) == poseidon(ra)
    assert row_leaf(row) == expected


def test_ra_hash_rejects_wrong_length() -> None:
    with pytest.raises(InputError) as info:
        ra_hash((1,) * 15)
    assert info.value.field == "row.ra"


def _bump_ra(s: int) -> Callable[[InstrumentRow], InstrumentRow]:
    """A change that adds 1 to scenario ``s`` of a row."""

    def change(row: InstrumentRow) -> InstrumentRow:
        return dataclasses.replace(row, ra=(*row.ra[:s], row.ra[s] + 1, *row.ra[s + 1 :]))

    return change


ROW_CHANGES: dict[str, Callable[[InstrumentRow], InstrumentRow]] = {
    "asset": lambda r: dataclasses.replace(r, asset=r.asset + 1),
    "mark": lambda r: dataclasses.replace(r, mark=r.mark + 1),
    "delta": lambda r: dataclasses.replace(r, delta=r.delta + 1),
    "c_long": lambda r: dataclasses.replace(r, c_long=r.c_long + 1),
    "c_short": lambda r: dataclasses.replace(r, c_short=r.c_short + 1),
    **{f"ra[{s}]": _bump_ra(s) for s in (0, 7, 15)},
}


@pytest.mark.parametrize("name", ROW_CHANGES)
def test_row_leaf_changes_with_every_field(name: str) -> None:
    row = make_row(3, seed=1)
    assert row_leaf(ROW_CHANGES[name](row)) != row_leaf(row)


# ---------------------------------------------------------------- the tree


def dense_root(leaves: list[int]) -> int:
    """Root of a complete 4-ary tree, hashing every node (no sparse tricks)."""
    level = leaves
    while len(level) > 1:
        level = [poseidon(level[i : i + 4]) for i in range(0, len(level), 4)]
    return level[0]


def test_empty_tree_roots() -> None:
    for depth in (1, 2, 3):
        assert InstrumentTree({}, depth).root == dense_root([0] * 4**depth)
    assert empty_subtree_root(0) == 0
    assert empty_subtree_root(1) == poseidon([0, 0, 0, 0])


def test_sparse_equals_dense_depth_2() -> None:
    rows = {i: make_row(i, seed=i) for i in (0, 5, 6, 15)}
    leaves = [row_leaf(rows[i]) if i in rows else 0 for i in range(16)]
    assert InstrumentTree(rows, 2).root == dense_root(leaves)


@settings(max_examples=15, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=15), max_size=6), st.integers(min_value=0, max_value=15))
def test_sparse_equals_dense_and_paths_verify(ids: set[int], probe: int) -> None:
    rows = {i: make_row(i, seed=3 * i + 1) for i in ids}
    tree = InstrumentTree(rows, 2)
    leaves = [row_leaf(rows[i]) if i in rows else 0 for i in range(16)]
    assert tree.root == dense_root(leaves)
    path = tree.path(probe)
    assert path.leaf == leaves[probe]
    assert path.compute_root() == tree.root


def test_full_tree_depth_2() -> None:
    rows = {i: make_row(i, seed=i) for i in range(16)}
    assert InstrumentTree(rows, 2).root == dense_root([row_leaf(rows[i]) for i in range(16)])


def test_sibling_layout_depth_1() -> None:
    rows = {i: make_row(i, seed=i) for i in range(4)}
    leaves = [row_leaf(rows[i]) for i in range(4)]
    path = InstrumentTree(rows, 1).path(2)
    assert path.positions == (2,)
    assert path.siblings == ((leaves[0], leaves[1], leaves[3]),)
    assert path.leaf == leaves[2]


@pytest.mark.parametrize("instrument_id", [0, 1, 6, 9, 15])
def test_path_recomputes_root_depth_2(instrument_id: int) -> None:
    rows = {i: make_row(i, seed=i) for i in (0, 6, 9, 15)}
    tree = InstrumentTree(rows, 2)
    path = tree.path(instrument_id)
    assert path.positions == (instrument_id % 4, instrument_id // 4)
    assert path.compute_root() == tree.root
    assert path.leaf == (row_leaf(rows[instrument_id]) if instrument_id in rows else 0)


@pytest.mark.parametrize("instrument_id", [0, 1023, 517, 100])
def test_path_recomputes_root_sparse_depth_5(instrument_id: int) -> None:
    rows = {i: make_row(i, seed=i) for i in (0, 1, 100, 517, 1023)}
    tree = InstrumentTree(rows, 5)
    path = tree.path(instrument_id)
    assert len(path.siblings) == len(path.positions) == 5
    assert path.positions == tuple((instrument_id >> (2 * level)) & 3 for level in range(5))
    assert path.compute_root() == tree.root


def test_path_rejects_a_wrong_leaf_or_sibling() -> None:
    rows = {i: make_row(i, seed=i) for i in (2, 7)}
    tree = InstrumentTree(rows, 2)
    path = tree.path(7)
    assert path.compute_root(path.leaf + 1) != tree.root
    sibs = list(path.siblings)
    sibs[1] = (sibs[1][0] + 1, sibs[1][1], sibs[1][2])
    assert MerklePath(7, path.leaf, path.positions, tuple(sibs)).compute_root() != tree.root
    # The same leaf at another position leads elsewhere.
    moved = MerklePath(7, path.leaf, (path.positions[0] ^ 1, path.positions[1]), path.siblings)
    assert moved.compute_root() != tree.root


def test_tree_rejects_bad_ids() -> None:
    with pytest.raises(InputError) as info:
        InstrumentTree({16: make_row(16)}, 2)
    assert info.value.field == "rows[16]"
    assert "4**2" in info.value.message
    with pytest.raises(InputError):
        InstrumentTree({-1: make_row(-1)}, 2)
    with pytest.raises(InputError) as mismatch:
        InstrumentTree({3: make_row(4)}, 2)
    assert mismatch.value.field == "rows[3].instrument_id"
    tree = InstrumentTree({}, 2)
    with pytest.raises(InputError):
        tree.path(16)


def test_tree_changes_with_a_row() -> None:
    rows = {i: make_row(i, seed=i) for i in (1, 2)}
    base = InstrumentTree(rows, 2).root
    assert InstrumentTree({**rows, 2: make_row(2, seed=9)}, 2).root != base
    assert InstrumentTree({1: rows[1]}, 2).root != base


# ---------------------------------------------------------------- market


def test_market_root_definition_and_paths() -> None:
    market = make_market()
    mc = MarketCommitments(market)
    tree = InstrumentTree(market.rows, TEST.depth)
    assets = [50_000 * SCALE, 10**7 * SCALE, 3_000 * SCALE, 10**6]
    assert mc.asset_hash == asset_hash(market.assets) == hash_list(assets)
    assert mc.tree_root == tree.root
    assert mc.market_root == market_root(market) == poseidon([tree.root, mc.asset_hash, 7])
    for instrument_id in (1, 6, 15):
        path = mc.path(instrument_id)
        assert path.leaf == mc.leaf(instrument_id) == row_leaf(market.rows[instrument_id])
        assert path.compute_root() == mc.tree_root


MARKET_CHANGES: dict[str, Callable[[Market], Market]] = {
    "epoch": lambda m: dataclasses.replace(m, epoch=m.epoch + 1),
    "spot": lambda m: dataclasses.replace(
        m, assets=(AssetEntry(m.assets[0].spot + 1, m.assets[0].depth), m.assets[1])
    ),
    "depth": lambda m: dataclasses.replace(
        m, assets=(m.assets[0], AssetEntry(m.assets[1].spot, m.assets[1].depth + 1))
    ),
    "row": lambda m: dataclasses.replace(m, rows={**m.rows, 6: dataclasses.replace(m.rows[6], mark=1)}),
    "new row": lambda m: dataclasses.replace(m, rows={**m.rows, 0: make_row(0)}),
}


@pytest.mark.parametrize("name", MARKET_CHANGES)
def test_market_root_changes_with_every_part(name: str) -> None:
    market = make_market()
    assert market_root(MARKET_CHANGES[name](market)) != market_root(market)


def test_market_rejects_wrong_asset_count() -> None:
    market = dataclasses.replace(make_market(), assets=(AssetEntry(1, 1),))
    with pytest.raises(InputError) as info:
        MarketCommitments(market)
    assert info.value.field == "market.assets"


# ---------------------------------------------------------------- risk parameters


def test_params_hash_order() -> None:
    rho = ((SCALE, 11, 12), (11, SCALE, 13), (12, 13, SCALE))
    params = RiskParams(mm_factor=600_000, kappa=(1, 2, 3), rho=rho)
    expected = hash_list([2, 600_000, 1, 2, 3, SCALE, 11, 12, SCALE, 13, SCALE])  # 2: ZKPM-2
    assert params_hash(params) == expected
    # the same integers under ZKPM-1 (no model number) commit to something else
    assert params_hash(params) != hash_list([600_000, 1, 2, 3, SCALE, 11, 12, SCALE, 13, SCALE])


def test_params_hash_changes_with_every_field() -> None:
    rho = ((SCALE, -300_000), (-300_000, SCALE))
    params = RiskParams(mm_factor=500_000, kappa=(10, 20), rho=rho)
    base = params_hash(params)
    variants = [
        dataclasses.replace(params, mm_factor=500_001),
        dataclasses.replace(params, kappa=(11, 20)),
        dataclasses.replace(params, kappa=(10, 21)),
        dataclasses.replace(params, rho=((SCALE, -299_999), (-299_999, SCALE))),
        dataclasses.replace(params, rho=((SCALE - 1, -300_000), (-300_000, SCALE))),
        dataclasses.replace(params, rho=((SCALE, -300_000), (-300_000, SCALE - 1))),
    ]
    assert len({base, *(params_hash(v) for v in variants)}) == len(variants) + 1
    # Negative correlation is hashed as p - x.
    assert base == hash_list([2, 500_000, 10, 20, SCALE, FIELD_P - 300_000, SCALE])


def test_params_hash_rejects_bad_rho_shape() -> None:
    with pytest.raises(InputError):
        params_hash(RiskParams(mm_factor=1, kappa=(1, 2), rho=((SCALE,),)))


# ---------------------------------------------------------------- account


def test_commitment_definition() -> None:
    account = make_account()
    pos = hash_list([1, 5 * SCALE, 6, FIELD_P - 2 * SCALE, 0, 0, 0, 0])
    assert positions_hash(account) == pos
    assert commitment(account) == poseidon([42, 3, 123456789, FIELD_P - 1_000 * SCALE, pos])


def _with_slot(account: Account, index: int, slot: Slot) -> Account:
    slots = list(account.slots)
    slots[index] = slot
    return dataclasses.replace(account, slots=tuple(slots))


ACCOUNT_CHANGES: dict[str, Callable[[Account], Account]] = {
    "account_id": lambda a: dataclasses.replace(a, account_id=a.account_id + 1),
    "nonce": lambda a: dataclasses.replace(a, nonce=a.nonce + 1),
    "salt": lambda a: dataclasses.replace(a, salt=a.salt + 1),
    "cash": lambda a: dataclasses.replace(a, cash=a.cash + 1),
    "cash sign": lambda a: dataclasses.replace(a, cash=-a.cash),
    "slot0 id": lambda a: _with_slot(a, 0, Slot(2, a.slots[0].q)),
    "slot0 q": lambda a: _with_slot(a, 0, Slot(1, a.slots[0].q + 1)),
    "slot1 q sign": lambda a: _with_slot(a, 1, Slot(6, -a.slots[1].q)),
    "slot3 filled": lambda a: _with_slot(a, 3, Slot(9, 1)),
}


@pytest.mark.parametrize("name", ACCOUNT_CHANGES)
def test_commitment_changes_with_every_field(name: str) -> None:
    account = make_account()
    assert commitment(ACCOUNT_CHANGES[name](account)) != commitment(account)

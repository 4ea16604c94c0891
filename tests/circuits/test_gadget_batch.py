"""The batch gadgets against the engine: PrefixMask, BatchEntry, AccountInclusion,
MarketRoot and ParamsHash (circuits/gadgets/, docs/circuit.md section 11)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.accounts_tree import AccountsTree, account_leaf
from engine.batch_statement import SHORTFALL_CAP, BatchEntry, capped_shortfall, pack_words, word_count
from engine.commitments import MarketCommitments, params_hash
from engine.fixedpoint import FIELD_P, ID_LIMIT
from engine.profiles import PROFILES
from tests.circuits.cases import builder_market, random_params
from tests.circuits.gadget_runner import gadget, outputs, rejected

TEST = PROFILES["test"]


@pytest.mark.parametrize("size", [1, 4])
def test_prefix_mask_counts_and_bounds(size: int) -> None:
    circuit = gadget("prefix_mask:PrefixMask", str(size))
    for count in range(size + 1):
        assert outputs(circuit, {"count": count}) == tuple(int(i < count) for i in range(size))
    for count in (size + 1, -1, FIELD_P - 1, 2**64):
        assert rejected(circuit, {"count": count}), count


def test_prefix_mask_rejects_a_mask_with_a_hole() -> None:
    """A witness whose ones are not a prefix fails even with the right sum: built by hand
    on the R1CS, since the calculator always writes the honest mask."""
    from tests.circuits.test_soundness import _full
    from tests.support.r1cs import is_satisfied

    circuit = gadget("prefix_mask:PrefixMask", "4")
    w = _full(circuit, {"count": 2})
    assert is_satisfied(circuit.r1cs, w)
    bad = list(w)
    bad[circuit.wire("used[1]")], bad[circuit.wire("used[2]")] = 0, 1  # 1, 0, 1, 0
    assert not is_satisfied(circuit.r1cs, bad)


SHORTFALL_EDGES = [0, 1, SHORTFALL_CAP - 1, SHORTFALL_CAP, SHORTFALL_CAP + 1, 2**186, 2**187 - 1]


@settings(max_examples=40, deadline=None)
@given(
    account_id=st.integers(0, ID_LIMIT - 1),
    status=st.integers(0, 3),
    shortfall=st.one_of(st.sampled_from(SHORTFALL_EDGES), st.integers(0, 2**64), st.integers(0, 2**187 - 1)),
    used=st.integers(0, 1),
)
def test_batch_entry_packs_and_caps_as_the_engine(
    account_id: int, status: int, shortfall: int, used: int
) -> None:
    circuit = gadget("batch_entry:BatchEntry", "187")
    inputs = {"used": used, "account_id": account_id, "status": status, "shortfall": shortfall}
    (got,) = outputs(circuit, inputs, signed=False)
    entry = BatchEntry(account_id, status, capped_shortfall(shortfall))
    assert got == (entry.packed if used else 0)
    assert got < 2**126 and BatchEntry.unpack(got) == (entry if used else BatchEntry(0, 0, 0))


def test_batch_entry_cap_cannot_be_bypassed() -> None:
    """A shortfall above the cap published uncapped, or one below it published as the cap:
    the comparison's bits no longer add up (R1CS built by hand; the calculator is honest)."""
    from tests.circuits.test_soundness import _full
    from tests.support.r1cs import is_satisfied

    circuit = gadget("batch_entry:BatchEntry", "187")
    for shortfall in (SHORTFALL_CAP + 5, SHORTFALL_CAP - 5):
        w = _full(circuit, {"used": 1, "account_id": 7, "status": 2, "shortfall": shortfall})
        assert is_satisfied(circuit.r1cs, w)
        for flipped in (1 - w[circuit.wire("below.out")],):
            bad = list(w)
            bad[circuit.wire("below.out")] = flipped
            bad[circuit.wire("capped")] = shortfall if flipped else SHORTFALL_CAP
            assert not is_satisfied(circuit.r1cs, bad), shortfall


@pytest.mark.parametrize("width", ["60", "253"])
def test_batch_entry_refuses_a_shortfall_width_it_cannot_cap(width: str) -> None:
    with pytest.raises(RuntimeError, match=r"circom failed[\s\S]*[Aa]ssert"):
        gadget("batch_entry:BatchEntry", width)


@pytest.mark.parametrize("size", [1, 4, 5])
def test_entry_words_pair_entries_as_the_engine(size: int) -> None:
    rng = random.Random(size)
    circuit = gadget("entry_words:EntryWords", str(size))
    entries = [rng.randrange(2**126) for _ in range(size)]
    got = outputs(circuit, {"entries": entries}, signed=False)
    assert list(got) == pack_words(entries)
    assert len(got) == word_count(size) and all(w < 2**252 for w in got)


def test_account_inclusion_matches_the_engine_tree() -> None:
    rng = random.Random(5)
    depth = 3
    commitments = {rng.randrange(ID_LIMIT): rng.randrange(FIELD_P) for _ in range(40)}
    tree = AccountsTree(commitments, depth=depth)
    circuit = gadget("account_inclusion:AccountInclusion", str(depth))
    for account_id in (tree.ids[0], tree.ids[17], tree.ids[-1]):
        path = tree.path(account_id)
        good = {
            "enabled": 1,
            "account_id": account_id,
            "commitment": commitments[account_id],
            "position": path.index,
            "siblings": [list(s) for s in path.siblings],
            "accountsRoot": tree.root,
        }
        assert path.compute_root(account_leaf(account_id, commitments[account_id])) == tree.root
        assert not rejected(circuit, good)
        for field, value in (
            ("commitment", (commitments[account_id] + 1) % FIELD_P),
            ("account_id", account_id ^ 1),
            ("position", (path.index + 1) % 4**depth),
            ("position", 4**depth + path.index),  # outside the tree: Num2Bits(2 D) refuses it
            ("accountsRoot", (tree.root + 1) % FIELD_P),
        ):
            assert rejected(circuit, {**good, field: value}), field
        assert not rejected(circuit, {**good, "enabled": 0, "accountsRoot": 12345})  # padding


def test_market_root_and_params_hash_match_the_engine() -> None:
    rng = random.Random(8)
    market = builder_market(TEST, rng)
    params = random_params(TEST, rng)
    mc = MarketCommitments(market)
    (root,) = outputs(
        gadget("market_root:MarketRoot", str(TEST.assets)),
        {
            "tree_root": mc.tree_root,
            "spot": [a.spot for a in market.assets],
            "depth": [a.depth for a in market.assets],
            "epoch": market.epoch,
        },
        signed=False,
    )
    assert root == mc.market_root
    circuit = gadget("params_hash:ParamsHash", str(TEST.assets))
    inputs = {
        "mm_factor": params.mm_factor,
        "kappa": list(params.kappa),
        "rho": [list(r) for r in params.rho],
    }
    got, *upper = outputs(circuit, inputs, signed=True)
    assert got % FIELD_P == params_hash(params)
    assert upper == [params.rho[a][b] for a in range(TEST.assets) for b in range(a, TEST.assets)]
    asym = [list(r) for r in params.rho]
    asym[1][0] += 1  # the lower triangle must equal the upper one
    assert rejected(circuit, {**inputs, "rho": asym})

"""HashList, RowLeaf, QuadPlace and Merkle4Root against engine.commitments."""

from __future__ import annotations

import random

import pytest

from engine.commitments import InstrumentTree, hash_list, row_leaf
from engine.model import InstrumentRow
from tests.circuits.gadget_runner import gadget, outputs
from tests.circuits.harness import compile_circuit

P_SMALL = 2**250


@pytest.mark.parametrize("n", [1, 2, 15, 16, 30, 31])
def test_hash_list_matches_engine(n: int) -> None:
    rng = random.Random(n)
    xs = [rng.randrange(-(2**100), P_SMALL) for _ in range(n)]
    (got,) = outputs(gadget("hash_list:HashList", str(n)), {"in": xs}, signed=False)
    assert got == hash_list(xs)


def _row(iid: int, rng: random.Random) -> InstrumentRow:
    return InstrumentRow(
        instrument_id=iid,
        asset=rng.randrange(2),
        mark=rng.randrange(-(2**47), 2**47),
        delta=rng.randrange(-16 * 10**6, 16 * 10**6),
        ra=tuple(rng.randrange(-(2**47), 2**47) for _ in range(16)),
        c_long=rng.randrange(2**47),
        c_short=rng.randrange(2**47),
    )


def test_row_leaf_matches_engine() -> None:
    rng = random.Random(2)
    circuit = gadget("row_leaf:RowLeaf")
    for iid in (0, 1, 15):
        row = _row(iid, rng)
        inp = {
            "id": row.instrument_id,
            "asset": row.asset,
            "mark": row.mark,
            "delta": row.delta,
            "cLong": row.c_long,
            "cShort": row.c_short,
            "ra": list(row.ra),
        }
        assert outputs(circuit, inp, signed=False) == (row_leaf(row),)


@pytest.mark.parametrize("digit", [0, 1, 2, 3])
def test_quad_place(digit: int) -> None:
    sib = [11, 22, 33]
    expected = [*sib[:digit], 99, *sib[digit:]]
    got = outputs(gadget("quad_place:QuadPlace"), {"cur": 99, "sib": sib, "b": [digit & 1, digit >> 1]})
    assert list(got) == expected


def test_merkle4_root_every_leaf_of_depth_2() -> None:
    rng = random.Random(4)
    rows = {iid: _row(iid, rng) for iid in rng.sample(range(16), 9)}
    tree = InstrumentTree(rows, 2)
    circuit = compile_circuit(
        "merkle4_d2",
        'pragma circom 2.1.0;\ninclude "gadgets/merkle4.circom";\ncomponent main = Merkle4Root(2);\n',
    )
    for iid in range(16):
        path = tree.path(iid)
        bits = [[(iid >> (2 * lv)) & 1, (iid >> (2 * lv + 1)) & 1] for lv in range(2)]
        inp = {"leaf": path.leaf, "digitBits": bits, "siblings": [list(s) for s in path.siblings]}
        assert outputs(circuit, inp, signed=False) == (tree.root,)
        # a wrong sibling or a wrong digit leads elsewhere
        bad = [list(s) for s in path.siblings]
        bad[1][2] += 1
        assert outputs(circuit, {**inp, "siblings": bad}, signed=False) != (tree.root,)
        flipped = [row[:] for row in bits]
        flipped[0][0] ^= 1
        if path.siblings[0][0] != path.leaf or iid != 0:
            assert outputs(circuit, {**inp, "digitBits": flipped}, signed=False) != (tree.root,)

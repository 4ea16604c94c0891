"""CanonicalSlots, OneHot and MarginStatus."""

from __future__ import annotations

import pytest

from engine.margin import classify
from tests.circuits.gadget_runner import gadget, outputs, rejected

K, IDB = 4, 4  # 4 slots, ids < 16


def _slots(pairs: list[tuple[int, int]]) -> dict[str, list[int]]:
    return {"id": [i for i, _ in pairs], "q": [q for _, q in pairs]}


CANONICAL = [
    [(0, 0), (0, 0), (0, 0), (0, 0)],  # empty account
    [(0, 5), (0, 0), (0, 0), (0, 0)],  # instrument 0 held
    [(0, -1), (1, 2), (2, 3), (15, -4)],  # full, consecutive and last id
    [(3, 1), (9, -1), (0, 0), (0, 0)],
]


@pytest.mark.parametrize("pairs", CANONICAL)
def test_canonical_accepted(pairs: list[tuple[int, int]]) -> None:
    nz = outputs(gadget("canonical_slots:CanonicalSlots", f"{K}, {IDB}"), _slots(pairs))
    assert nz == tuple(int(q != 0) for _, q in pairs)


NOT_CANONICAL = [
    [(0, 0), (3, 1), (0, 0), (0, 0)],  # empty slot before a position
    [(3, 1), (3, 2), (0, 0), (0, 0)],  # repeated id
    [(5, 1), (3, 2), (0, 0), (0, 0)],  # decreasing ids
    [(3, 1), (0, 0), (7, 0), (0, 0)],  # empty slot with a non-zero id
    [(0, 0), (0, 0), (0, 0), (1, 0)],
    [(15, 1), (14, 1), (0, 0), (0, 0)],  # step of -2^IDB + ... wraps: -2 mod p fails the step range
]


@pytest.mark.parametrize("pairs", NOT_CANONICAL)
def test_non_canonical_rejected(pairs: list[tuple[int, int]]) -> None:
    assert rejected(gadget("canonical_slots:CanonicalSlots", f"{K}, {IDB}"), _slots(pairs))


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_one_hot(index: int) -> None:
    assert outputs(gadget("one_hot:OneHot", "4"), {"index": index}) == tuple(
        int(i == index) for i in range(4)
    )


@pytest.mark.parametrize("index", [4, 5, -1, 2**64])
def test_one_hot_out_of_range(index: int) -> None:
    assert rejected(gadget("one_hot:OneHot", "4"), {"index": index})


CB = 16
STATUS_CASES = [
    # (E, IM, MM)
    (-1, 100, 50),
    (0, 100, 50),
    (49, 100, 50),
    (50, 100, 50),
    (99, 100, 50),
    (100, 100, 50),
    (10_000, 100, 50),
    (0, 0, 0),
    (-(2**CB), 2**CB - 1, 2**CB - 1),
    (2**CB - 1, 0, 0),
    (-5, 0, 0),
    (5, 3, 9),  # MM > IM (not from real parameters): the if-chain still holds
]


@pytest.mark.parametrize(("E", "IM", "MM"), STATUS_CASES)
def test_margin_status(E: int, IM: int, MM: int) -> None:
    got = outputs(gadget("margin_status:MarginStatus", str(CB)), {"E": E, "IM": IM, "MM": MM})
    assert got == (classify(E, IM, MM), max(0, MM - E))


def test_margin_status_rejects_too_wide() -> None:
    assert rejected(gadget("margin_status:MarginStatus", str(CB)), {"E": 2**CB, "IM": 0, "MM": 0})

"""The operator's batching rule: insolvent first, then by shortfall; id order inside a batch."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.batch_statement import SHORTFALL_CAP, BatchEntry
from engine.batching import liquidation_batches, priority_key
from engine.errors import InputError


def test_insolvent_first_then_largest_shortfall_and_id_order_inside() -> None:
    entries = [
        BatchEntry(1, 2, 50),
        BatchEntry(2, 3, 10),
        BatchEntry(3, 0, 0),
        BatchEntry(4, 2, 900),
        BatchEntry(5, 1, 0),
        BatchEntry(6, 3, 5),
        BatchEntry(7, 2, 900),
    ]
    batches = liquidation_batches(entries, 2)
    assert [[e.account_id for e in b] for b in batches] == [[2, 6], [4, 7], [1]]
    assert liquidation_batches([BatchEntry(3, 0, 0)], 4) == []


def test_bad_plans_are_refused() -> None:
    with pytest.raises(InputError, match="batch size"):
        liquidation_batches([], 0)
    with pytest.raises(InputError, match="appears twice"):
        liquidation_batches([BatchEntry(1, 2, 1), BatchEntry(1, 3, 1)], 4)


entry_lists = st.lists(
    st.builds(BatchEntry, st.integers(0, 2**64 - 1), st.integers(0, 3), st.integers(0, SHORTFALL_CAP)),
    max_size=60,
    unique_by=lambda e: e.account_id,
)


@settings(max_examples=200, deadline=None)
@given(entries=entry_lists, size=st.integers(1, 9))
def test_every_due_account_once_in_priority_order(entries: list[BatchEntry], size: int) -> None:
    batches = liquidation_batches(entries, size)
    flat = [e for b in batches for e in b]
    due = [e for e in entries if e.status >= 2]
    assert sorted(flat, key=priority_key) == sorted(due, key=priority_key)
    assert all(1 <= len(b) <= size for b in batches) and all(len(b) == size for b in batches[:-1])
    for b in batches:
        assert [e.account_id for e in b] == sorted({e.account_id for e in b})
    # every account of an earlier batch comes before every account of a later one in priority
    for earlier, later in itertools.pairwise(batches):
        assert max(map(priority_key, earlier)) < min(map(priority_key, later))

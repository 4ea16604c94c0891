"""The batch statement: packing of entries, their bounds, the public signals of a batch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.batch_statement import (
    ENTRY_BITS,
    SHORTFALL_LIMIT,
    BatchEntry,
    batch_public_signals,
    check_batch,
    padded_entries,
)
from engine.errors import InputError
from engine.fixedpoint import FIELD_P, ID_LIMIT

entries = st.builds(
    BatchEntry, st.integers(0, ID_LIMIT - 1), st.integers(0, 3), st.integers(0, SHORTFALL_LIMIT - 1)
)


@settings(max_examples=300, deadline=None)
@given(entry=entries)
def test_pack_unpack_round_trip_below_2_253(entry: BatchEntry) -> None:
    packed = entry.packed
    assert 0 <= packed < 2**ENTRY_BITS < FIELD_P  # never wraps in the field
    assert BatchEntry.unpack(packed) == entry


@settings(max_examples=200, deadline=None)
@given(a=entries, b=entries)
def test_packing_is_injective(a: BatchEntry, b: BatchEntry) -> None:
    assert (a.packed == b.packed) == (a == b)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((-1, 0, 0), "entry.account_id"),
        ((ID_LIMIT, 0, 0), "entry.account_id"),
        ((1, 4, 0), "entry.status"),
        ((1, -1, 0), "entry.status"),
        ((1, 2, SHORTFALL_LIMIT), "entry.shortfall"),
        ((1, 2, -1), "entry.shortfall"),
        ((True, 2, 1), "entry.account_id"),
    ],
)
def test_entry_bounds_name_the_field(args: tuple[int, int, int], field: str) -> None:
    with pytest.raises(InputError) as exc:
        BatchEntry(*args)
    assert exc.value.field == field


@pytest.mark.parametrize("value", [-1, 2**ENTRY_BITS, FIELD_P, 2**256])
def test_unpack_refuses_values_that_are_not_entries(value: int) -> None:
    with pytest.raises(InputError, match="2\\*\\*253"):
        BatchEntry.unpack(value)


def test_batch_order_size_and_padding() -> None:
    a, b, c = BatchEntry(1, 2, 5), BatchEntry(7, 0, 0), BatchEntry(9, 3, 1)
    assert padded_entries([a, b, c], 4) == [a.packed, b.packed, c.packed, 0]
    assert batch_public_signals(11, 12, 13, [a, c], 3) == [11, 12, 13, 2, a.packed, c.packed, 0]
    for bad, size, field in (
        ([], 4, "batch"),
        ([a, b, c], 2, "batch"),
        ([b, a], 4, "batch[1].account_id"),
        ([a, a], 4, "batch[1].account_id"),
    ):
        with pytest.raises(InputError) as exc:
            check_batch(bad, size)
        assert exc.value.field == field
    with pytest.raises(InputError) as exc:
        batch_public_signals(FIELD_P, 12, 13, [a], 4)
    assert exc.value.field == "accounts_root"

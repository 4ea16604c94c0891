"""The batch statement: packing of entries, their bounds, the public signals of a batch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.batch_statement import (
    ENTRY_BITS,
    SHORTFALL_CAP,
    WORD_BITS,
    BatchEntry,
    batch_public_signals,
    batch_words,
    capped_shortfall,
    check_batch,
    pack_words,
    padded_entries,
    split_words,
    unpack_words,
    word_count,
)
from engine.errors import InputError
from engine.fixedpoint import FIELD_P, ID_LIMIT

entries = st.builds(
    BatchEntry, st.integers(0, ID_LIMIT - 1), st.integers(0, 3), st.integers(0, SHORTFALL_CAP)
)


@settings(max_examples=300, deadline=None)
@given(entry=entries)
def test_pack_unpack_round_trip_below_2_126(entry: BatchEntry) -> None:
    packed = entry.packed
    assert 0 <= packed < 2**ENTRY_BITS == 2**126
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
        ((1, 2, SHORTFALL_CAP + 1), "entry.shortfall"),
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
    with pytest.raises(InputError, match="2\\*\\*126"):
        BatchEntry.unpack(value)


def test_batch_order_size_and_padding() -> None:
    a, b, c = BatchEntry(1, 2, 5), BatchEntry(7, 0, 0), BatchEntry(9, 3, 1)
    assert padded_entries([a, b, c], 4) == [a.packed, b.packed, c.packed, 0]
    assert batch_words([a, b, c], 4) == [a.packed + (b.packed << 126), c.packed]
    assert batch_public_signals(11, 12, 13, [a, c], 3) == [11, 12, 13, 2, a.packed + (c.packed << 126), 0]
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


def test_shortfall_is_capped_at_2_60_minus_1() -> None:
    assert SHORTFALL_CAP == 2**60 - 1
    assert capped_shortfall(0) == 0
    assert capped_shortfall(SHORTFALL_CAP) == SHORTFALL_CAP
    assert capped_shortfall(2**186) == SHORTFALL_CAP
    assert BatchEntry(1, 3, SHORTFALL_CAP).capped and not BatchEntry(1, 3, SHORTFALL_CAP - 1).capped


@settings(max_examples=200, deadline=None)
@given(data=st.data(), size=st.integers(1, 9))
def test_words_round_trip_below_2_252(data: st.DataObject, size: int) -> None:
    ids = sorted(data.draw(st.sets(st.integers(0, ID_LIMIT - 1), min_size=1, max_size=size)))
    batch = [
        BatchEntry(i, data.draw(st.integers(0, 3)), data.draw(st.integers(0, SHORTFALL_CAP))) for i in ids
    ]
    words = batch_words(batch, size)
    assert len(words) == word_count(size) == (size + 1) // 2
    assert all(0 <= w < 2**WORD_BITS < FIELD_P for w in words)  # never wraps in the field
    assert unpack_words(words, len(batch), size) == batch


def test_pack_words_pairs_entries_and_leaves_an_odd_one_alone() -> None:
    assert pack_words([1, 2, 3]) == [1 + (2 << 126), 3]
    assert pack_words([5]) == [5]


@pytest.mark.parametrize(
    ("words", "count", "size", "field"),
    [
        ([0], 1, 4, "words"),  # too few words for K = 4
        ([1, 0, 0], 1, 4, "words"),  # too many
        ([1, 0], 0, 4, "count"),
        ([1, 0], 5, 4, "count"),
        ([2**252, 0], 1, 4, "words[0]"),
        ([-1, 0], 1, 4, "words[0]"),
        ([1 + (2 << 126), 0], 1, 4, "words[0]"),  # entry 1 is padding but not 0
        ([1, 7], 2, 4, "words[1]"),  # entry 2 is padding but not 0
        ([2 + (1 << 126), 0], 2, 4, "batch[1].account_id"),  # ids decrease
    ],
)
def test_unpack_words_names_the_bad_word(words: list[int], count: int, size: int, field: str) -> None:
    with pytest.raises(InputError) as exc:
        unpack_words(words, count, size)
    assert exc.value.field == field


def test_split_words_is_pack_words_undone_and_checks_nothing() -> None:
    packed = [BatchEntry(5, 2, 100).packed, BatchEntry(9, 3, SHORTFALL_CAP).packed, 7]
    assert split_words(pack_words(packed), 3) == packed
    assert split_words(pack_words(packed), 2) == packed[:2]
    # a high half out of range stays out of range (the gate refuses it: EntryOutOfRange)
    assert split_words([3 + (2**130 << 126)], 2) == [3, 2**130]

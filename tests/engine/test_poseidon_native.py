"""The native Poseidon (Rust, from the engine's own optimised schedule) equals the Python
one on random inputs of every width, in one call and in batches, and refuses what Python
refuses (values outside the field are never reduced)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.commitments import commitment, commitments, hash_list, positions_hash
from engine.fixedpoint import FIELD_P
from engine.model import Account, Slot
from engine.poseidon import (
    MAX_INPUTS,
    _native,
    native_poseidon_available,
    poseidon,
    poseidon_many,
    poseidon_python,
    poseidon_reference,
)

pytestmark = pytest.mark.skipif(not native_poseidon_available(), reason="zkmargin_native is not built")

field = st.integers(min_value=0, max_value=FIELD_P - 1)
edges = st.sampled_from([0, 1, 2, FIELD_P - 1, FIELD_P - 2, 2**253, 2**128])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(field, edges), min_size=1, max_size=MAX_INPUTS))
def test_native_equals_python(inputs: list[int]) -> None:
    assert poseidon(inputs) == poseidon_python(inputs)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=MAX_INPUTS), st.data())
def test_batches_equal_single_hashes(n: int, data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.lists(field, min_size=n, max_size=n), min_size=1, max_size=30))
    assert poseidon_many(rows) == [poseidon_python(r) for r in rows]


def test_known_vector_and_reference() -> None:
    # circomlibjs poseidon([1, 2])
    assert poseidon([1, 2]) == 0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A
    assert poseidon(list(range(16))) == poseidon_reference(list(range(16)))


def test_out_of_field_is_refused_not_reduced() -> None:
    with pytest.raises(ValueError, match="not a field element"):
        poseidon([FIELD_P])
    native = _native(3)
    assert native is not None
    with pytest.raises(ValueError, match=r"inputs\[1\] is not a field element"):
        native.hash([1, FIELD_P])
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        native.hash([1, 2, 3])
    with pytest.raises(ValueError, match="same number of inputs"):
        poseidon_many([[1], [1, 2]])


slot_value = st.integers(min_value=-(2**80), max_value=2**80)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2**64 - 1),
            st.integers(min_value=0, max_value=2**32),
            st.integers(min_value=0, max_value=FIELD_P - 1),
            st.integers(min_value=-(2**100), max_value=2**100),
            st.lists(
                st.tuples(st.integers(min_value=0, max_value=1023), slot_value), min_size=1, max_size=16
            ),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_batched_commitments_equal_the_reference(
    raw: list[tuple[int, int, int, int, list[tuple[int, int]]]],
) -> None:
    accounts = [
        Account(account_id=i, nonce=n, salt=salt, cash=cash, slots=tuple(Slot(a, q) for a, q in slots))
        for i, n, salt, cash, slots in raw
    ]
    assert commitments(accounts) == [commitment(a) for a in accounts]
    assert hash_list([v for s in accounts[0].slots for v in (s.instrument_id, s.q)]) == positions_hash(
        accounts[0]
    )

"""The circuit inputs equal, byte for byte, those of the construction before issue 27
(tests/support/batch_input_reference.py): the batch input from entries the engine computed
once and each account's fields built once, and the offline one-account input."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from engine.batch_statement import batch_entries
from engine.errors import InputError
from engine.model import Slot
from engine.profiles import PROFILES
from prover.offline.witness_input import build_input
from prover.statements.witness_input import build_batch_input
from tests.circuits.batch_cases import Batch, batches_of
from tests.circuits.cases import edge_cases, random_cases
from tests.support.batch_input_reference import reference_batch_input, reference_input

TEST = PROFILES["test"]


@pytest.fixture(scope="module")
def batches() -> list[Batch]:
    cases = edge_cases(TEST, seed=15) + random_cases(TEST, 40, seed=16)
    return batches_of(cases, TEST.batch_size, seed=17)


def _same(new: dict[str, object], old: dict[str, object]) -> None:
    assert json.dumps(new) == json.dumps(old)  # values and key order


def test_batch_input_equals_the_reference(batches: list[Batch]) -> None:
    assert len(batches) >= 10
    for b in batches:
        old = reference_batch_input(b.market, b.params, b.accounts, b.tree)
        _same(build_batch_input(b.market, b.params, b.accounts, b.tree), old)
        entries = batch_entries(b.market, b.params, b.accounts)
        _same(build_batch_input(b.market, b.params, b.accounts, b.tree, entries=entries), old)


def test_batch_input_of_another_size_equals_the_reference(batches: list[Batch]) -> None:
    for b in batches[:5]:
        size = len(b.accounts) + 3
        old = reference_batch_input(b.market, b.params, b.accounts, b.tree, size=size)
        _same(build_batch_input(b.market, b.params, b.accounts, b.tree, size=size), old)


def test_unchecked_inputs_equal_the_reference(batches: list[Batch]) -> None:
    """The deliberately bad witnesses of the soundness tests (validate=False) too."""
    b = next(b for b in batches if len(b.accounts) >= 2)
    swapped = [b.accounts[1], b.accounts[0], *b.accounts[2:]]
    stranger = dataclasses.replace(b.accounts[0], account_id=b.accounts[0].account_id ^ 1)
    for accounts in (swapped, [stranger], [dataclasses.replace(b.accounts[0], cash=b.accounts[0].cash + 1)]):
        old = reference_batch_input(b.market, b.params, accounts, b.tree, validate=False)
        _same(build_batch_input(b.market, b.params, accounts, b.tree, validate=False), old)


def test_one_account_input_equals_the_reference(batches: list[Batch]) -> None:
    for b in batches:
        for account in b.accounts:
            _same(build_input(b.market, b.params, account), reference_input(b.market, b.params, account))


def test_bad_batches_are_refused_as_before(batches: list[Batch]) -> None:
    b = next(b for b in batches if len(b.accounts) >= 2)
    rng = random.Random(3)
    first = b.accounts[0]
    bad = [
        [b.accounts[1], b.accounts[0]],  # ids out of order
        [dataclasses.replace(first, cash=first.cash + 1)],  # not the tree's state
        [dataclasses.replace(first, account_id=first.account_id ^ 1)],  # not in the tree
        [dataclasses.replace(first, slots=(*first.slots, Slot(0, 0)))],  # one slot too many
        [dataclasses.replace(first, slots=(Slot(rng.randrange(10**6, 10**7), 1), *first.slots[1:]))],
    ]
    for accounts in bad:
        with pytest.raises(InputError) as old:
            reference_batch_input(b.market, b.params, accounts, b.tree)
        with pytest.raises(InputError) as new:
            build_batch_input(b.market, b.params, accounts, b.tree)
        assert (new.value.field, new.value.message) == (old.value.field, old.value.message)


def test_entries_passed_down_must_name_the_accounts(batches: list[Batch]) -> None:
    b = next(b for b in batches if len(b.accounts) >= 2)
    entries = batch_entries(b.market, b.params, b.accounts)
    with pytest.raises(InputError, match="must name the accounts"):
        build_batch_input(b.market, b.params, b.accounts[:1], b.tree, entries=entries[1:2])

"""Soundness of MarginBatch (test profile, K = 4): a changed signal of an honest witness
breaks the R1CS, and batches a cheating operator would want have no witness at all:
an entry changed, two entries swapped, an account twice, an account not in the tree,
an old accounts root, a padding entry claiming a status."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

import pytest

from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry
from engine.commitments import commitment
from engine.fixedpoint import FIELD_P
from engine.margin import compute_margin
from engine.profiles import PROFILES
from prover.statements.witness_input import build_batch_input
from tests.circuits.batch_cases import Batch
from tests.circuits.cases import account_for, builder_market, random_params, with_equity
from tests.circuits.harness import CompiledCircuit
from tests.circuits.margin_circuit import margin_batch
from tests.support.r1cs import failing_constraints, is_satisfied
from tests.support.witness_calc import WitnessError

TEST = PROFILES["test"]


@pytest.fixture(scope="module")
def batch() -> Batch:
    """Three accounts (liquidatable, insolvent, healthy) in a tree of 20 accounts."""
    rng = random.Random(31)
    market = builder_market(TEST, rng)
    params = random_params(TEST, rng)
    targets = (lambda im, mm: mm - 1, lambda im, mm: -1, lambda im, mm: 2 * im + 5)
    accounts = []
    for n, target in enumerate(targets):
        acc = with_equity(market, params, account_for(market, rng, n_pos=3), target)
        accounts.append(dataclasses.replace(acc, account_id=100 + 10 * n))
    assert [compute_margin(market, params, a).status for a in accounts] == [2, 3, 0]
    tree_commitments = {a.account_id: commitment(a) for a in accounts}
    for n in range(17):
        tree_commitments[1000 + n] = rng.randrange(FIELD_P)
    return Batch(market, params, accounts, AccountsTree(tree_commitments, depth=TEST.accounts_depth))


@pytest.fixture(scope="module")
def honest(batch: Batch) -> tuple[CompiledCircuit, list[int]]:
    circuit = margin_batch(TEST)
    res = circuit.calc.calculate(
        build_batch_input(batch.market, batch.params, batch.accounts, batch.tree), full=True
    )
    assert res.witness is not None
    return circuit, list(res.witness)


def test_honest_batch_witness_satisfies_r1cs(honest: tuple[CompiledCircuit, list[int]]) -> None:
    circuit, witness = honest
    assert is_satisfied(circuit.r1cs, witness)
    assert witness[4] == 3  # count
    assert 0 < witness[6] < 2**126  # words[1] = entry 2 + 2**126 * (the padding entry 3 = 0)


def _bump(delta: int) -> Callable[[int], int]:
    return lambda v: (v + delta) % FIELD_P


TAMPERS: dict[str, tuple[str, Callable[[int], int]]] = {
    "entry_status": ("words[0]", _bump(1 << 64)),  # entry 0's status
    "entry_shortfall": ("words[0]", _bump(1 << (126 + 66))),  # entry 1's shortfall
    "entry_id": ("words[1]", _bump(1)),  # entry 2's id
    "entry_capped_shortfall": ("entry[1].capped", _bump(1)),
    "padding_claims_liquidatable": ("words[1]", _bump(BatchEntry(5000, 2, 10**9).packed << 126)),
    "count_up": ("count", _bump(1)),
    "count_down": ("count", _bump(-1)),
    "accounts_root": ("accounts_root", _bump(1)),
    "market_root": ("market_root", _bump(1)),
    "params_hash": ("params_hash", _bump(1)),
    "account_position": ("account_position[0]", _bump(1)),
    "account_path": ("account_path[1][4][2]", _bump(1)),
    "id_order_step": ("step[2]", lambda v: 0),
    "account_status": ("acct[0].status", lambda v: 0),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_single_signal_tamper_breaks_r1cs(case: str, honest: tuple[CompiledCircuit, list[int]]) -> None:
    circuit, witness = honest
    name, change = TAMPERS[case]
    wire = circuit.wire(name)
    assert wire > 0, f"{name} was optimised away"
    bad = list(witness)
    bad[wire] = change(bad[wire])
    assert bad[wire] != witness[wire]
    assert failing_constraints(circuit.r1cs, bad, limit=1)


def _rejected(batch: Batch, accounts: list, tree: AccountsTree | None = None, **public: object) -> bool:
    inp = build_batch_input(batch.market, batch.params, accounts, tree or batch.tree, validate=False)
    inp.update({k: v for k, v in public.items()})
    try:
        margin_batch(TEST).calc.calculate(inp)
    except WitnessError:
        return True
    return False


def test_control_the_honest_batch_has_a_witness(batch: Batch) -> None:
    assert not _rejected(batch, batch.accounts)


def test_two_entries_swapped_have_no_witness(batch: Batch) -> None:
    a, b, c = batch.accounts
    assert _rejected(batch, [b, a, c])


def test_an_account_twice_has_no_witness(batch: Batch) -> None:
    a, b, _ = batch.accounts
    assert _rejected(batch, [a, a, b])
    assert _rejected(batch, [a, b, b])


def test_an_account_not_in_the_tree_has_no_witness(batch: Batch) -> None:
    a, b, c = batch.accounts
    other_state = dataclasses.replace(b, cash=b.cash + 10**6)  # a state the tree does not commit to
    assert _rejected(batch, [a, other_state, c])
    outsider = dataclasses.replace(b, account_id=105)  # an id that is not in the tree at all
    assert _rejected(batch, [a, outsider, c])


def test_an_old_accounts_root_has_no_witness(batch: Batch) -> None:
    """An account proved in the tree of the previous epoch, claimed against the new root."""
    a, b, c = batch.accounts
    b_old = dataclasses.replace(b, nonce=b.nonce - 1)
    old = dict(batch.tree.commitments) | {b.account_id: commitment(b_old)}
    old_tree = AccountsTree(old, depth=TEST.accounts_depth)
    assert not _rejected(batch, [a, b_old, c], tree=old_tree)  # control: valid in the old tree
    assert _rejected(batch, [a, b_old, c], tree=old_tree, accounts_root=str(batch.tree.root))


def test_a_padding_entry_claiming_a_status_has_no_witness(batch: Batch) -> None:
    inp = build_batch_input(batch.market, batch.params, batch.accounts, batch.tree)
    for claim in (BatchEntry(5000, 3, 12345), BatchEntry(0, 2, 0), BatchEntry(1, 0, 0)):
        words = [*inp["words"]]
        words[1] = str(int(words[1]) + (claim.packed << 126))  # entry 3 is padding (count 3)
        assert _rejected(batch, batch.accounts, words=words), claim

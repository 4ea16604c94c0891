"""Parity: MarginBatch accepts exactly the engine's entries, and its per-entry
intermediates equal the engine's (docs/circuit.md section 11)."""

from __future__ import annotations

from collections import Counter

import pytest

from engine.batch_statement import SHORTFALL_CAP, BatchEntry, batch_entries, batch_words, pack_words
from engine.margin import compute_margin
from engine.profiles import PROFILES
from prover.statements.witness_input import build_batch_input
from tests.circuits.batch_cases import Batch, batches_of
from tests.circuits.cases import edge_cases, random_cases
from tests.circuits.margin_circuit import expected_intermediates, intermediate_names, margin_batch
from tests.support.witness_calc import WitnessError

TEST = PROFILES["test"]


@pytest.fixture(scope="module")
def batches() -> list[Batch]:
    cases = edge_cases(TEST, seed=5) + random_cases(TEST, 120, seed=6)
    return batches_of(cases, TEST.batch_size, seed=7)


def test_batches_cover_every_status_size_and_the_cap(batches: list[Batch]) -> None:
    statuses = Counter(compute_margin(b.market, b.params, a).status for b in batches for a in b.accounts)
    assert set(statuses) == {0, 1, 2, 3}, statuses
    assert {len(b.accounts) for b in batches} == set(range(1, TEST.batch_size + 1))
    entries = [e for b in batches for e in batch_entries(b.market, b.params, b.accounts)]
    assert any(e.capped for e in entries) and any(0 < e.shortfall < SHORTFALL_CAP for e in entries)


def test_batch_public_signals_and_intermediates_equal_the_engine(batches: list[Batch]) -> None:
    circuit = margin_batch(TEST)
    size = TEST.batch_size
    names = [n for i in range(size) for n in intermediate_names(TEST, f"acct[{i}].")]
    wires = [circuit.wire(n) for n in names]
    inputs = [build_batch_input(b.market, b.params, b.accounts, b.tree) for b in batches]
    results = circuit.calc.calculate_many(inputs, signals=wires)
    for n, (batch, inp, res) in enumerate(zip(batches, inputs, results, strict=True)):
        assert not isinstance(res, WitnessError), f"batch {n}: witness failed: {res}"
        entries = batch_entries(batch.market, batch.params, batch.accounts)
        assert list(res.public) == [
            batch.tree.root,
            int(inp["market_root"]),
            int(inp["params_hash"]),
            len(entries),
            *batch_words(entries, size),
        ]
        got = dict(zip(names, res.signals, strict=True))
        for i, account in enumerate(batch.accounts):
            want = expected_intermediates(
                compute_margin(batch.market, batch.params, account), TEST, f"acct[{i}]."
            )
            assert {k: got[k] for k in want} == want, f"batch {n} entry {i}"


def test_batch_refuses_any_entry_but_the_engine_s(batches: list[Batch]) -> None:
    """For each batch, one entry replaced by a neighbouring claim: no witness."""
    circuit = margin_batch(TEST)
    size = TEST.batch_size
    bad_inputs = []
    for batch in batches[:30]:
        inp = build_batch_input(batch.market, batch.params, batch.accounts, batch.tree)
        entries = batch_entries(batch.market, batch.params, batch.accounts)
        i = len(entries) - 1
        e = entries[i]
        for wrong in (
            BatchEntry(e.account_id, (e.status + 1) % 4, e.shortfall),
            BatchEntry(e.account_id, e.status, e.shortfall + 1 if not e.capped else e.shortfall - 1),
        ):
            claimed = [*entries]
            claimed[i] = wrong
            bad = dict(inp)
            bad["words"] = [
                str(w) for w in pack_words([c.packed for c in claimed] + [0] * (size - len(claimed)))
            ]
            bad_inputs.append(bad)
    results = circuit.calc.calculate_many(bad_inputs)
    assert all(isinstance(r, WitnessError) for r in results)

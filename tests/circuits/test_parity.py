"""Parity: MarginCheck's public outputs and named intermediates equal the engine's.

Hundreds of accounts go through one node process (batch witness calculation);
the test profile runs by default, the standard profile is marked ``slow``.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from engine.margin import compute_margin
from engine.profiles import PROFILES, Profile
from tests.circuits.cases import Case, edge_cases, hypothesis_cases, random_cases
from tests.circuits.margin_circuit import inputs_and_expected, intermediate_names, margin_check
from tests.support.witness_calc import WitnessError

TEST = PROFILES["test"]


def _check_parity(profile: Profile, cases: list[Case]) -> dict[str, float]:
    circuit = margin_check(profile)
    names = intermediate_names(profile)
    wires = [circuit.wire(n) for n in names]
    inputs, expected = inputs_and_expected(cases)
    start = time.monotonic()
    results = circuit.calc.calculate_many(inputs, signals=wires)
    seconds = time.monotonic() - start
    for i, (res, exp) in enumerate(zip(results, expected, strict=True)):
        assert not isinstance(res, WitnessError), f"case {i}: witness failed: {res}"
        assert res.public == exp.public, f"case {i}: public signals differ"
        got = dict(zip(names, res.signals, strict=True))
        assert got == exp.intermediates, f"case {i}: intermediates differ"
    return {"cases": len(cases), "seconds": seconds, "per_witness_ms": 1000 * seconds / max(1, len(cases))}


def test_parity_test_profile_edges_and_random() -> None:
    cases = edge_cases(TEST, seed=0) + random_cases(TEST, 260, seed=1)
    assert len(cases) >= 300
    statuses = Counter(compute_margin(*c).status for c in cases)
    assert set(statuses) == {0, 1, 2, 3}, statuses  # every status is exercised
    assert any(all(s.q == 0 for s in c[2].slots) for c in cases)  # empty account
    assert any(all(s.q != 0 for s in c[2].slots) for c in cases)  # full slots
    stats = _check_parity(TEST, cases)
    print(f"\nparity test profile: {stats}")


def test_parity_test_profile_hypothesis_strategies() -> None:
    _check_parity(TEST, hypothesis_cases(TEST, 120))


@pytest.mark.slow
def test_parity_standard_profile() -> None:
    std = PROFILES["standard"]
    cases = edge_cases(std, seed=3) + random_cases(std, 40, seed=4)
    stats = _check_parity(std, cases)
    print(f"\nparity standard profile: {stats}")

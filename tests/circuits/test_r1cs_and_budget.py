"""tests.support.r1cs reads what circom and the witness calculator write; the 2^16 budget holds."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine.profiles import PROFILES
from prover.offline.witness_input import build_input
from tests.circuits.cases import account_for, builder_market, random_params
from tests.circuits.margin_circuit import margin_check
from tests.support.r1cs import failing_constraints, read_r1cs, read_sym, read_wtns

TEST = PROFILES["test"]


def test_r1cs_header_and_sym_of_margin_check() -> None:
    circuit = margin_check(TEST)
    r1cs = read_r1cs(circuit.r1cs_path)
    assert (r1cs.n_pub_out, r1cs.n_pub_in) == (2, 3)
    assert r1cs.n_public == 5
    assert len(r1cs.constraints) == circuit.n_constraints
    assert len(r1cs.wire_to_label) == r1cs.n_wires
    sym = read_sym(circuit.sym_path)
    # public signals are wires 1..5 in the order of spec section 6
    names = ["status", "shortfall", "commitment", "market_root", "params_hash"]
    assert [sym[f"main.{n}"] for n in names] == [1, 2, 3, 4, 5]


def test_wtns_file_equals_full_witness(tmp_path: Path) -> None:
    rng = random.Random(12)
    market = builder_market(TEST, rng)
    params = random_params(TEST, rng)
    account = account_for(market, rng, n_pos=3)
    circuit = margin_check(TEST)
    wtns = tmp_path / "w.wtns"
    res = circuit.calc.calculate(build_input(market, params, account), full=True, wtns=wtns)
    from_file = read_wtns(wtns)
    assert res.witness is not None
    assert from_file == list(res.witness)
    assert not failing_constraints(circuit.r1cs, from_file)
    broken = list(from_file)
    broken[1] = (broken[1] + 1) % circuit.r1cs.prime
    assert failing_constraints(circuit.r1cs, broken)


def test_witness_length_is_checked() -> None:
    circuit = margin_check(TEST)
    with pytest.raises(ValueError):
        failing_constraints(circuit.r1cs, [1, 2, 3])


@pytest.mark.slow
def test_standard_profile_fits_a_2_16_setup_with_room() -> None:
    circuit = margin_check(PROFILES["standard"])
    assert circuit.n_constraints + circuit.r1cs.n_pub_in + circuit.r1cs.n_pub_out < 2**16 - 4096


#: MarginCheck's constraints under ZKPM-1 (measured at the last ZKPM-1 commit); issue 28
#: allows ZKPM-2 at most 1.15 times as many per account and profile.
ZKPM1_CONSTRAINTS = {"test": 15_904, "demo": 31_261, "standard": 58_233}
ZKPM2_CAP = 1.15


def test_zkpm2_costs_at_most_15_percent_more_per_account_test_profile() -> None:
    assert margin_check(TEST).n_constraints <= ZKPM2_CAP * ZKPM1_CONSTRAINTS["test"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["demo", "standard"])
def test_zkpm2_costs_at_most_15_percent_more_per_account(name: str) -> None:
    assert margin_check(PROFILES[name]).n_constraints <= ZKPM2_CAP * ZKPM1_CONSTRAINTS[name]

"""Soundness: a tampered witness breaks the R1CS (checked by prover/r1cs.py).

From an honest MarginCheck witness (test profile) one signal is changed at a time
and the Python R1CS checker must find a violated constraint. For the hinted
gadgets, *consistent* wrong hints (every signal downstream of the hint recomputed,
bit decompositions included) are built by name through the .sym table and must be
rejected too.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from engine.fixedpoint import FIELD_P, SCALE
from engine.margin import compute_margin
from engine.model import Account, Slot
from engine.profiles import PROFILES
from prover.offline.witness_input import build_input
from tests.circuits.cases import builder_market, random_params, with_equity
from tests.circuits.gadget_runner import encode, gadget
from tests.circuits.harness import CompiledCircuit
from tests.circuits.margin_circuit import margin_check
from tests.support.r1cs import failing_constraints, is_satisfied

TEST = PROFILES["test"]


@pytest.fixture(scope="module")
def honest() -> tuple[CompiledCircuit, list[int]]:
    """A liquidatable account with losses, positive R and remainders, and its witness."""
    rng = random.Random(21)
    for _ in range(50):
        market = builder_market(TEST, rng)
        params = random_params(TEST, rng)
        ids = sorted(market.rows)[: TEST.slots]
        acc = Account(
            7,
            1,
            12345,
            0,
            (*(Slot(i, rng.choice((-1, 1)) * rng.randrange(10**5, 10**8)) for i in ids[:3]), Slot(0, 0)),
        )
        acc = with_equity(market, params, acc, lambda im, mm: mm - 1)
        r = compute_margin(market, params, acc)
        if r.status == 2 and r.shortfall > 0 and r.R > 0 and all(w > 0 for w in r.W):
            circuit = margin_check(TEST)
            witness = circuit.calc.calculate(build_input(market, params, acc), full=True).witness
            assert witness is not None
            return circuit, list(witness)
    raise AssertionError("no suitable honest case found")


def test_honest_witness_satisfies_r1cs(honest: tuple[CompiledCircuit, list[int]]) -> None:
    circuit, witness = honest
    assert len(circuit.r1cs.constraints) == circuit.n_constraints
    assert is_satisfied(circuit.r1cs, witness)
    assert witness[1] == 2  # status: liquidatable


def _bump(delta: int) -> Callable[[int], int]:
    return lambda v: (v + delta) % FIELD_P


TAMPERS: dict[str, tuple[str, Callable[[int], int]]] = {
    "status": ("status", lambda v: (v + 1) % 4),
    "status_healthy": ("status", lambda v: 0),
    "shortfall": ("shortfall", _bump(1)),
    "shortfall_zero": ("shortfall", lambda v: 0),
    "worst_loss": ("acct.W[0]", _bump(-1)),
    "worst_index": ("acct.worst[0]", lambda v: (v + 1) % 16),
    "division_remainder": ("acct.worstLoss[0].div.r", _bump(1)),
    "directional_part": ("acct.S[0]", _bump(1)),
    "directional_part_flipped": ("acct.S[1]", lambda v: (-v) % FIELD_P),
    "non_directional_part": ("acct.U[0]", _bump(-1)),
    "direction_quotient": ("acct.split[1].Dir", _bump(1)),
    "direction_sign": ("acct.split[1].div.qneg", lambda v: 1 - v),
    "clamp_flag": ("acct.split[0].above.out", lambda v: 1 - v),
    "sqrt_hint": ("acct.R", _bump(1)),
    "sqrt_hint_down": ("acct.R", _bump(-1)),
    "merkle_sibling": ("path[0][0][0]", _bump(1)),
    "merkle_sibling_top": ("path[1][1][2]", _bump(1)),
    "slot_id_order": ("slot_id[1]", lambda v: 0),
    "empty_slot_q": ("slot_q[3]", lambda v: 1),
    "row_mark": ("row_mark[0]", _bump(1)),
    "equity": ("acct.E", _bump(SCALE)),
    "commitment": ("commitment", _bump(1)),
    "market_root": ("market_root", _bump(1)),
    "params_hash": ("params_hash", _bump(1)),
    "cash": ("cash", _bump(1)),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_single_signal_tamper_breaks_r1cs(case: str, honest: tuple[CompiledCircuit, list[int]]) -> None:
    circuit, witness = honest
    name, change = TAMPERS[case]
    wire = circuit.wire(name)
    bad = list(witness)
    bad[wire] = change(bad[wire])
    assert bad[wire] != witness[wire]
    assert failing_constraints(circuit.r1cs, bad, limit=1)


def test_slot_order_swap_breaks_r1cs(honest: tuple[CompiledCircuit, list[int]]) -> None:
    circuit, witness = honest
    bad = list(witness)
    a, b = circuit.wire("slot_id[0]"), circuit.wire("slot_id[1]")
    bad[a], bad[b] = bad[b], bad[a]
    assert failing_constraints(circuit.r1cs, bad, limit=1)


# ------------------------------------------------ consistent wrong hints (gadget level)


def _set_bits(circuit: CompiledCircuit, w: list[int], prefix: str, value: int, n: int) -> None:
    """Fill a Num2Bits' outputs with the low n bits of ``value mod p`` (the best a cheater can do)."""
    v = value % FIELD_P
    for i in range(n):
        key = f"{prefix}.out[{i}]"
        if f"main.{key}" in circuit.sym:
            w[circuit.wire(key)] = (v >> i) & 1


def _set(circuit: CompiledCircuit, w: list[int], name: str, value: int) -> None:
    """Set a signal if the optimiser kept it (a removed one is a linear form of kept ones)."""
    if f"main.{name}" in circuit.sym:
        w[circuit.wire(name)] = value % FIELD_P


def _full(circuit: CompiledCircuit, inputs: dict[str, object]) -> list[int]:
    res = circuit.calc.calculate({k: encode(v) for k, v in inputs.items()}, full=True)
    assert res.witness is not None
    return list(res.witness)


NB = 40


@pytest.mark.parametrize("x", [15, 16, 10**9, 2**NB - 1])
@pytest.mark.parametrize("shift", [1, -1])
def test_isqrt_consistent_wrong_root(x: int, shift: int) -> None:
    circuit = gadget("isqrt:ISqrtChecked", str(NB))
    rb = (NB + 1) // 2
    r = math.isqrt(x)
    w = _full(circuit, {"x": x, "r": r})
    assert is_satisfied(circuit.r1cs, w)

    def rebuilt(root: int) -> list[int]:
        bad = [0 if i > 0 else 1 for i in range(len(w))]
        _set(circuit, bad, "x", x)
        _set(circuit, bad, "r", root)
        _set(circuit, bad, "r2", root * root)
        _set_bits(circuit, bad, "rRange.bits", root, rb)
        _set_bits(circuit, bad, "below.bits", x - root * root, NB)
        _set_bits(circuit, bad, "above.bits", root * root + 2 * root - x, rb + 1)
        return bad

    assert rebuilt(r) == w  # control: the construction rebuilds the honest witness exactly
    assert failing_constraints(circuit.r1cs, rebuilt(r + shift), limit=1)


def test_min_consistent_wrong_index() -> None:
    n, mb = 16, 20
    circuit = gadget("min_by_index:MinAtIndex", f"{n}, {mb}")
    v = [9, -4, 3, -4, 12, 0, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6]
    w = _full(circuit, {"v": v, "index": 1})
    assert is_satisfied(circuit.r1cs, w)
    for wrong in (3, 0, 2, 5, 15):  # 3 ties with the minimum at 1: the control that must pass
        bad = list(w)
        bad[circuit.wire("index")] = wrong
        for i in range(n):
            _set(circuit, bad, f"sel.e[{i}]", int(i == wrong))
            _set(circuit, bad, f"picked[{i}]", v[i] if i == wrong else 0)
        _set(circuit, bad, "out", v[wrong])
        for i in range(n):
            _set_bits(circuit, bad, f"geq[{i}].bits", v[i] - v[wrong], mb + 1)
        assert is_satisfied(circuit.r1cs, bad) == (v[wrong] == min(v)), wrong


@pytest.mark.parametrize("n", [-1, -(10**6), 123_456_789, -123_456_789])
def test_floor_div_consistent_wrong_quotient(n: int) -> None:
    circuit = gadget("floor_div_const:FloorDivConstChecked", f"{NB}, {SCALE}")
    qb = NB - 19
    q, r = divmod(n, SCALE)
    w = _full(circuit, {"n": n, "q": q, "r": r})
    assert is_satisfied(circuit.r1cs, w)
    # truncation toward zero instead of floor, and the wrapped quotient of a wrong remainder
    wrong_pairs = [(q, r), (q + 1, r - SCALE), (q - 1, r + SCALE)]  # the first: control
    r_alt = (r + 1) % SCALE
    wrong_pairs.append(((n - r_alt) * pow(SCALE, -1, FIELD_P) % FIELD_P, r_alt))
    for q2, r2 in wrong_pairs:
        bad = list(w)
        _set(circuit, bad, "q", q2)
        _set(circuit, bad, "r", r2)
        _set_bits(circuit, bad, "rLow.bits", r2, 20)
        _set_bits(circuit, bad, "rHigh.bits", SCALE - 1 - r2, 20)
        _set_bits(circuit, bad, "qRange.bits", q2 + 2**qb, qb + 1)
        _set(circuit, bad, "qneg", 1 - (((q2 + 2**qb) % FIELD_P) >> qb & 1))
        assert is_satisfied(circuit.r1cs, bad) == (q2 == q), (q2, r2)

"""DirectionalSplit (ZKPM-2's split of a worst loss into a signed directional part and a
non-directional rest) against the engine's rule, ``engine.aggregation.split_risk``:
edges (the clamp above, below, exactly at +-W, zero direction, the widest |D|), a random
batch, and consistent wrong witnesses that claim no clamp where one applies."""

from __future__ import annotations

import random

import pytest

from engine.aggregation import DIR_DIVISOR, split_risk
from engine.fixedpoint import FIELD_P, SCALE
from tests.circuits.gadget_runner import encode, gadget, many_outputs, outputs
from tests.circuits.harness import CompiledCircuit
from tests.support.r1cs import failing_constraints, is_satisfied

K = 4
SUM_BITS = 48 + 48 + 2  # sumBits(4)
LOSS_BITS = SUM_BITS - 19  # lossBits(4)
SPLIT = ("directional_split:DirectionalSplit", str(K))


def _expected(up: int, down: int, w: int) -> tuple[int, int, int]:
    return split_risk(up - down, w)


EDGES = [
    (0, 0, 0),
    (8 * DIR_DIVISOR, 0, 5),  # Dir = 8 > W = 5: clamped to W
    (0, 8 * DIR_DIVISOR, 5),  # Dir = -8 < -W: clamped to -W
    (5 * DIR_DIVISOR, 0, 5),  # Dir = W exactly
    (0, 5 * DIR_DIVISOR, 5),  # Dir = -W exactly
    (4 * DIR_DIVISOR, 0, 5),  # Dir = 4 inside: U = 1
    (3 * DIR_DIVISOR, 3 * DIR_DIVISOR, 9),  # no direction: all of W is the rest
    (-1, 0, 7),  # fdiv(-1, 4e6) = -1: the floor of a tiny negative direction
    (DIR_DIVISOR - 1, 0, 7),  # floors to 0
    (2 * (2**SUM_BITS - 1), -2 * (2**SUM_BITS - 1), 2**LOSS_BITS - 1),  # |D| at its bound
    (-2 * (2**SUM_BITS - 1), 2 * (2**SUM_BITS - 1), 2**LOSS_BITS - 1),
]


@pytest.mark.parametrize(("up", "down", "w"), EDGES)
def test_split_edges_equal_the_engine(up: int, down: int, w: int) -> None:
    assert outputs(gadget(*SPLIT), {"up": up, "down": down, "W": w}) == _expected(up, down, w)


def test_split_random_batch_equals_the_engine() -> None:
    rng = random.Random(28)
    cases = []
    for _ in range(300):
        w = rng.choice((0, rng.randrange(2**LOSS_BITS), rng.randrange(10**9)))
        scale = rng.choice((10**8, 10**14, 2**SUM_BITS - 1))
        up, down = (rng.randrange(-scale, scale) * 2 for _ in range(2))
        cases.append((up // 2, down // 2, w))
    got = many_outputs(gadget(*SPLIT), [{"up": u, "down": d, "W": w} for u, d, w in cases])
    assert got == [_expected(u, d, w) for u, d, w in cases]


def _set(circuit: CompiledCircuit, w: list[int], name: str, value: int) -> None:
    if f"main.{name}" in circuit.sym:
        w[circuit.wire(name)] = value % FIELD_P


def _set_bits(circuit: CompiledCircuit, w: list[int], prefix: str, value: int, n: int) -> None:
    v = value % FIELD_P
    for i in range(n):
        if f"main.{prefix}.out[{i}]" in circuit.sym:
            w[circuit.wire(f"{prefix}.out[{i}]")] = (v >> i) & 1


@pytest.mark.parametrize(("direction", "flag"), [(8, "above"), (-8, "below")])
def test_a_clamp_cannot_be_skipped(direction: int, flag: str) -> None:
    """Dir = +-8 with W = 5 must give S = +-5; a witness claiming S = Dir, U = 0 (no
    clamp), with the comparison's flag and its sign bits rebuilt as a cheater would, is
    rejected; the same construction with the honest flag rebuilds the honest witness."""
    circuit = gadget(*SPLIT)
    w_loss = 5 * SCALE
    unit = SCALE * DIR_DIVISOR  # D of one unit of direction
    up, down = (direction * unit, 0) if direction > 0 else (0, -direction * unit)
    res = circuit.calc.calculate({"up": encode(up), "down": encode(down), "W": encode(w_loss)}, full=True)
    assert res.witness is not None
    honest = list(res.witness)
    assert is_satisfied(circuit.r1cs, honest)
    d = direction * SCALE

    def rebuilt(clamped: bool) -> list[int]:
        bad = list(honest)
        a, b = (w_loss, d) if flag == "above" else (d, -w_loss)
        _set(circuit, bad, f"{flag}.out", int(clamped))
        _set(circuit, bad, f"{flag}.sb.neg", int(clamped))
        _set_bits(circuit, bad, f"{flag}.sb.bits", a - b + 2 ** (LOSS_BITS + 1), LOSS_BITS + 2)
        s = max(-w_loss, min(w_loss, d)) if clamped else d
        _set(circuit, bad, "S", s)
        _set(circuit, bad, "U", w_loss - abs(s) if clamped else 0)
        _set(circuit, bad, "toTop", (w_loss - d) if clamped and flag == "above" else 0)
        _set(circuit, bad, "toBottom", (-w_loss - d) if clamped and flag == "below" else 0)
        _set(circuit, bad, "inside", 0 if clamped else 1)
        return bad

    assert rebuilt(True) == honest  # control
    assert failing_constraints(circuit.r1cs, rebuilt(False), limit=1)

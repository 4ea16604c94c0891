"""Floor division by a constant (signed) and by a signal, including wrong hints."""

from __future__ import annotations

import random

import pytest

from engine.fixedpoint import FIELD_P, SCALE
from tests.circuits.gadget_runner import gadget, many_outputs, outputs, rejected
from tests.circuits.harness import compile_circuit

NB = 40  # |n| < 2^40
QB = NB - 19  # quotient width for D = 10^6 (2^19 <= 10^6)

CONST_CASES = [
    0,
    1,
    SCALE - 1,
    SCALE,
    SCALE + 1,
    -1,
    -SCALE + 1,
    -SCALE,
    -SCALE - 1,
    2**NB - 1,
    -(2**NB) + 1,
    7 * SCALE + SCALE - 1,  # remainder = divisor - 1
    -7 * SCALE - 1,  # floor of a negative: q = -8, r = SCALE - 1
]


@pytest.mark.parametrize("n", CONST_CASES)
def test_floor_div_const_edges(n: int) -> None:
    q, r, qneg = outputs(gadget("floor_div_const:FloorDivConst", f"{NB}, {SCALE}"), {"n": n})
    assert (q, r, qneg) == (n // SCALE, n % SCALE, int(n // SCALE < 0))


def test_floor_div_const_random_batch() -> None:
    rng = random.Random(7)
    ns = [rng.randrange(-(2**NB) + 1, 2**NB) for _ in range(200)]
    got = many_outputs(gadget("floor_div_const:FloorDivConst", f"{NB}, {SCALE}"), [{"n": n} for n in ns])
    assert got == [(n // SCALE, n % SCALE, int(n < 0)) for n in ns]


def test_floor_div_const_negative_remainder_boundary() -> None:
    # -1 / 10^6 rounds toward minus infinity: q = -1, r = 999999 (not q = 0, r = -1)
    assert outputs(gadget("floor_div_const:FloorDivConst", f"{NB}, {SCALE}"), {"n": -1})[:2] == (
        -1,
        SCALE - 1,
    )


def test_floor_div_const_rejects_too_wide_dividend() -> None:
    # the quotient of a dividend past 2^NB does not fit its range check
    assert rejected(gadget("floor_div_const:FloorDivConst", f"{NB}, {SCALE}"), {"n": 2**NB * 4})


@pytest.mark.parametrize("n", [0, -1, 12_345_678, -12_345_678, SCALE - 1])
def test_floor_div_const_checked_wrong_hints(n: int) -> None:
    """Consistent wrong hints (q * D + r == n still holds) are all refused."""
    checked = gadget("floor_div_const:FloorDivConstChecked", f"{NB}, {SCALE}")
    q, r = n // SCALE, n % SCALE
    assert not rejected(checked, {"n": n, "q": q, "r": r})
    assert rejected(checked, {"n": n, "q": q + 1, "r": r - SCALE})  # negative remainder
    assert rejected(checked, {"n": n, "q": q - 1, "r": r + SCALE})  # remainder = D + r >= D
    assert rejected(checked, {"n": n, "q": q, "r": r + 1})  # equation broken
    # remainder in range but the quotient a wrapped field element (n - r') / D mod p
    r_wrong = (r + 1) % SCALE
    q_wrapped = (n - r_wrong) * pow(SCALE, -1, FIELD_P) % FIELD_P
    assert rejected(checked, {"n": n, "q": q_wrapped, "r": r_wrong})


DB = 16  # divisor < 2^16


@pytest.mark.parametrize(
    ("n", "d"),
    [
        (0, 1),
        (5, 1),
        (2**NB - 1, 1),
        (2**NB - 1, 2**DB - 1),
        (2**DB - 2, 2**DB - 1),
        (2**DB - 1, 2**DB - 1),
        (17, 5),
        (19, 5),
    ],
)
def test_floor_div_signal(n: int, d: int) -> None:
    q, r = outputs(gadget("floor_div_signal:FloorDivSignal", f"{NB}, {DB}"), {"n": n, "d": d})
    assert (q, r) == (n // d, n % d)


def test_floor_div_signal_random() -> None:
    rng = random.Random(3)
    cases = [(rng.randrange(0, 2**NB), rng.randrange(1, 2**DB)) for _ in range(100)]
    got = many_outputs(
        gadget("floor_div_signal:FloorDivSignal", f"{NB}, {DB}"), [{"n": n, "d": d} for n, d in cases]
    )
    assert got == [(n // d, n % d) for n, d in cases]


@pytest.mark.parametrize(("n", "d"), [(5, 0), (5, 2 ** (DB + 1)), (-1, 3), (2**NB, 1)])
def test_floor_div_signal_rejects(n: int, d: int) -> None:
    """Divisor 0 or past 2^(DB+1), negative or too wide dividend: no witness."""
    assert rejected(gadget("floor_div_signal:FloorDivSignal", f"{NB}, {DB}"), {"n": n, "d": d})


def test_floor_div_signal_checked_wrong_hints() -> None:
    checked = compile_circuit(
        "fdivsig_checked",
        'pragma circom 2.1.0;\ninclude "gadgets/floor_div_signal.circom";\n'
        f"component main = FloorDivSignalChecked({NB}, {DB});\n",
    )
    n, d = 1000, 7
    q, r = divmod(n, d)
    assert not rejected(checked, {"n": n, "d": d, "q": q, "r": r})
    assert not rejected(checked, {"n": n + 6 - r, "d": d, "q": q, "r": d - 1})  # remainder d - 1 is fine
    assert rejected(checked, {"n": n, "d": d, "q": q + 1, "r": r - d})
    assert rejected(checked, {"n": n, "d": d, "q": q - 1, "r": r + d})
    r_wrong = (r + 1) % d
    assert rejected(
        checked, {"n": n, "d": d, "q": (n - r_wrong) * pow(d, -1, FIELD_P) % FIELD_P, "r": r_wrong}
    )

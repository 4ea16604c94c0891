"""Integer square root and the minimum by a hinted index, with wrong hints."""

from __future__ import annotations

import math
import random

import pytest

from engine.fixedpoint import FIELD_P
from tests.circuits.gadget_runner import gadget, many_outputs, outputs, rejected

NB = 40  # 0 <= x < 2^40


def _sqrt_cases() -> list[int]:
    cases = [0, 1, 2, 3, 4, 5, 8, 9, 10, 2**NB - 1, 2**NB - 2]
    for s in (2, 3, 1000, 2**20 - 1):
        cases += [s * s - 1, s * s, s * s + 1]
    return [x for x in cases if 0 <= x < 2**NB]


@pytest.mark.parametrize("x", _sqrt_cases())
def test_isqrt_edges(x: int) -> None:
    assert outputs(gadget("isqrt:ISqrt", str(NB)), {"x": x}) == (math.isqrt(x),)


def test_isqrt_random_batch() -> None:
    rng = random.Random(11)
    xs = [rng.randrange(0, 2 ** rng.randrange(1, NB + 1)) for _ in range(200)]
    assert many_outputs(gadget("isqrt:ISqrt", str(NB)), [{"x": x} for x in xs]) == [
        (math.isqrt(x),) for x in xs
    ]


@pytest.mark.parametrize("x", [-1, 2**NB])
def test_isqrt_rejects_out_of_range(x: int) -> None:
    assert rejected(gadget("isqrt:ISqrt", str(NB)), {"x": x})


@pytest.mark.parametrize("x", [0, 1, 15, 16, 17, 10**10, 2**NB - 1])
def test_isqrt_checked_wrong_roots(x: int) -> None:
    checked = gadget("isqrt:ISqrtChecked", str(NB))
    r = math.isqrt(x)
    assert not rejected(checked, {"x": x, "r": r})
    assert rejected(checked, {"x": x, "r": r + 1})
    if r > 0:
        assert rejected(checked, {"x": x, "r": r - 1})
    assert rejected(checked, {"x": x, "r": FIELD_P - r - 1})  # -(r+1): same square as r+1
    assert rejected(checked, {"x": x, "r": (FIELD_P - r) % FIELD_P or 1})  # -r


MB = 20  # values: -2^20 <= v < 2^20
N_VALUES = 16


def _min_inputs(v: list[int]) -> dict[str, list[int]]:
    return {"v": v}


def test_min_by_index_cases() -> None:
    rng = random.Random(5)
    circuit = gadget("min_by_index:MinByIndex", f"{N_VALUES}, {MB}")
    lists = [
        [0] * N_VALUES,
        list(range(N_VALUES)),
        list(range(N_VALUES, 0, -1)),
        [2**MB - 1] * N_VALUES,
        [-(2**MB)] + [2**MB - 1] * (N_VALUES - 1),
        [2**MB - 1] * (N_VALUES - 1) + [-(2**MB)],
        [5, -3, 7, -3, 9, -3] + [100] * (N_VALUES - 6),  # ties: the first index
    ]
    lists += [[rng.randrange(-(2**MB), 2**MB) for _ in range(N_VALUES)] for _ in range(100)]
    got = many_outputs(circuit, [_min_inputs(v) for v in lists])
    assert got == [(min(v), v.index(min(v))) for v in lists]


def test_min_by_index_rejects_too_wide() -> None:
    circuit = gadget("min_by_index:MinByIndex", f"{N_VALUES}, {MB}")
    assert rejected(circuit, _min_inputs([-(2**MB) - 1] + [2**MB - 1] * (N_VALUES - 1)))


def test_min_at_index_wrong_index() -> None:
    checked = gadget("min_by_index:MinAtIndex", f"{N_VALUES}, {MB}")
    v = [7, -2, 9, -2, 4] + [50] * (N_VALUES - 5)
    assert outputs(checked, {"v": v, "index": 1}) == (-2,)
    assert outputs(checked, {"v": v, "index": 3}) == (-2,)  # a tie selects the same value
    for wrong in (0, 2, 4, 5, N_VALUES - 1):
        assert rejected(checked, {"v": v, "index": wrong})
    assert rejected(checked, {"v": v, "index": N_VALUES})  # index outside 0..n-1
    assert rejected(checked, {"v": v, "index": -1})

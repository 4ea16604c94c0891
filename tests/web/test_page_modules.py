"""Unit tests of the page's modules under node: the money format, floor division and
integer square root against Python's, the normal distribution function against scipy's and
Black-76 against the engine's, the verification-key digest against prover/keys/vkey.py, and the
account and params readers' errors (each names the field and the rule; a ZKPM-1 params file
is refused with the reason, as the engine refuses it)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.special import ndtr

from engine.black76 import black76_delta, black76_price
from engine.errors import InputError
from engine.formats.params import load_params_doc
from engine.money import money
from prover.keys.vkey import vkey_sha256
from tests.web.node import run_mjs

ACCOUNT = {
    "format": "zkmargin/account@1",
    "account_id": 7,
    "nonce": 0,
    "salt": "12345",
    "cash": 1000000,
    "positions": [{"instrument_id": 5, "q": 2}, {"instrument_id": 1, "q": -3}, {"instrument_id": 9, "q": 0}],
}


def call(requests: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(requests))
    return list(run_mjs("modules.mjs", path))


def test_numbers_agree_with_python(tmp_path: Path) -> None:
    rng = random.Random(5)
    edge = [0, 1, -1, 9_999, -9_999, 10_000, -10_001, 10**6, -(10**6), 2**80, -(2**80), 2**254]
    xs = (
        edge
        + [rng.randint(-(2**200), 2**200) for _ in range(300)]
        + [rng.randint(-(10**9), 10**9) for _ in range(300)]
    )
    pairs = [(rng.randint(-(2**120), 2**120), rng.randint(1, 2**64)) for _ in range(300)] + [
        (-7, 2),
        (7, 2),
        (-6, 2),
    ]
    roots = [0, 1, 2, 3, 4, 15, 16, 17, 2**128 - 1, 2**128] + [rng.randint(0, 2**250) for _ in range(300)]
    got = call(
        [{"fn": "money", "args": [str(x)]} for x in xs]
        + [{"fn": "fdiv", "args": [str(n), str(d)]} for n, d in pairs]
        + [{"fn": "isqrt", "args": [str(n)]} for n in roots],
        tmp_path,
    )
    want = [money(x) for x in xs] + [str(n // d) for n, d in pairs] + [str(math.isqrt(n)) for n in roots]
    assert [g["value"] for g in got] == want


def test_the_normal_distribution_function_is_scipys(tmp_path: Path) -> None:
    """N(x) within 1e-15 of scipy's everywhere (measured: 5.6e-16 at most, a few ulps of 1),
    and relatively within 1e-14 in the lower tail the continued fraction serves (x < -2
    sqrt 2, down to where scipy's own result is still a normal double; measured 2.4e-15)."""
    rng = random.Random(7)
    xs = [0.0, -0.0, 1e-300, 2.0 * math.sqrt(2), -2.0 * math.sqrt(2), 2.8284, -2.8285, 8.3, 37.5, -37.0]
    xs += [rng.uniform(-10, 10) for _ in range(2000)] + [rng.uniform(-37, -3) for _ in range(500)]
    got = [g["value"] for g in call([{"fn": "normCdf", "args": [x]} for x in xs], tmp_path)]
    want = ndtr(np.array(xs))
    for x, g, w in zip(xs, got, want, strict=True):
        assert abs(g - w) <= 1e-15, (x, g, w)
        if x < -2.0 * math.sqrt(2):
            assert abs(g - w) <= 1e-14 * w, (x, g, w)


def test_black76_is_the_engines(tmp_path: Path) -> None:
    rng = random.Random(8)
    cases = [
        (100.0, 100.0, 0.0, 0.5, True),
        (100.0, 120.0, -0.01, 0.5, False),
        (100.0, 100.0, 0.1, 0.0, False),
    ]
    cases += [
        (
            10 ** rng.uniform(-2, 5),
            0.0,
            rng.choice([0.0, 1 / 365, rng.uniform(0, 3)]),
            rng.uniform(0, 4),
            rng.random() < 0.5,
        )
        for _ in range(600)
    ]
    cases = [(f, k or f * 10 ** rng.uniform(-1, 1), t, v, c) for f, k, t, v, c in cases]
    got = [g["value"] for g in call([{"fn": "black76", "args": list(c)} for c in cases], tmp_path)]
    for (f, k, t, v, is_call), (price, delta) in zip(cases, got, strict=True):
        want_price = float(black76_price(f, k, t, v, is_call))
        want_delta = float(black76_delta(f, k, t, v, is_call))
        assert abs(price - want_price) <= 1e-12 * max(f, k), (f, k, t, v, is_call, price, want_price)
        assert abs(delta - want_delta) <= 1e-14, (f, k, t, v, is_call, delta, want_delta)


def test_the_key_digest_is_the_bundles(tmp_path: Path) -> None:
    key = json.loads((Path(__file__).parent / "vkey-sample.json").read_text())
    odd = {"protocol": "groth16", "zeta": [1, "2"], "Alpha": {"b": 3, "a": "é\u2028"}, "nPublic": 8}
    got = call([{"fn": "vkeySha256", "args": [json.dumps(k, indent=3)]} for k in (key, odd)], tmp_path)
    assert [g["value"] for g in got] == [vkey_sha256(key), vkey_sha256(odd)]


def test_account_slots_are_canonical_and_errors_name_the_field(tmp_path: Path) -> None:
    def variant(**change: Any) -> str:
        return json.dumps({**ACCOUNT, **change})

    cases = [
        (json.dumps(ACCOUNT), None),
        (
            variant(positions=[{"instrument_id": 1, "q": 1}, {"instrument_id": 1, "q": 2}]),
            "duplicate instrument id 1",
        ),
        (
            variant(positions=[{"instrument_id": i, "q": 1} for i in range(5)]),
            "at most k = 4 non-zero positions",
        ),
        (variant(cash=1.5), "account.cash: must be an integer"),
        (variant(cash="1.5"), "account.cash: must be an integer"),
        (variant(cash=2**60), "beyond 2**53"),
        (
            variant(positions=[{"instrument_id": 1, "q": str(2**48)}]),
            "account.positions[0].q: must satisfy |q| < 2**48",
        ),
        (variant(salt=str(2**254)), "account.salt: must satisfy 0 <= salt < p"),
        (variant(format="zkmargin/account@2"), "account.format: expected"),
        ("{", "account: not valid JSON"),
    ]
    got = call([{"fn": "loadAccount", "args": [text, 4]} for text, _ in cases], tmp_path)
    assert got[0] == {"ok": True, "value": [["1", "-3"], ["5", "2"], ["0", "0"], ["0", "0"]]}
    for (_, message), answer in zip(cases[1:], got[1:], strict=True):
        assert not answer["ok"] and message in answer["error"], (message, answer)


PARAMS = {
    "format": "zkmargin/params@2",
    "model": "ZKPM-2",
    "mm_factor": 500000,
    "kappa": {"BTC": 7, "ETH": 9},
    "rho": [[1000000, -400000], [-400000, 1000000]],
}


def test_params_name_their_model_and_a_zkmargin_1_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    """The page reads what the engine reads and refuses what it refuses, naming the field."""

    def variant(**change: Any) -> dict[str, Any]:
        return {k: v for k, v in {**PARAMS, **change}.items() if v is not None}

    refused = [
        (variant(format="zkmargin/params@1"), "params.format: a ZKPM-1 params file"),
        (variant(format="zkmargin/params@1", model=None), "params.format: a ZKPM-1 params file"),
        (variant(model=None), 'params.model: must be "ZKPM-2"'),
        (variant(model="ZKPM-1"), 'params.model: must be "ZKPM-2"'),
        (variant(format="zkmargin/params@3"), "params.format: expected"),
    ]
    docs = [PARAMS] + [doc for doc, _ in refused]
    got = call([{"fn": "loadParams", "args": [json.dumps(d), ["BTC", "ETH"], 3]} for d in docs], tmp_path)
    assert got[0] == {
        "ok": True,
        "value": {
            "mm_factor": "500000",
            "kappa": ["7", "9", "0"],
            "rho": [["1000000", "-400000", "0"], ["-400000", "1000000", "0"], ["0", "0", "1000000"]],
        },
    }
    for (doc, message), answer in zip(refused, got[1:], strict=True):
        assert not answer["ok"] and answer["error"].startswith(message), (message, answer)
        with pytest.raises(InputError):  # the engine refuses it too
            load_params_doc(doc)
    load_params_doc(PARAMS)
    assert "ZKPM-2" in got[1]["error"] and "credits offsetting positions" in got[1]["error"]

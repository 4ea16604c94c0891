"""The page's second implementation of ZKPM-1 (web/src/margin.js, hashes.js, BigInt) agrees
with the Python engine on every parity account of the circuit tests: every number of
section 3, the commitment, the params hash and the market root."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from engine.commitments import MarketCommitments, commitment, params_hash
from engine.margin import compute_margin
from engine.profiles import PROFILES, Profile
from tests.circuits.cases import Case, edge_cases, hypothesis_cases, random_cases
from tests.web.node import run_mjs


def _case_json(case: Case, keys: dict[int, int]) -> dict[str, object]:
    market, params, account = case
    key = keys.setdefault(id(market), len(keys))
    return {
        "profile": {"assets": market.profile.assets, "depth": market.profile.depth},
        "market": {
            "key": key,
            "epoch": str(market.epoch),
            "assets": [[str(a.spot), str(a.depth)] for a in market.assets],
            "rows": [
                {
                    "id": str(r.instrument_id),
                    "asset": r.asset,
                    "mark": str(r.mark),
                    "delta": str(r.delta),
                    "ra": [str(v) for v in r.ra],
                    "c_long": str(r.c_long),
                    "c_short": str(r.c_short),
                }
                for r in market.rows.values()
            ],
        },
        "params": {
            "mm_factor": str(params.mm_factor),
            "kappa": [str(k) for k in params.kappa],
            "rho": [[str(v) for v in row] for row in params.rho],
        },
        "account": {
            "id": str(account.account_id),
            "nonce": str(account.nonce),
            "salt": str(account.salt),
            "cash": str(account.cash),
            "slots": [[str(s.instrument_id), str(s.q)] for s in account.slots],
        },
    }


def _check(cases: list[Case], tmp_path: Path) -> None:
    keys: dict[int, int] = {}
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([_case_json(c, keys) for c in cases]))
    results = run_mjs("margin_cases.mjs", path)
    assert len(results) == len(cases)
    roots: dict[int, int] = {}
    for i, ((market, params, account), got) in enumerate(zip(cases, results, strict=True)):
        r = compute_margin(market, params, account)
        want = {
            "status": r.status,
            "shortfall": str(r.shortfall),
            "E": str(r.E),
            "IM": str(r.IM),
            "MM": str(r.MM),
            "R": str(r.R),
            "SC": str(r.SC),
            "LQ": [str(x) for x in r.LQ],
            "W": [str(x) for x in r.W],
            "worst": list(r.worst_scenario),
            "commitment": str(commitment(account)),
            "params_hash": str(params_hash(params)),
        }
        market_root = roots.setdefault(id(market), MarketCommitments(market).market_root)
        assert {k: got[k] for k in want} == want, f"case {i}"
        assert got["market_root"] == str(market_root), f"case {i}: market root"


def test_every_parity_account_of_the_test_profile(tmp_path: Path) -> None:
    test = PROFILES["test"]
    cases = edge_cases(test, seed=0) + random_cases(test, 260, seed=1) + hypothesis_cases(test, 120)
    assert len(cases) >= 400
    assert set(Counter(compute_margin(*c).status for c in cases)) == {0, 1, 2, 3}
    _check(cases, tmp_path)


@pytest.mark.parametrize("name", ["demo", "standard"])
def test_parity_accounts_of_the_larger_profiles(name: str, tmp_path: Path) -> None:
    profile: Profile = PROFILES[name]
    _check(edge_cases(profile, seed=3) + random_cases(profile, 40, seed=4), tmp_path)

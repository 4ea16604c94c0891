"""witness_input: the input JSON's shape, and refusal of bad input before any witness."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from engine.commitments import commitment, market_root, params_hash
from engine.errors import InputError
from engine.fixedpoint import CASH_LIMIT, FIELD_P, ID_LIMIT, Q_LIMIT, SCALE, SPOT_LIMIT, VALUE_LIMIT
from engine.model import EMPTY_SLOT, Account, AssetEntry, Market, RiskParams, Slot
from engine.profiles import PROFILES
from prover.offline import witness_input
from prover.offline.witness_input import build_input
from tests.circuits.cases import account_for, builder_market, random_params

TEST = PROFILES["test"]


@pytest.fixture(scope="module")
def base() -> tuple[Market, RiskParams, Account]:
    rng = random.Random(8)
    market = builder_market(TEST, rng)
    params = random_params(TEST, rng)
    return market, params, account_for(market, rng, n_pos=2)


def test_input_shape_and_public_values(base: tuple[Market, RiskParams, Account]) -> None:
    market, params, account = base
    inp = build_input(market, params, account)
    assert int(inp["commitment"]) == commitment(account)
    assert int(inp["market_root"]) == market_root(market)
    assert int(inp["params_hash"]) == params_hash(params)
    assert len(inp["slot_q"]) == TEST.slots
    assert len(inp["row_ra"]) == TEST.slots and all(len(r) == 16 for r in inp["row_ra"])
    assert len(inp["path"]) == TEST.slots and all(len(p) == TEST.depth for p in inp["path"])
    assert len(inp["rho"]) == TEST.assets
    # hints are not inputs
    assert not any(k in inp for k in ("W", "R", "worst", "q", "r", "index"))
    # signed values are encoded mod p
    negative = dataclasses.replace(account, cash=-5)
    assert build_input(market, params, negative)["cash"] == str(FIELD_P - 5)


def _refused(market: Market, params: RiskParams, account: Account, field: str, monkeypatch: Any) -> None:
    def no_witness(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a witness was attempted")

    monkeypatch.setattr(witness_input, "MarketCommitments", no_witness)
    with pytest.raises(InputError) as err:
        build_input(market, params, account)
    assert err.value.field == field


def _slots(account: Account, pairs: list[tuple[int, int]]) -> Account:
    return dataclasses.replace(account, slots=tuple(Slot(i, q) for i, q in pairs))


ACCOUNT_CASES = {
    "q_too_big": (
        lambda a, ids: _slots(a, [(ids[0], Q_LIMIT), (0, 0), (0, 0), (0, 0)]),
        "account.slots[0].q",
    ),
    "q_too_small": (
        lambda a, ids: _slots(a, [(ids[0], -Q_LIMIT), (0, 0), (0, 0), (0, 0)]),
        "account.slots[0].q",
    ),
    "cash": (lambda a, ids: dataclasses.replace(a, cash=CASH_LIMIT), "account.cash"),
    "cash_negative": (lambda a, ids: dataclasses.replace(a, cash=-CASH_LIMIT), "account.cash"),
    "account_id": (lambda a, ids: dataclasses.replace(a, account_id=ID_LIMIT), "account.account_id"),
    "nonce": (lambda a, ids: dataclasses.replace(a, nonce=-1), "account.nonce"),
    "salt": (lambda a, ids: dataclasses.replace(a, salt=FIELD_P), "account.salt"),
    "empty_first": (lambda a, ids: _slots(a, [(0, 0), (ids[0], 1), (0, 0), (0, 0)]), "account.slots[1].q"),
    "repeated_id": (
        lambda a, ids: _slots(a, [(ids[0], 1), (ids[0], 2), (0, 0), (0, 0)]),
        "account.slots[1].instrument_id",
    ),
    "decreasing_ids": (
        lambda a, ids: _slots(a, [(ids[1], 1), (ids[0], 2), (0, 0), (0, 0)]),
        "account.slots[1].instrument_id",
    ),
    "empty_slot_with_id": (
        lambda a, ids: _slots(a, [(ids[0], 1), (0, 0), (ids[1], 0), (0, 0)]),
        "account.slots[2].instrument_id",
    ),
    "unknown_instrument": (
        lambda a, ids: _slots(a, [(min(set(range(TEST.capacity)) - set(ids)), 1), (0, 0), (0, 0), (0, 0)]),
        "account.slots[0].instrument_id",
    ),
    "id_past_capacity": (
        lambda a, ids: _slots(a, [(TEST.capacity, 1), (0, 0), (0, 0), (0, 0)]),
        "account.slots[0].instrument_id",
    ),
    "too_few_slots": (lambda a, ids: dataclasses.replace(a, slots=(EMPTY_SLOT,) * 3), "account.slots"),
}


@pytest.mark.parametrize("case", sorted(ACCOUNT_CASES))
def test_bad_account_refused(case: str, base: tuple[Market, RiskParams, Account], monkeypatch: Any) -> None:
    market, params, account = base
    make, field = ACCOUNT_CASES[case]
    ids = sorted(market.rows)
    bad = make(account, ids)
    _refused(market, params, bad, field, monkeypatch)


def test_bad_market_and_params_refused(base: tuple[Market, RiskParams, Account], monkeypatch: Any) -> None:
    market, params, account = base
    iid = sorted(market.rows)[0]
    row = market.rows[iid]
    rows = dict(market.rows)
    rows[iid] = dataclasses.replace(row, mark=VALUE_LIMIT)
    _refused(
        dataclasses.replace(market, rows=rows), params, account, f"market.rows[id={iid}].mark", monkeypatch
    )
    rows[iid] = dataclasses.replace(row, ra=(0,) * 15 + (-VALUE_LIMIT,))
    _refused(
        dataclasses.replace(market, rows=rows), params, account, f"market.rows[id={iid}].ra[15]", monkeypatch
    )
    rows[iid] = dataclasses.replace(row, delta=16 * SCALE + 1)
    _refused(
        dataclasses.replace(market, rows=rows), params, account, f"market.rows[id={iid}].delta", monkeypatch
    )
    rows[iid] = dataclasses.replace(row, c_short=-1)
    _refused(
        dataclasses.replace(market, rows=rows), params, account, f"market.rows[id={iid}].c_short", monkeypatch
    )
    assets = (AssetEntry(SPOT_LIMIT, 10), *market.assets[1:])
    _refused(
        dataclasses.replace(market, assets=assets), params, account, "market.assets[0].spot", monkeypatch
    )
    assets = (AssetEntry(10, 0), *market.assets[1:])
    _refused(
        dataclasses.replace(market, assets=assets), params, account, "market.assets[0].depth", monkeypatch
    )
    _refused(market, dataclasses.replace(params, mm_factor=0), account, "params.mm_factor", monkeypatch)
    _refused(
        market, dataclasses.replace(params, mm_factor=SCALE + 1), account, "params.mm_factor", monkeypatch
    )
    kappa = (2**32, *params.kappa[1:])
    with pytest.raises(InputError) as err:
        build_input(market, dataclasses.replace(params, kappa=kappa), account)
    assert err.value.field.startswith("params.kappa")
    rho = ((SCALE, SCALE // 2), (SCALE // 3, SCALE))  # not symmetric
    with pytest.raises(InputError) as err:
        build_input(market, dataclasses.replace(params, rho=rho), account)
    assert err.value.field.startswith("params.rho")

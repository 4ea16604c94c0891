"""The gate's intended use on the embedded chain: roles, market, params, commitments, proofs."""

from __future__ import annotations

import pytest

from tests.contracts.conftest import (
    ALICE,
    BOB,
    CAROL,
    HEALTHY,
    INSOLVENT,
    LIQUIDATABLE,
    MAX_AGE,
    PARAMS_1,
    PARAMS_2,
    RESTRICTED,
    ROOT_1,
    ROOT_2,
    GateEnv,
)
from verifier_contracts.gate import GateRevert, Role

LIQUIDATE_GAS_TARGET = 300_000


def test_full_flow(env: GateEnv) -> None:
    gate, roles = env.gate, env.chain.roles
    market = gate.latest_market()
    assert (market.root, market.epoch, market.fresh) == (ROOT_1, 1, True)
    assert gate.params_hash() == PARAMS_1
    assert gate.status_of(ALICE).commitment == env.commitments[ALICE]

    attested = gate.attest(ALICE, env.bundle(ALICE, HEALTHY))
    assert attested.event_names() == ["Attested"]
    alice = gate.status_of(ALICE)
    assert (alice.proven, alice.status, alice.shortfall, alice.proven_epoch) == (True, HEALTHY, 0, 1)
    assert not gate.is_liquidatable(ALICE)

    gate.attest(BOB, env.bundle(BOB, LIQUIDATABLE, 250_000_000))
    assert gate.is_liquidatable(BOB)

    result = gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 250_000_000))
    [(name, args)] = result.events
    assert name == "LiquidationOpened"
    assert (args["id"], args["status"], args["shortfall"], args["marketEpoch"]) == (BOB, 2, 250_000_000, 1)
    assert args["liquidator"] == roles.liquidator
    bob = gate.status_of(BOB)
    assert bob.liquidation_open and bob.status == LIQUIDATABLE
    assert not gate.is_liquidatable(BOB)

    insolvent = gate.liquidate(CAROL, env.bundle(CAROL, INSOLVENT, 7))
    assert insolvent.gas_used < LIQUIDATE_GAS_TARGET
    assert gate.status_of(CAROL).status == INSOLVENT


def test_liquidate_gas_below_target(env: GateEnv) -> None:
    """A first liquidation of a never-proven account (the dearest ordinary case): one new
    storage slot. A shortfall of 2**96 or more adds a second slot (about 22k gas)."""
    result = env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 2**96 - 2))
    assert result.gas_used < LIQUIDATE_GAS_TARGET


def test_restricted_status_is_recorded_but_not_liquidatable(env: GateEnv) -> None:
    env.gate.attest(ALICE, env.bundle(ALICE, RESTRICTED))
    assert env.gate.status_of(ALICE).status == RESTRICTED
    assert not env.gate.is_liquidatable(ALICE)


def test_new_commitment_closes_case_and_reopens_eligibility(env: GateEnv) -> None:
    gate = env.gate
    gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 9))
    new_commitment = 0xB0B2
    committed = gate.commit_accounts([BOB], [new_commitment])
    assert committed.event_names() == ["LiquidationClosed", "AccountCommitted"]
    assert committed.events[0][1] == {"id": BOB, "byNewCommitment": True}
    bob = gate.status_of(BOB)
    assert (bob.commitment, bob.proven, bob.liquidation_open) == (new_commitment, False, False)

    env.commitments[BOB] = new_commitment
    reopened = gate.liquidate(BOB, env.bundle(BOB, INSOLVENT, 3))
    assert reopened.event_names() == ["LiquidationOpened"]


def test_operator_closes_case(env: GateEnv) -> None:
    gate = env.gate
    gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 9))
    with pytest.raises(GateRevert) as exc:
        gate.close_liquidation(BOB, sender=env.chain.roles.liquidator)
    assert exc.value.error == "Unauthorized"
    closed = gate.close_liquidation(BOB)
    assert closed.events == [("LiquidationClosed", {"id": BOB, "byNewCommitment": False})]
    assert not gate.status_of(BOB).liquidation_open
    with pytest.raises(GateRevert) as again:
        gate.close_liquidation(BOB)
    assert again.value.error == "NoOpenLiquidation"


def test_is_liquidatable_needs_latest_market_and_params(env: GateEnv) -> None:
    gate = env.gate
    gate.attest(BOB, env.bundle(BOB, LIQUIDATABLE, 9))
    assert gate.is_liquidatable(BOB)
    gate.set_params(PARAMS_2)
    assert not gate.is_liquidatable(BOB)
    gate.attest(BOB, env.bundle(BOB, LIQUIDATABLE, 9, params=PARAMS_2))
    assert gate.is_liquidatable(BOB)
    gate.post_market(ROOT_2, 2)
    assert not gate.is_liquidatable(BOB)
    gate.attest(BOB, env.bundle(BOB, LIQUIDATABLE, 9, root=ROOT_2, params=PARAMS_2))
    assert gate.is_liquidatable(BOB)
    env.chain.advance_time(MAX_AGE + 1)
    assert not gate.is_liquidatable(BOB)
    assert not gate.latest_market().fresh


def test_shortfall_beyond_96_bits_is_kept_exact(env: GateEnv) -> None:
    huge = 2**200 + 12345
    env.gate.attest(CAROL, env.bundle(CAROL, INSOLVENT, huge))
    assert env.gate.status_of(CAROL).shortfall == huge


def test_market_epochs_and_age(env: GateEnv) -> None:
    gate = env.gate
    posted = gate.post_market(ROOT_2, 5)
    assert posted.event_names() == ["MarketPosted"]
    market = gate.latest_market()
    assert (market.root, market.epoch) == (ROOT_2, 5)
    assert market.posted_at == env.chain.w3.eth.get_block(posted.block_number)["timestamp"]
    gate.set_max_market_age(60)
    assert gate.max_market_age() == 60
    env.chain.advance_time(61)
    assert not gate.latest_market().fresh


def test_two_step_ownership_and_roles(env: GateEnv) -> None:
    gate, roles = env.gate, env.chain.roles
    gate.transfer_ownership(roles.user)
    with pytest.raises(GateRevert) as exc:
        gate.accept_ownership(sender=roles.liquidator)
    assert exc.value.error == "NotPendingOwner"
    gate.accept_ownership(sender=roles.user)
    assert gate.role_holders()["owner"] == roles.user
    with pytest.raises(GateRevert) as old:
        gate.set_role(Role.ORACLE, roles.liquidator, sender=roles.owner)
    assert old.value.error == "Unauthorized"
    moved = gate.set_role(Role.ORACLE, roles.liquidator, sender=roles.user)
    assert moved.events == [
        ("RoleSet", {"role": int(Role.ORACLE), "previous": roles.oracle, "account": roles.liquidator})
    ]
    gate.post_market(ROOT_2, 2, sender=roles.liquidator)
    with pytest.raises(GateRevert) as gone:
        gate.post_market(ROOT_2, 3, sender=roles.oracle)
    assert gone.value.error == "Unauthorized"
    with pytest.raises(GateRevert) as owner_role:
        gate.set_role(Role.OWNER, roles.oracle, sender=roles.user)
    assert owner_role.value.error == "InvalidRole"


def test_commit_batch_emits_one_event_per_account(env: GateEnv) -> None:
    ids = list(range(5000, 5010))
    result = env.gate.commit_accounts(ids, [i * 7 + 1 for i in ids])
    assert result.event_names() == ["AccountCommitted"] * 10
    assert env.gate.status_of(5009).commitment == 5009 * 7 + 1

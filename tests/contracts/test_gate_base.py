"""What every gate shares (GateBase.sol), on BatchGate with real proofs of the toy batch
circuit: markets and their freshness, parameters, roles and ownership, posting rules, and
the proof checks made before the verifier runs. Each attack reverts with its own custom
error and leaves no trace; a refused call is never mined."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from engine.fixedpoint import FIELD_P
from tests.contracts.conftest import (
    ACCOUNTS_2,
    BOB,
    HEALTHY,
    LIQUIDATABLE,
    MAX_AGE,
    PARAMS_1,
    PARAMS_2,
    ROOT_1,
    ROOT_2,
    GateEnv,
    deploy_env,
    rejected,
    untouched,
)
from tests.contracts.toy_prover import BatchToyProofSource
from verifier_contracts.batch_gate import BatchCall
from verifier_contracts.chain import embedded
from verifier_contracts.gate import GateRevert, Role

Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583


def test_stale_market(env: GateEnv) -> None:
    call = env.call([LIQUIDATABLE])
    env.chain.advance_time(MAX_AGE + 1)
    err = rejected(lambda: env.gate.liquidate_batch(call), "StaleMarket")
    posted_at = env.gate.latest_market().posted_at
    assert (err.error_args["postedAt"], err.error_args["expiresAt"]) == (posted_at, posted_at + MAX_AGE)
    assert err.error_args["timestamp"] > posted_at + MAX_AGE
    rejected(lambda: env.gate.attest_batch(call), "StaleMarket")
    untouched(env, BOB)


def test_market_is_fresh_through_its_expiry_second_and_stale_the_next(env: GateEnv) -> None:
    market = env.gate.latest_market()
    assert market.expires_at == market.posted_at + MAX_AGE
    # On the embedded chain the next block after advance_time(s) is at latest + s.
    env.chain.advance_time(market.expires_at - env.chain.now())
    result = env.gate.liquidate_batch(env.call([LIQUIDATABLE]))
    assert env.chain.w3.eth.get_block(result.block_number)["timestamp"] == market.expires_at
    env.chain.advance_time(1)  # the next block: expires_at + 1
    err = rejected(lambda: env.gate.attest_batch(env.call([HEALTHY])), "StaleMarket")
    assert err.error_args["timestamp"] == market.expires_at + 1
    assert not env.gate.latest_market().fresh


def test_raising_the_age_does_not_revive_a_stale_market(proofs: BatchToyProofSource) -> None:
    """The review's scenario: a gate of age 600, a market, a proven batch, 700 s later the
    liquidation is refused; governance then raises the age to 1,000,000 s. The market
    keeps the expiry it was posted with, so the same call is still refused and no case
    opens; a market posted after the raise gets the new age."""
    env = deploy_env(embedded(), proofs, max_age=600)
    call = env.call([LIQUIDATABLE])
    env.chain.advance_time(700)
    rejected(lambda: env.gate.liquidate_batch(call), "StaleMarket")
    raised = env.gate.set_max_market_age(1_000_000)
    assert raised.events == [("MaxMarketAgeSet", {"previous": 600, "maxAge": 1_000_000})]
    err = rejected(lambda: env.gate.liquidate_batch(call), "StaleMarket")
    posted_at = env.gate.latest_market().posted_at
    assert err.error_args["expiresAt"] == posted_at + 600
    assert not env.gate.latest_market().fresh and not env.gate.is_liquidatable(BOB)
    untouched(env, BOB)

    env.gate.post_market(ROOT_2, 2)
    market = env.gate.latest_market()
    assert market.fresh and market.expires_at == market.posted_at + 1_000_000
    env.chain.advance_time(700)
    opened = env.gate.liquidate_batch(env.call([LIQUIDATABLE], root=ROOT_2))
    assert "LiquidationsOpened" in opened.event_names()


def test_lowering_the_age_applies_to_markets_posted_after_it(env: GateEnv) -> None:
    """A change of the age applies to markets posted after it: the latest market keeps its
    expiry (provers working against it are not cut short), the next one gets the new age."""
    before = env.gate.latest_market()
    env.gate.set_max_market_age(60)
    assert env.gate.max_market_age() == 60
    env.chain.advance_time(61)
    assert env.gate.latest_market() == before  # fresh, same expiry
    env.gate.liquidate_batch(env.call([LIQUIDATABLE]))
    env.gate.post_market(ROOT_2, 2)
    market = env.gate.latest_market()
    assert market.expires_at == market.posted_at + 60
    env.chain.advance_time(62)
    rejected(lambda: env.gate.attest_batch(env.call([HEALTHY], root=ROOT_2)), "StaleMarket")


def test_an_age_near_2_64_never_expires(env: GateEnv) -> None:
    """postedAt + maxAge would overflow 64 bits: the expiry is capped at 2**64 - 1."""
    env.gate.set_max_market_age(2**64 - 1)
    env.gate.post_market(ROOT_2, 2)
    assert env.gate.latest_market().expires_at == 2**64 - 1
    env.chain.advance_time(10**9)
    assert env.gate.latest_market().fresh


def test_proof_against_previous_market_root(env: GateEnv) -> None:
    old = env.call([LIQUIDATABLE], root=ROOT_1)
    env.gate.post_market(ROOT_2, 2)
    err = rejected(lambda: env.gate.liquidate_batch(old), "WrongMarketRoot")
    assert err.error_args == {"latest": ROOT_2, "given": ROOT_1}
    # Claiming the new root does not help: the verifier gets the gate's own values.
    claimed = BatchCall(old.proof, [old.roots[0], ROOT_2, old.roots[2]], old.entries)
    rejected(lambda: env.gate.liquidate_batch(claimed), "InvalidProof")
    untouched(env, BOB)


def test_wrong_params_hash(env: GateEnv) -> None:
    other = env.call([LIQUIDATABLE], params=PARAMS_2)
    err = rejected(lambda: env.gate.liquidate_batch(other), "WrongParams")
    assert err.error_args == {"current": PARAMS_1, "given": PARAMS_2}
    made_before_change = env.call([LIQUIDATABLE])
    env.gate.set_params(PARAMS_2)
    rejected(lambda: env.gate.liquidate_batch(made_before_change), "WrongParams")
    untouched(env, BOB)


@pytest.mark.parametrize(
    ("call", "legit"),
    [
        (lambda g, s: g.post_market(ROOT_2, 2, sender=s), "oracle"),
        (lambda g, s: g.set_params(PARAMS_2, sender=s), "governance"),
        (lambda g, s: g.set_max_market_age(10, sender=s), "governance"),
        (lambda g, s: g.post_accounts(ACCOUNTS_2, 2, sender=s), "operator"),
        (lambda g, s: g.transfer_ownership(s, sender=s), "owner"),
    ],
)
def test_wrong_sender(env: GateEnv, call: Callable[[Any, str], Any], legit: str) -> None:
    for name, address in env.chain.roles.as_dict().items():
        if name == legit:
            continue
        with pytest.raises(GateRevert) as exc:
            call(env.gate, address)
        assert exc.value.error == "Unauthorized"
        assert exc.value.error_args["caller"].lower() == address.lower()


def test_close_liquidation_is_the_operator_s(env: GateEnv) -> None:
    env.gate.liquidate_batch(env.call([LIQUIDATABLE]))
    for name, address in env.chain.roles.as_dict().items():
        if name != "operator":
            with pytest.raises(GateRevert) as exc:
                env.gate.close_liquidation(BOB, sender=address)
            assert exc.value.error == "Unauthorized"
    assert env.gate.status_of(BOB).liquidation_open
    env.gate.close_liquidation(BOB)
    rejected(lambda: env.gate.close_liquidation(BOB), "NoOpenLiquidation")


def test_non_increasing_epoch(env: GateEnv) -> None:
    err = rejected(lambda: env.gate.post_market(ROOT_2, 1), "NonIncreasingEpoch")
    assert err.error_args == {"latest": 1, "given": 1}
    env.gate.post_market(ROOT_2, 3)
    rejected(lambda: env.gate.post_market(ROOT_1, 2), "NonIncreasingEpoch")
    assert env.gate.latest_market().root == ROOT_2


def test_posted_values_must_be_field_elements(env: GateEnv) -> None:
    rejected(lambda: env.gate.post_market(FIELD_P, 9), "InputNotInField")
    rejected(lambda: env.gate.set_params(FIELD_P + 1), "InputNotInField")
    rejected(lambda: env.gate.post_accounts(FIELD_P, 2), "InputNotInField")
    rejected(lambda: env.gate.post_market(0, 9), "ZeroValue")
    rejected(lambda: env.gate.post_accounts(0, 2), "ZeroValue")
    rejected(lambda: env.gate.set_max_market_age(0), "InvalidMaxMarketAge")


def test_no_market_or_params_yet(bare: GateEnv) -> None:
    gate = bare.gate
    gate.post_accounts(0x0A11_0001, 1)
    call = bare.call([LIQUIDATABLE])
    rejected(lambda: gate.liquidate_batch(call), "NoMarket")
    gate.post_market(ROOT_1, 1)
    rejected(lambda: gate.liquidate_batch(call), "ParamsNotSet")
    gate.set_params(PARAMS_1)
    assert "LiquidationsOpened" in gate.liquidate_batch(call).event_names()


def test_one_post_cannot_brick_the_gate(env: GateEnv) -> None:
    """An epoch of 2**64 - 1 (or any jump beyond MAX_EPOCH_STEP) is refused, so no single
    post can make every later post revert; the largest step is accepted."""
    err = rejected(lambda: env.gate.post_market(ROOT_2, 2**64 - 1), "EpochStepTooLarge")
    assert err.error_args == {"latest": 1, "given": 2**64 - 1, "maxStep": 1000}
    rejected(lambda: env.gate.post_market(ROOT_2, 1002), "EpochStepTooLarge")
    env.gate.post_market(ROOT_2, 1001)
    assert env.gate.latest_market().epoch == 1001
    env.gate.post_market(ROOT_2 + 1, 1002)  # later posts still go through


def test_a_market_root_is_never_posted_twice(env: GateEnv) -> None:
    """Re-posting an old root under a new epoch would make its old proofs valid again."""
    old = env.call([LIQUIDATABLE], root=ROOT_1)
    env.gate.post_market(ROOT_2, 2)
    err = rejected(lambda: env.gate.post_market(ROOT_1, 3), "RootAlreadyPosted")
    assert err.error_args == {"root": ROOT_1, "epoch": 1}
    assert env.gate.latest_market().root == ROOT_2
    rejected(lambda: env.gate.liquidate_batch(old), "WrongMarketRoot")
    assert env.gate.contract.functions.rootEpoch(ROOT_2).call() == 2


@pytest.mark.parametrize(("where", "index"), [(0, (1,)), (1, (0, 1)), (2, (0,))])
def test_non_canonical_proof_coordinate_reverts_cheaply(
    env: GateEnv, where: int, index: tuple[int, ...]
) -> None:
    """A coordinate >= q is refused before the verifier runs: a cheap revert, where it
    would burn all the gas forwarded to the pairing precompile first."""
    call = env.call([LIQUIDATABLE])
    points: list[Any] = json.loads(json.dumps(call.proof))  # a deep copy: a, [b0, b1], c
    target: Any = points[where]
    for i in index[:-1]:
        target = target[i]
    target[index[-1]] = int(target[index[-1]]) + Q  # the same point, not canonical
    forged = BatchCall(tuple(points), call.roots, call.entries)  # type: ignore[arg-type]
    err = rejected(lambda: env.gate.liquidate_batch(forged), "ProofNotInField")
    assert err.error_args["value"] >= Q
    # with 60k gas (a quarter of one pairing) the refusal still names the coordinate
    rejected(lambda: env.gate.liquidate_batch(forged, gas=60_000), "ProofNotInField")
    untouched(env, BOB)


def _with_point(call: BatchCall, where: int, point: list[Any]) -> BatchCall:
    """``call`` with proof point ``where`` (0: A, 1: B, 2: C) replaced by ``point``."""
    points: list[Any] = json.loads(json.dumps(call.proof))
    points[where] = point
    return BatchCall(tuple(points), call.roots, call.entries)  # type: ignore[arg-type]


def _mined_gas(env: GateEnv, call: BatchCall, gas: int) -> int:
    """Mine ``liquidateBatch`` with a ``gas`` limit and without the client's simulation; it
    must revert; the gas it used."""
    fn = env.gate.contract.functions.liquidateBatch(call.proof, call.roots, call.entries)
    tx_hash = fn.transact({"from": env.chain.roles.liquidator, "gas": gas})
    receipt = env.chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 0
    return int(receipt["gasUsed"])


@pytest.mark.parametrize(("where", "name"), [(0, "pi_a"), (2, "pi_c")])
def test_a_g1_point_off_the_curve_reverts_cheaply(env: GateEnv, where: int, name: str) -> None:
    """(1, 3) has coordinates below q but is not on y^2 = x^3 + 3: the pairing precompile
    would consume all the gas it is given (1,940,111 of a 2,000,000 limit before this
    check); the gate refuses it first, naming the point, in well under 100k gas."""
    call = env.call([LIQUIDATABLE])
    forged = _with_point(call, where, [1, 3])
    err = rejected(lambda: env.gate.liquidate_batch(forged), "ProofNotOnCurve")
    assert err.error_args == {"point": name}
    assert f"ProofNotOnCurve(point={name})" in str(err)
    assert _mined_gas(env, forged, 2_000_000) < 100_000
    rejected(lambda: env.gate.liquidate_batch(forged, gas=60_000), "ProofNotOnCurve")
    untouched(env, BOB)
    assert "LiquidationsOpened" in env.gate.liquidate_batch(call).event_names()  # the genuine one


def test_a_g2_point_off_the_twist_reverts_cheaply(env: GateEnv) -> None:
    call = env.call([LIQUIDATABLE])
    b = [list(pair) for pair in call.proof[1]]
    b[0][1] = (b[0][1] + 1) % Q  # x's c0 moved: off the twist
    forged = _with_point(call, 1, b)
    err = rejected(lambda: env.gate.liquidate_batch(forged), "ProofNotOnCurve")
    assert err.error_args == {"point": "pi_b"}
    assert _mined_gas(env, forged, 2_000_000) < 100_000
    untouched(env, BOB)


def test_points_at_infinity_pass_the_curve_checks_and_fail_the_pairing(env: GateEnv) -> None:
    """(0, 0) (and all zeros for B) is the point at infinity as the precompile encodes it:
    valid input, so the pairing runs and returns false (no gas burnt) and the proof is
    refused as invalid, as the verifier alone would refuse it."""
    call = env.call([LIQUIDATABLE])
    for where, point in ((0, [0, 0]), (1, [[0, 0], [0, 0]]), (2, [0, 0])):
        forged = _with_point(call, where, point)
        rejected(lambda forged=forged: env.gate.liquidate_batch(forged), "InvalidProof")
        assert _mined_gas(env, forged, 2_000_000) < 600_000
    untouched(env, BOB)


def test_a_refused_proof_is_never_mined(env: GateEnv) -> None:
    """The wrappers (and so `zkmargin chain attest/liquidate`) simulate before sending:
    a bad batch is refused locally with its custom error and costs no transaction."""
    w3 = env.chain.w3
    sender = env.chain.roles.liquidator
    sent, block = w3.eth.get_transaction_count(sender), w3.eth.block_number
    call = env.call([LIQUIDATABLE])
    rejected(lambda: env.gate.liquidate_batch(BatchCall(call.proof, call.roots, [])), "BadBatchSize")
    tampered = BatchCall(call.proof, call.roots, [call.entries[0] + 1])
    rejected(lambda: env.gate.liquidate_batch(tampered), "InvalidProof")
    assert (w3.eth.get_transaction_count(sender), w3.eth.block_number) == (sent, block)


def test_market_epochs_and_age(env: GateEnv) -> None:
    gate = env.gate
    gate.set_max_market_age(60)
    assert gate.max_market_age() == 60
    posted = gate.post_market(ROOT_2, 5)
    assert posted.event_names() == ["MarketPosted"]
    market = gate.latest_market()
    assert (market.root, market.epoch, market.fresh) == (ROOT_2, 5, True)
    assert market.posted_at == env.chain.w3.eth.get_block(posted.block_number)["timestamp"]
    assert market.expires_at == market.posted_at + 60
    # embedded: advance_time(s) mines a block at latest + s - 1, the block views read
    env.chain.advance_time(62)
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
        gate.post_market(ROOT_2 + 1, 3, sender=roles.oracle)
    assert gone.value.error == "Unauthorized"
    with pytest.raises(GateRevert) as owner_role:
        gate.set_role(Role.OWNER, roles.oracle, sender=roles.user)
    assert owner_role.value.error == "InvalidRole"

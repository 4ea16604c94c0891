"""Every attack on the gate is rejected with its own custom error, and leaves no trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.fixedpoint import FIELD_P
from tests.contracts.conftest import (
    ALICE,
    BOB,
    HEALTHY,
    LIQUIDATABLE,
    MAX_AGE,
    PARAMS_1,
    PARAMS_2,
    RESTRICTED,
    ROOT_1,
    ROOT_2,
    GateEnv,
)
from verifier_contracts.gate import GateRevert, TransactionFailed


def rejected(action: Callable[[], Any], error: str) -> GateRevert:
    """Run ``action``; it must revert with the custom error ``error``."""
    with pytest.raises(GateRevert) as exc:
        action()
    assert exc.value.error == error, str(exc.value)
    return exc.value


def assert_untouched(env: GateEnv, account: int) -> None:
    status = env.gate.status_of(account)
    assert not status.proven and not status.liquidation_open


def test_stale_market(env: GateEnv) -> None:
    bundle = env.bundle(BOB, LIQUIDATABLE, 1)
    env.chain.advance_time(MAX_AGE + 1)
    err = rejected(lambda: env.gate.liquidate(BOB, bundle), "StaleMarket")
    assert err.error_args["maxAge"] == MAX_AGE
    rejected(lambda: env.gate.attest(BOB, bundle), "StaleMarket")
    assert_untouched(env, BOB)


def test_market_exactly_max_age_is_still_fresh(env: GateEnv) -> None:
    posted_at = env.gate.latest_market().posted_at
    # On the embedded chain the next block after advance_time(s) is at latest + s.
    env.chain.advance_time(MAX_AGE - (env.chain.now() - posted_at))
    result = env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 1))
    assert env.chain.w3.eth.get_block(result.block_number)["timestamp"] == posted_at + MAX_AGE


def test_proof_against_previous_market_root(env: GateEnv) -> None:
    old = env.bundle(BOB, LIQUIDATABLE, 1, root=ROOT_1)
    env.gate.post_market(ROOT_2, 2)
    err = rejected(lambda: env.gate.liquidate(BOB, old), "WrongMarketRoot")
    assert err.error_args == {"latest": ROOT_2, "given": ROOT_1}
    # Claiming the new root does not help: the verifier gets the gate's own values.
    old["public_signals"][3] = str(ROOT_2)
    rejected(lambda: env.gate.liquidate(BOB, old), "InvalidProof")
    assert_untouched(env, BOB)


def test_wrong_params_hash(env: GateEnv) -> None:
    other = env.bundle(BOB, LIQUIDATABLE, 1, params=PARAMS_2)
    err = rejected(lambda: env.gate.liquidate(BOB, other), "WrongParams")
    assert err.error_args == {"current": PARAMS_1, "given": PARAMS_2}
    made_before_change = env.bundle(BOB, LIQUIDATABLE, 1)
    env.gate.set_params(PARAMS_2)
    rejected(lambda: env.gate.liquidate(BOB, made_before_change), "WrongParams")
    assert_untouched(env, BOB)


def test_commitment_replaced_after_proof(env: GateEnv) -> None:
    stale = env.bundle(BOB, LIQUIDATABLE, 1)
    env.gate.commit_accounts([BOB], [0xC0FFEE])
    err = rejected(lambda: env.gate.liquidate(BOB, stale), "WrongCommitment")
    assert err.error_args["current"] == 0xC0FFEE
    stale["public_signals"][2] = str(0xC0FFEE)
    rejected(lambda: env.gate.liquidate(BOB, stale), "InvalidProof")
    assert_untouched(env, BOB)


@pytest.mark.parametrize("status", [HEALTHY, RESTRICTED])
def test_healthy_or_restricted_proof_cannot_liquidate(env: GateEnv, status: int) -> None:
    bundle = env.bundle(BOB, status)
    err = rejected(lambda: env.gate.liquidate(BOB, bundle), "NotLiquidatable")
    assert err.error_args == {"id": BOB, "status": status}
    assert_untouched(env, BOB)


def test_proof_of_one_account_used_for_another(env: GateEnv) -> None:
    alices = env.bundle(ALICE, LIQUIDATABLE, 1)
    rejected(lambda: env.gate.liquidate(BOB, alices), "WrongCommitment")
    alices["public_signals"][2] = str(env.commitments[BOB])
    rejected(lambda: env.gate.liquidate(BOB, alices), "InvalidProof")
    assert_untouched(env, BOB)


def test_unknown_account(env: GateEnv) -> None:
    bundle = env.bundle(BOB, LIQUIDATABLE, 1)
    rejected(lambda: env.gate.liquidate(424242, bundle), "UnknownAccount")


@pytest.mark.parametrize(
    ("where", "index"),
    [("pi_a", (0,)), ("pi_b", (1, 0)), ("pi_c", (1,))],
)
def test_tampered_proof(env: GateEnv, where: str, index: tuple[int, ...]) -> None:
    bundle = env.bundle(BOB, LIQUIDATABLE, 1)
    target: Any = bundle["proof"][where]
    for i in index[:-1]:
        target = target[i]
    target[index[-1]] = str(int(target[index[-1]]) + 1)
    rejected(lambda: env.gate.liquidate(BOB, bundle), "InvalidProof")
    assert_untouched(env, BOB)


def test_tampered_status_or_shortfall(env: GateEnv) -> None:
    healthy = env.bundle(BOB, HEALTHY)
    healthy["public_signals"][0] = str(LIQUIDATABLE)
    rejected(lambda: env.gate.liquidate(BOB, healthy), "InvalidProof")
    bundle = env.bundle(BOB, LIQUIDATABLE, 100)
    bundle["public_signals"][1] = "101"
    rejected(lambda: env.gate.attest(BOB, bundle), "InvalidProof")
    assert_untouched(env, BOB)


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])
def test_public_input_not_in_field(env: GateEnv, index: int) -> None:
    """x + r is congruent to x; a verifier that reduced mod r would accept it."""
    bundle = env.bundle(BOB, LIQUIDATABLE, 1)
    value = int(bundle["public_signals"][index]) + FIELD_P
    bundle["public_signals"][index] = str(value)
    err = rejected(lambda: env.gate.liquidate(BOB, bundle), "InputNotInField")
    assert err.error_args == {"value": value}
    assert_untouched(env, BOB)


def test_unknown_status_value(env: GateEnv) -> None:
    bundle = env.bundle(BOB, 4, 1)
    rejected(lambda: env.gate.attest(BOB, bundle), "InvalidStatus")


def test_second_liquidation_of_open_case(env: GateEnv) -> None:
    env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 1))
    rejected(lambda: env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 1)), "LiquidationAlreadyOpen")
    # A different (re-made) proof of the same state changes nothing: nothing keys on proof bytes.
    rejected(lambda: env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 2)), "LiquidationAlreadyOpen")


def test_starved_gas_never_opens_a_case(env: GateEnv) -> None:
    """The snarkjs verifier answers false when a precompile runs out of gas; the gate
    turns that into a revert, so too little gas cannot open a case."""
    bundle = env.bundle(BOB, LIQUIDATABLE, 1)
    with pytest.raises((GateRevert, TransactionFailed)):
        env.gate.liquidate(BOB, bundle, gas=200_000)
    assert_untouched(env, BOB)


@pytest.mark.parametrize(
    ("call", "legit"),
    [
        (lambda g, s: g.post_market(ROOT_2, 2, sender=s), "oracle"),
        (lambda g, s: g.set_params(PARAMS_2, sender=s), "governance"),
        (lambda g, s: g.set_max_market_age(10, sender=s), "governance"),
        (lambda g, s: g.commit_accounts([BOB], [5], sender=s), "operator"),
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


def test_non_increasing_epoch(env: GateEnv) -> None:
    err = rejected(lambda: env.gate.post_market(ROOT_2, 1), "NonIncreasingEpoch")
    assert err.error_args == {"latest": 1, "given": 1}
    env.gate.post_market(ROOT_2, 3)
    rejected(lambda: env.gate.post_market(ROOT_1, 2), "NonIncreasingEpoch")
    assert env.gate.latest_market().root == ROOT_2


def test_posted_values_must_be_field_elements(env: GateEnv) -> None:
    rejected(lambda: env.gate.post_market(FIELD_P, 9), "InputNotInField")
    rejected(lambda: env.gate.set_params(FIELD_P + 1), "InputNotInField")
    rejected(lambda: env.gate.commit_accounts([BOB], [FIELD_P]), "InputNotInField")
    rejected(lambda: env.gate.post_market(0, 9), "ZeroValue")
    rejected(lambda: env.gate.commit_accounts([BOB], [0]), "ZeroValue")
    rejected(lambda: env.gate.commit_accounts([BOB, ALICE], [5]), "LengthMismatch")
    rejected(lambda: env.gate.set_max_market_age(0), "InvalidMaxMarketAge")


def test_no_market_or_params_yet(bare: GateEnv) -> None:
    gate = bare.gate
    gate.commit_accounts([BOB], [bare.commitments[BOB]])
    bundle = bare.bundle(BOB, LIQUIDATABLE, 1)
    rejected(lambda: gate.liquidate(BOB, bundle), "NoMarket")
    gate.post_market(ROOT_1, 1)
    rejected(lambda: gate.liquidate(BOB, bundle), "ParamsNotSet")
    gate.set_params(PARAMS_1)
    assert gate.liquidate(BOB, bundle).event_names() == ["LiquidationOpened"]


# ---------------------------------------------------------------- hardening (hostile input)

Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583


def test_one_post_cannot_brick_the_gate(env: GateEnv) -> None:
    """An epoch of 2**64 - 1 (or any jump beyond MAX_EPOCH_STEP) is refused, so no single
    post can make every later post revert; the largest step is accepted."""
    err = rejected(lambda: env.gate.post_market(ROOT_2, 2**64 - 1), "EpochStepTooLarge")
    assert err.error_args == {"latest": 1, "given": 2**64 - 1, "maxStep": 1000}
    rejected(lambda: env.gate.post_market(ROOT_2, 1002), "EpochStepTooLarge")
    env.gate.post_market(ROOT_2, 1001)
    assert env.gate.latest_market().epoch == 1001
    env.gate.post_market(ROOT_2 + 1, 1002)  # later posts still go through


def test_a_root_is_never_posted_twice(env: GateEnv) -> None:
    """Re-posting an old root under a new epoch would make its old proofs valid again."""
    old = env.bundle(BOB, LIQUIDATABLE, 1, root=ROOT_1)
    env.gate.post_market(ROOT_2, 2)
    err = rejected(lambda: env.gate.post_market(ROOT_1, 3), "RootAlreadyPosted")
    assert err.error_args == {"root": ROOT_1, "epoch": 1}
    assert env.gate.latest_market().root == ROOT_2
    rejected(lambda: env.gate.liquidate(BOB, old), "WrongMarketRoot")
    assert env.gate.contract.functions.rootEpoch(ROOT_2).call() == 2


@pytest.mark.parametrize(("where", "index"), [("pi_a", (1,)), ("pi_b", (0, 1)), ("pi_c", (0,))])
def test_non_canonical_proof_coordinate_reverts_cheaply(
    env: GateEnv, where: str, index: tuple[int, ...]
) -> None:
    """A coordinate >= q is refused before the verifier runs: a cheap revert, where it
    used to burn all the gas forwarded to the pairing precompile (971k) first."""
    bundle = env.bundle(BOB, LIQUIDATABLE, 1)
    target: Any = bundle["proof"][where]
    for i in index[:-1]:
        target = target[i]
    target[index[-1]] = str(int(target[index[-1]]) + Q)  # the same point, not canonical
    err = rejected(lambda: env.gate.liquidate(BOB, bundle), "ProofNotInField")
    assert err.error_args["value"] >= Q
    # with 60k gas (a quarter of one pairing) the refusal still names the coordinate
    err = rejected(lambda: env.gate.liquidate(BOB, bundle, gas=60_000), "ProofNotInField")
    assert_untouched(env, BOB)


def test_a_closed_case_is_not_reopened_by_replaying_its_proof(env: GateEnv) -> None:
    """After closeLiquidation the same proof (or any proof of the closing epoch) cannot
    reopen the case; a proof on a later market epoch can, and so can any proof after a
    new commitment."""
    bundle = env.bundle(BOB, LIQUIDATABLE, 1)
    env.gate.liquidate(BOB, bundle)
    env.gate.close_liquidation(BOB)
    assert not env.gate.status_of(BOB).liquidation_open
    err = rejected(lambda: env.gate.liquidate(BOB, bundle), "CaseClosedAtEpoch")
    assert err.error_args == {"id": BOB, "closedAt": 1, "epoch": 1}
    assert not env.gate.status_of(BOB).liquidation_open
    env.gate.post_market(ROOT_2, 2)
    env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 1, root=ROOT_2))
    assert env.gate.status_of(BOB).liquidation_open
    # closed again at epoch 2, then a new commitment: a proof of the same epoch may reopen
    env.gate.close_liquidation(BOB)
    rejected(
        lambda: env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 1, root=ROOT_2)), "CaseClosedAtEpoch"
    )
    env.gate.commit_accounts([BOB], [0xB0B2])
    env.commitments[BOB] = 0xB0B2
    env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 1, root=ROOT_2))
    assert env.gate.status_of(BOB).liquidation_open


def test_a_refused_proof_is_never_mined(env: GateEnv) -> None:
    """The wrappers (and so `zkmargin chain attest/liquidate`) simulate before sending:
    a bad bundle is refused locally with its custom error and costs no transaction."""
    w3 = env.chain.w3
    sender = env.chain.roles.liquidator
    sent, block = w3.eth.get_transaction_count(sender), w3.eth.block_number
    healthy = env.bundle(BOB, HEALTHY)
    rejected(lambda: env.gate.liquidate(BOB, healthy), "NotLiquidatable")
    tampered = env.bundle(BOB, LIQUIDATABLE, 1)
    tampered["public_signals"][1] = "2"
    rejected(lambda: env.gate.liquidate(BOB, tampered), "InvalidProof")
    assert (w3.eth.get_transaction_count(sender), w3.eth.block_number) == (sent, block)

"""BatchGate with real Groth16 proofs of the toy batch circuit (K = 4, any entries): the flow
(post accounts, attest, liquidate, views) and every attack, each rejected with its own
custom error and leaving no trace; an entry whose case is open is skipped, not reverted."""

from __future__ import annotations

import pytest

from engine.batch_statement import SHORTFALL_CAP, BatchEntry
from engine.fixedpoint import FIELD_P
from tests.contracts.conftest import (
    ACCOUNTS_1,
    ACCOUNTS_2,
    ALICE,
    BOB,
    CAROL,
    DAVE,
    HEALTHY,
    INSOLVENT,
    LIQUIDATABLE,
    MAX_AGE,
    PARAMS_1,
    RESTRICTED,
    ROOT_1,
    ROOT_2,
    GateEnv,
    deploy_env,
    rejected,
    untouched,
)
from tests.contracts.toy_prover import BATCH_TOY_SIZE, BatchToyProofSource
from verifier_contracts.batch_gate import BatchCall, BatchGate, opened_ids, skipped_ids
from verifier_contracts.chain import embedded
from verifier_contracts.gate import GateRevert, TransactionFailed, deploy_verifier

PARAMS = PARAMS_1
Env = GateEnv


def deploy(proofs: BatchToyProofSource, *, setup: bool = True) -> GateEnv:
    return deploy_env(embedded(), proofs, setup=setup)


# ---------------------------------------------------------------- the flow


def test_liquidate_batch_opens_cases_for_status_2_and_3_and_records_the_rest(env: Env) -> None:
    result = env.gate.liquidate_batch(env.call([HEALTHY, LIQUIDATABLE, INSOLVENT, RESTRICTED]))
    assert opened_ids(result) == [BOB, CAROL]
    accepted = [args for name, args in result.events if name == "BatchAccepted"]
    assert accepted[0]["liquidation"] is True and accepted[0]["count"] == 4
    for entry in (HEALTHY, LIQUIDATABLE, INSOLVENT, RESTRICTED):
        status = env.gate.status_of(entry.account_id)
        assert (status.status, status.shortfall, status.current) == (entry.status, entry.shortfall, True)
        assert (status.proven_epoch, status.accounts_epoch, status.params_version) == (1, 1, 1)
        assert status.liquidation_open == (entry.status >= 2)
    assert not env.gate.is_liquidatable(BOB)  # its case is open now
    assert not env.gate.is_liquidatable(ALICE)


def test_attest_batch_records_without_opening_and_is_liquidatable_follows(env: Env) -> None:
    result = env.gate.attest_batch(env.call([LIQUIDATABLE, INSOLVENT]))
    assert "LiquidationsOpened" not in result.event_names()
    assert env.gate.is_liquidatable(BOB) and env.gate.is_liquidatable(CAROL)
    assert env.gate.status_of(CAROL).shortfall == SHORTFALL_CAP  # recorded as published, capped
    # a new accounts root: the records are no longer current
    env.gate.post_accounts(ACCOUNTS_2, 2)
    assert not env.gate.is_liquidatable(BOB)
    assert not env.gate.status_of(BOB).current
    # a new market epoch: not liquidatable until proved on it
    env.gate.attest_batch(env.call([LIQUIDATABLE], accounts=ACCOUNTS_2))
    assert env.gate.is_liquidatable(BOB)
    env.gate.post_market(ROOT_2, 2)
    assert not env.gate.is_liquidatable(BOB)
    env.chain.advance_time(MAX_AGE + 1)
    assert not env.gate.is_liquidatable(BOB)


def test_statuses_of_reads_many_records_in_one_call_as_status_of_does(env: Env) -> None:
    env.gate.liquidate_batch(env.call([HEALTHY, LIQUIDATABLE, INSOLVENT, RESTRICTED]))
    ids = [ALICE, BOB, CAROL, DAVE, 424242]  # the last one was never proven
    bulk = env.gate.statuses_of(ids)
    assert bulk == {i: env.gate.status_of(i) for i in ids}
    assert [bulk[i].liquidation_open for i in ids] == [False, True, True, False, False]
    assert bulk[424242].proven_at == 0 and env.gate.statuses_of([]) == {}
    # more ids than one call takes: read in chunks, every id once
    many = list(range(1, 1203))
    assert list(env.gate.statuses_of(many)) == many


def test_an_open_case_is_skipped_not_reverted(env: Env) -> None:
    env.gate.liquidate_batch(env.call([LIQUIDATABLE]))
    result = env.gate.liquidate_batch(env.call([LIQUIDATABLE, INSOLVENT]))
    assert (skipped_ids(result), opened_ids(result)) == ([BOB], [CAROL])
    assert result.event_names() == ["LiquidationSkipped", "LiquidationsOpened", "BatchAccepted"]
    assert env.gate.status_of(CAROL).liquidation_open


def test_status_0_or_1_in_liquidate_batch_is_recorded_without_a_case(env: Env) -> None:
    result = env.gate.liquidate_batch(env.call([HEALTHY, RESTRICTED]))
    assert "LiquidationsOpened" not in result.event_names()
    assert env.gate.status_of(ALICE).proven_at > 0 and env.gate.status_of(DAVE).status == 1
    assert not env.gate.status_of(ALICE).liquidation_open


def test_a_closed_case_reopens_only_on_a_later_epoch(env: Env) -> None:
    call = env.call([LIQUIDATABLE])
    env.gate.liquidate_batch(call)
    env.gate.close_liquidation(BOB)
    assert not env.gate.status_of(BOB).liquidation_open
    replay = env.gate.liquidate_batch(call)
    assert ("LiquidationSkipped", {"id": BOB, "reason": 2}) in replay.events
    assert not env.gate.status_of(BOB).liquidation_open
    env.gate.post_market(ROOT_2, 2)  # a later market epoch
    env.gate.liquidate_batch(env.call([LIQUIDATABLE], root=ROOT_2))
    assert env.gate.status_of(BOB).liquidation_open
    env.gate.close_liquidation(BOB)
    env.gate.post_accounts(ACCOUNTS_2, 2)  # or a later accounts epoch
    env.gate.liquidate_batch(env.call([LIQUIDATABLE], accounts=ACCOUNTS_2, root=ROOT_2))
    assert env.gate.status_of(BOB).liquidation_open
    rejected(lambda: env.gate.close_liquidation(ALICE), "NoOpenLiquidation")


def test_posting_accounts_is_one_transaction_of_constant_gas(env: Env) -> None:
    gas = [env.gate.post_accounts(root, epoch).gas_used for epoch, root in ((2, 0xAA), (3, 0xBB), (4, 0xCC))]
    assert max(gas) - min(gas) <= 100, gas  # O(1) in the number of accounts: nothing per account
    assert env.gate.accounts_root() == (0xCC, 4)


# ---------------------------------------------------------------- attacks


def test_replayed_batch_after_a_new_accounts_root(env: Env) -> None:
    call = env.call([LIQUIDATABLE])
    env.gate.post_accounts(ACCOUNTS_2, 2)
    err = rejected(lambda: env.gate.liquidate_batch(call), "WrongAccountsRoot")
    assert err.error_args == {"latest": ACCOUNTS_2, "given": ACCOUNTS_1}
    untouched(env, BOB)


def test_replayed_batch_after_a_new_market_epoch(env: Env) -> None:
    call = env.call([LIQUIDATABLE])
    env.gate.post_market(ROOT_2, 2)
    rejected(lambda: env.gate.liquidate_batch(call), "WrongMarketRoot")
    untouched(env, BOB)


def test_wrong_params_and_stale_market(env: Env) -> None:
    rejected(lambda: env.gate.attest_batch(env.call([LIQUIDATABLE], params=PARAMS + 1)), "WrongParams")
    call = env.call([LIQUIDATABLE])
    env.chain.advance_time(MAX_AGE + 1)
    rejected(lambda: env.gate.liquidate_batch(call), "StaleMarket")
    untouched(env, BOB)


def test_an_accounts_root_is_never_posted_twice_and_epochs_increase(env: Env) -> None:
    rejected(lambda: env.gate.post_accounts(ACCOUNTS_1, 2), "AccountsRootAlreadyPosted")
    rejected(lambda: env.gate.post_accounts(ACCOUNTS_2, 1), "NonIncreasingAccountsEpoch")
    rejected(lambda: env.gate.post_accounts(ACCOUNTS_2, 1002), "AccountsEpochStepTooLarge")
    rejected(lambda: env.gate.post_accounts(0, 2), "ZeroValue")
    rejected(lambda: env.gate.post_accounts(FIELD_P, 2), "InputNotInField")
    rejected(lambda: env.gate.post_accounts(ACCOUNTS_2, 2, sender=env.chain.roles.oracle), "Unauthorized")


def test_no_accounts_root_yet(proofs: BatchToyProofSource) -> None:
    env = deploy(proofs, setup=False)
    env.gate.post_market(ROOT_1, 1)
    env.gate.set_params(PARAMS)
    rejected(lambda: env.gate.liquidate_batch(env.call([LIQUIDATABLE])), "NoAccounts")


def test_a_proof_for_other_entries(env: Env) -> None:
    """The proof of one batch with another batch's entries: the verifier refuses it."""
    call = env.call([LIQUIDATABLE, INSOLVENT])
    for entries in (
        [BatchEntry(BOB, 2, 5 * 10**6 + 1).packed, INSOLVENT.packed],  # one shortfall changed
        [INSOLVENT.packed, LIQUIDATABLE.packed],  # two entries swapped
        [LIQUIDATABLE.packed],  # an entry dropped (another count)
        [LIQUIDATABLE.packed, INSOLVENT.packed, HEALTHY.packed],  # an entry added
        [BatchEntry(ALICE, 2, 5 * 10**6).packed, INSOLVENT.packed],  # another account's id
    ):
        forged = BatchCall(call.proof, call.roots, entries)
        rejected(lambda forged=forged: env.gate.liquidate_batch(forged), "InvalidProof")
    untouched(env, BOB, CAROL, ALICE)


@pytest.mark.parametrize("value", [2**126, 2**252, 2**253, FIELD_P, FIELD_P + 1, 2**256 - 1])
def test_entries_that_cannot_be_packed_entries(env: Env, value: int) -> None:
    call = env.call([LIQUIDATABLE])
    forged = BatchCall(call.proof, call.roots, [value])
    err = rejected(lambda: env.gate.liquidate_batch(forged), "EntryOutOfRange")
    assert err.error_args == {"index": 0, "entry": value}


def test_roots_not_in_the_field(env: Env) -> None:
    call = env.call([LIQUIDATABLE])
    for i in range(3):
        roots = list(call.roots)
        roots[i] = FIELD_P + roots[i]  # the same value mod r: must be refused, not wrapped
        rejected(
            lambda roots=roots: env.gate.liquidate_batch(BatchCall(call.proof, roots, call.entries)),
            "InputNotInField",
        )


def test_batch_sizes_outside_1_to_k(env: Env) -> None:
    call = env.call([LIQUIDATABLE])
    rejected(lambda: env.gate.liquidate_batch(BatchCall(call.proof, call.roots, [])), "BadBatchSize")
    five = [BatchEntry(i, 0, 0).packed for i in range(1, BATCH_TOY_SIZE + 2)]
    err = rejected(lambda: env.gate.liquidate_batch(BatchCall(call.proof, call.roots, five)), "BadBatchSize")
    assert err.error_args == {"count": BATCH_TOY_SIZE + 1, "batchSize": BATCH_TOY_SIZE}


def test_tampered_proof_point_and_starved_gas(env: Env) -> None:
    call = env.call([LIQUIDATABLE])
    a = list(call.proof[0])
    a[1] = 21888242871839275222246405745257275088696311157297823662689037894645226208583 - a[1]  # -A: on G1
    rejected(
        lambda: env.gate.liquidate_batch(
            BatchCall((a, call.proof[1], call.proof[2]), call.roots, call.entries)
        ),
        "InvalidProof",
    )
    with pytest.raises((GateRevert, TransactionFailed)):
        env.gate.liquidate_batch(call, gas=250_000)
    untouched(env, BOB)


def test_the_gate_checks_its_verifier_and_size_at_deployment(proofs: BatchToyProofSource) -> None:
    chain = embedded()
    verifier, _ = deploy_verifier(chain, proofs.verifier_sol)
    for args, error in (((verifier, 0), "BadBatchSize"), (("0x" + "00" * 20, 4), "ZeroAddress")):
        with pytest.raises(GateRevert) as exc:
            BatchGate.deploy(chain, *args)
        assert exc.value.error == error
    gate, _ = BatchGate.deploy(chain, verifier, BATCH_TOY_SIZE + 1)  # a verifier of another K
    gate.post_market(ROOT_1, 1)
    gate.set_params(PARAMS)
    gate.post_accounts(ACCOUNTS_1, 1)
    wrong = Env(chain, gate, proofs).call([LIQUIDATABLE])
    with pytest.raises(GateRevert) as exc:
        gate.liquidate_batch(wrong)
    assert exc.value.error == "InvalidProof"  # the selector of uint256[7] is not the verifier's

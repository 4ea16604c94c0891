"""Batched liquidations with the real MarginBatch circuit of the ``test`` profile (K = 4):
the demo's crashed market, the operator's batching by priority, real Groth16 proofs, the
generated verifier and BatchGate, on the embedded chain and on anvil.

What the toy circuit cannot show: the gate's records equal the engine's margin for every
account, a batch is bound to one accounts root, and after a state change a new accounts
root makes the earlier batch proofs worthless.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.margin_scenario import MarginScenario, build_scenario
from engine.accounts_tree import AccountsTree
from engine.batch_statement import batch_entries
from engine.batching import liquidation_batches
from engine.formats import load_accounts_tree
from engine.margin import compute_margin
from engine.profiles import get_profile
from prover.backends.prove import Prover
from prover.keys.artifacts import CircuitArtifacts, prepare_artifacts
from prover.statements.prove_batch import prove_batch
from prover.toolchain.build import batch_spec
from tests.support.batches import settle_liquidations
from verifier_contracts.batch_gate import BatchGate, batch_calldata, opened_ids
from verifier_contracts.chain import Chain, anvil, embedded
from verifier_contracts.gate import GateRevert, deploy_verifier

pytestmark = pytest.mark.circuit

PROFILE = get_profile("test")
SHOCK = {"BTC": -0.12, "ETH": -0.16}


@pytest.fixture(scope="module")
def artifacts() -> CircuitArtifacts:
    return prepare_artifacts(batch_spec(PROFILE), method="native")


@pytest.fixture(scope="module")
def scenario() -> MarginScenario:
    crashed = build_scenario(PROFILE.name, accounts=24).at_epoch(2, SHOCK, 1.35)
    due = [i for i in crashed.accounts if crashed.status(i) >= 2]
    assert len(due) > PROFILE.batch_size  # more than one batch, the last one partial
    assert len(due) % PROFILE.batch_size != 0
    return crashed


def deploy(chain: Chain, artifacts: CircuitArtifacts, scenario: MarginScenario) -> BatchGate:
    verifier, _ = deploy_verifier(chain, artifacts.verifier_sol.read_text(encoding="utf-8"))
    gate, _ = BatchGate.deploy(chain, verifier, PROFILE.batch_size)
    gate.post_market(scenario.market_root, scenario.epoch)
    gate.set_params(scenario.params_hash)
    return gate


def check_settlement(
    chain: Chain, artifacts: CircuitArtifacts, scenario: MarginScenario, folder: Path
) -> None:
    gate = deploy(chain, artifacts, scenario)
    accounts = list(scenario.accounts.values())
    published = folder / "accounts-tree.json"
    with Prover() as prover:
        settled = settle_liquidations(
            gate, scenario.market, scenario.params, accounts, artifacts, prover, publish=published
        )
        tree = load_accounts_tree(published)  # the operator's published leaves rebuild the posted root
        assert tree.root == settled.accounts_root == gate.accounts_root()[0]
        assert tree.ids == sorted(scenario.accounts)
        due = sorted(i for i in scenario.accounts if scenario.status(i) >= 2)
        assert sorted(settled.opened) == due
        planned = liquidation_batches(
            batch_entries(scenario.market, scenario.params, accounts), PROFILE.batch_size
        )
        assert [b.entries for b in settled.batches] == [tuple(p) for p in planned]  # priority order kept
        assert settled.post_gas is not None and settled.accounts_epoch == 1
        for account_id, account in scenario.accounts.items():
            record = gate.status_of(account_id)
            if account_id in due:
                margin = compute_margin(scenario.market, scenario.params, account)
                assert (record.status, record.shortfall) == (margin.status, margin.shortfall)
                assert record.liquidation_open and record.current
            else:
                assert record.proven_at == 0  # healthy accounts are not in liquidation batches
        # the same run again: the root is already posted and every entry is skipped
        again = settle_liquidations(gate, scenario.market, scenario.params, accounts, artifacts, prover)
        assert again.post_gas is None and again.opened == []
        assert sorted(i for b in again.batches for i in b.skipped) == due


def test_batched_liquidations_on_the_embedded_chain(
    artifacts: CircuitArtifacts, scenario: MarginScenario, tmp_path: Path
) -> None:
    check_settlement(embedded(), artifacts, scenario, tmp_path)


@pytest.mark.anvil
def test_batched_liquidations_on_anvil(
    artifacts: CircuitArtifacts, scenario: MarginScenario, tmp_path: Path
) -> None:
    with anvil() as chain:
        check_settlement(chain, artifacts, scenario, tmp_path)


def test_a_new_accounts_root_makes_old_batch_proofs_worthless(
    artifacts: CircuitArtifacts, scenario: MarginScenario
) -> None:
    """A liquidatable account tops up its cash: the operator posts the new tree, and the
    batch proved on the old tree is refused; the new state proves healthy."""
    gate = deploy(embedded(), artifacts, scenario)
    due = sorted(i for i in scenario.accounts if scenario.status(i) >= 2)[:2]
    tree = AccountsTree.of_accounts(scenario.accounts.values(), depth=PROFILE.accounts_depth)
    gate.post_accounts(tree.root, 1)
    members = [scenario.accounts[i] for i in due]
    with Prover() as prover:
        old = prove_batch(scenario.market, scenario.params, members, tree, artifacts, prover)
        topped = dataclasses.replace(members[0], nonce=members[0].nonce + 1, cash=members[0].cash + 10**15)
        accounts = {**scenario.accounts, topped.account_id: topped}
        new_tree = AccountsTree.of_accounts(accounts.values(), depth=PROFILE.accounts_depth)
        gate.post_accounts(new_tree.root, 2)
        with pytest.raises(GateRevert) as exc:
            gate.liquidate_batch(batch_calldata(old.proof.proof, old.public_signals))
        assert exc.value.error == "WrongAccountsRoot"
        fresh = prove_batch(
            scenario.market, scenario.params, [topped, members[1]], new_tree, artifacts, prover
        )
    assert fresh.entries[0].status == 0
    result = gate.liquidate_batch(batch_calldata(fresh.proof.proof, fresh.public_signals))
    assert opened_ids(result) == [members[1].account_id]
    assert (
        gate.status_of(topped.account_id).status == 0
        and not gate.status_of(topped.account_id).liquidation_open
    )

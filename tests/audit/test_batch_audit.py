"""A user's audit of a batch proof (test profile, K = 4, real proof): the honest audit passes
every check for each account the batch names; a wrong salt, an altered position, another
account, a stale market and a tampered entry each fail the check that says why; the batch
bundle's format is validated field by field; on chain, the gate's record is the entry."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from bench.margin_scenario import MarginScenario, build_scenario
from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry
from engine.model import Slot
from engine.profiles import get_profile
from prover.backends.prove import Prover
from prover.keys.artifacts import CircuitArtifacts, prepare_artifacts
from prover.statements.batch_bundle import BatchBundle
from prover.statements.bundle_file import BundleError
from prover.statements.prove_batch import prove_batch
from prover.toolchain.build import batch_spec
from verifier_contracts.batch_gate import BatchGate, batch_calldata
from verifier_contracts.chain import embedded
from verifier_contracts.gate import deploy_verifier
from zkmargin.audit import AuditReport, audit_batch_offline, audit_batch_onchain

pytestmark = pytest.mark.circuit

PROFILE = get_profile("test")


@pytest.fixture(scope="module")
def made() -> tuple[MarginScenario, AccountsTree, CircuitArtifacts, BatchBundle]:
    artifacts = prepare_artifacts(batch_spec(PROFILE), method="native")
    scenario = build_scenario(PROFILE.name, accounts=12).at_epoch(2, {"BTC": -0.12, "ETH": -0.16}, 1.35)
    tree = AccountsTree.of_accounts(scenario.accounts.values(), depth=PROFILE.accounts_depth)
    ids = sorted(scenario.accounts)[:3]
    with Prover() as prover:
        proof = prove_batch(
            scenario.market, scenario.params, [scenario.accounts[i] for i in ids], tree, artifacts, prover
        )
    bundle = BatchBundle.of(proof, {i: tree.path(i) for i in ids}, accounts_epoch=1)
    return scenario, tree, artifacts, bundle


def failed(report: AuditReport) -> set[str]:
    return {c.name for c in report.checks if not c.ok}


def audit(made: Any, account: Any, bundle: BatchBundle | None = None, market: Any = None) -> AuditReport:
    scenario, _, artifacts, honest = made
    return audit_batch_offline(
        account,
        market or scenario.market,
        scenario.params,
        bundle or honest,
        artifacts.vkey_json(),
        pairing_impl="fast",
    )


def test_every_named_account_passes_every_check(made: Any) -> None:
    scenario, _, _, bundle = made
    for entry in bundle.entries:
        report = audit(made, scenario.accounts[entry.account_id])
        assert report.ok, [c for c in report.checks if not c.ok]
        assert (report.result.status, report.result.shortfall) == (entry.status, entry.shortfall)
    assert len(report.checks) == 8


def test_a_wrong_salt_fails_the_accounts_tree(made: Any) -> None:
    scenario, _, _, bundle = made
    account = scenario.accounts[bundle.entries[0].account_id]
    assert failed(audit(made, dataclasses.replace(account, salt=account.salt + 1))) == {"accounts tree"}


def test_an_altered_position_fails_the_accounts_tree(made: Any) -> None:
    scenario, _, _, bundle = made
    account = scenario.accounts[bundle.entries[1].account_id]
    held = next(i for i, s in enumerate(account.slots) if s.q != 0)
    slots = list(account.slots)
    slots[held] = Slot(slots[held].instrument_id, slots[held].q * 2)
    assert "accounts tree" in failed(audit(made, dataclasses.replace(account, slots=tuple(slots))))


def test_another_account_is_not_named(made: Any) -> None:
    scenario, _, _, bundle = made
    other = next(a for i, a in scenario.accounts.items() if bundle.entry_of(i) is None)
    assert failed(audit(made, other)) >= {"entry", "accounts tree", "margin"}


def test_a_stale_market_fails_fields_and_root(made: Any) -> None:
    scenario, _, _, bundle = made
    earlier = build_scenario(PROFILE.name, accounts=12)  # epoch 1, before the crash
    account = scenario.accounts[bundle.entries[0].account_id]
    assert {"bundle fields", "market root"} <= failed(audit(made, account, market=earlier.market))


def test_a_tampered_entry_fails_the_proof(made: Any) -> None:
    scenario, _, _, bundle = made
    data = bundle.to_dict()
    first = bundle.entries[0]
    tampered = BatchEntry(first.account_id, first.status, first.shortfall + 1)
    word = int(data["public_signals"][4])
    data["public_signals"][4] = str(word - first.packed + tampered.packed)  # entry 0 is the low half
    forged = BatchBundle.from_dict(data)
    assert failed(audit(made, scenario.accounts[first.account_id], bundle=forged)) == {"margin", "proof"}


def test_bundle_round_trip_and_field_errors(made: Any, tmp_path: Path) -> None:
    _, _, _, bundle = made
    bundle.save(tmp_path / "b.json")
    assert BatchBundle.load(tmp_path / "b.json") == bundle
    first = str(bundle.entries[0].account_id)

    def broken(change: Any) -> str:
        data = json.loads(json.dumps(bundle.to_dict()))
        change(data)
        with pytest.raises(BundleError) as exc:
            BatchBundle.from_dict(data)
        return str(exc.value)

    signals = bundle.public_signals  # 3 entries of K = 4: words[1] = entry 2 + 2**126 * padding
    padded = str(int(signals[5]) + (5 << 126))
    assert "public_signals[5]" in broken(lambda d: d["public_signals"].__setitem__(5, padded))  # padding != 0
    assert "count" in broken(lambda d: d["public_signals"].__setitem__(3, "0"))
    swapped = str((int(signals[4]) >> 126) + ((int(signals[4]) % 2**126) << 126))  # entries 0 and 1
    assert "strictly increase" in broken(lambda d: d["public_signals"].__setitem__(4, swapped))
    assert "4 + ceil(batch_size / 2) = 6" in broken(lambda d: d["public_signals"].append("0"))
    assert "paths" in broken(lambda d: d["paths"].pop(first))
    assert f"paths[{first}].siblings" in broken(lambda d: d["paths"][first]["siblings"].pop())
    assert "batch_size" in broken(lambda d: d.__setitem__("batch_size", 0))
    assert "profile" in broken(lambda d: d.__setitem__("profile", "nope"))
    assert "public_signals[4]" in broken(lambda d: d["public_signals"].__setitem__(4, str(2**252)))


def test_on_chain_the_record_is_the_entry(made: Any) -> None:
    scenario, tree, artifacts, bundle = made
    chain = embedded()
    verifier, _ = deploy_verifier(chain, artifacts.verifier_sol.read_text(encoding="utf-8"))
    gate, _ = BatchGate.deploy(chain, verifier, PROFILE.batch_size)
    gate.post_market(scenario.market_root, scenario.epoch)
    gate.set_params(scenario.params_hash)
    gate.post_accounts(tree.root, 1)
    account_id = bundle.entries[0].account_id
    before = {c.name: c for c in audit_batch_onchain(gate, account_id, bundle)}
    assert "no record" in before["on-chain record"].detail and before["accounts posted"].ok
    gate.attest_batch(batch_calldata(bundle.proof, bundle.public_signals))
    checks = audit_batch_onchain(gate, account_id, bundle)
    assert all(c.ok for c in checks), checks
    gate.post_accounts(tree.root ^ 1, 2)
    later = {c.name: c for c in audit_batch_onchain(gate, account_id, bundle)}
    assert later["accounts posted"].ok and "not the latest" in later["accounts posted"].detail


def test_the_published_tree_must_rebuild_the_batch_root(made: Any) -> None:
    scenario, tree, artifacts, bundle = made
    account = scenario.accounts[bundle.entries[0].account_id]

    def failed_with(published: AccountsTree) -> set[str]:
        report = audit_batch_offline(
            account,
            scenario.market,
            scenario.params,
            bundle,
            artifacts.vkey_json(),
            published=published,
            pairing_impl="fast",
        )
        return failed(report)

    assert failed_with(tree) == set()
    other = dict(tree.commitments) | {account.account_id: 12345}  # another commitment, another root
    assert failed_with(AccountsTree(other, depth=PROFILE.accounts_depth)) == {"published tree"}
    missing = {i: c for i, c in tree.commitments.items() if i != account.account_id}
    assert failed_with(AccountsTree(missing, depth=PROFILE.accounts_depth)) == {"published tree"}

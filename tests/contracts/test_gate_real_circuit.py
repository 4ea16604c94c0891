"""The gate with the real MarginCheck circuit of the ``test`` profile: real market, real
accounts, real Groth16 proofs, the generated Solidity verifier. Nothing is chosen by hand:
status and shortfall come out of the circuit, so these tests show what the toy circuit
cannot, that a proof is bound to one account state, one market epoch and one status.

Five proofs are made once for the whole module (a few seconds each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from bench.margin_scenario import (
    HEALTHY,
    INSOLVENT,
    LIQUIDATABLE,
    MarginScenario,
    build_scenario,
    bundle_dict,
)
from engine.margin import MarginResult
from engine.model import EMPTY_SLOT, Account
from prover.artifacts import CircuitArtifacts, prepare_artifacts
from prover.bundle import ProofBundle
from prover.prove import Prover
from prover.verify_py import verify_groth16
from verifier_contracts.chain import Chain, anvil, embedded
from verifier_contracts.gate import GateRevert, MarginGate, deploy_verifier

pytestmark = pytest.mark.circuit

PROFILE = "test"
MAX_AGE = 3600
LIQUIDATE_GAS_TARGET = 300_000
CRASH = {"BTC": -0.12, "ETH": -0.16}  # epoch 2: the demo's shock on the two test assets
CRASH_VOL = 1.35


@dataclass(frozen=True)
class Proven:
    """One real proof and the engine's numbers for the account it proves."""

    account: Account
    bundle: ProofBundle
    margin: MarginResult

    @property
    def id(self) -> int:
        return self.account.account_id

    def calldata(self) -> dict[str, Any]:
        """The bundle as a dict the test may edit."""
        return bundle_dict(self.bundle)


@dataclass(frozen=True)
class RealProofs:
    """Epoch 1 and epoch 2 (after a crash) of one market, the circuit, and five proofs."""

    artifacts: CircuitArtifacts
    epoch1: MarginScenario
    epoch2: MarginScenario
    healthy: Proven
    liquidatable: Proven
    insolvent: Proven
    altered: Proven  # the liquidatable account with a position dropped after its commitment
    liquidatable_epoch2: Proven


def _drop_last_position(account: Account) -> Account:
    """``account`` without its last position (canonical form kept)."""
    kept = account.positions()[:-1]
    slots = kept + (EMPTY_SLOT,) * (len(account.slots) - len(kept))
    return replace(account, slots=slots)


@pytest.fixture(scope="module")
def real() -> RealProofs:
    artifacts = prepare_artifacts(PROFILE)
    epoch1 = build_scenario(PROFILE, epoch=1)
    epoch2 = epoch1.at_epoch(2, CRASH, CRASH_VOL)
    healthy = epoch1.first_with_status(HEALTHY)
    liquidatable = epoch1.first_with_status(LIQUIDATABLE)
    insolvent = epoch1.first_with_status(INSOLVENT)
    altered = _drop_last_position(liquidatable)
    with_altered = epoch1.with_accounts([altered])

    def proven(scenario: MarginScenario, account: Account) -> Proven:
        made = scenario.prove(account.account_id, artifacts, prover)
        return Proven(account, made.bundle, made.margin)

    with Prover() as prover:
        return RealProofs(
            artifacts=artifacts,
            epoch1=epoch1,
            epoch2=epoch2,
            healthy=proven(epoch1, healthy),
            liquidatable=proven(epoch1, liquidatable),
            insolvent=proven(epoch1, insolvent),
            altered=proven(with_altered, altered),
            liquidatable_epoch2=proven(epoch2, liquidatable),
        )


@dataclass
class RealGate:
    chain: Chain
    gate: MarginGate
    real: RealProofs


def deploy_real(chain: Chain, real: RealProofs) -> RealGate:
    """The generated verifier and a gate; market epoch 1, its params and every commitment."""
    verifier, _ = deploy_verifier(chain, real.artifacts.verifier_sol.read_text(encoding="utf-8"))
    gate, _ = MarginGate.deploy(chain, verifier, max_market_age=MAX_AGE)
    scenario = real.epoch1
    gate.post_market(scenario.market_root, scenario.epoch)
    gate.set_params(scenario.params_hash)
    ids = sorted(scenario.accounts)
    gate.commit_accounts(ids, [scenario.commitment(i) for i in ids])
    return RealGate(chain, gate, real)


@pytest.fixture
def env(real: RealProofs) -> Iterator[RealGate]:
    yield deploy_real(embedded(), real)


def rejected(action: Callable[[], Any], error: str) -> GateRevert:
    """Run ``action``; it must revert with the custom error ``error``."""
    with pytest.raises(GateRevert) as exc:
        action()
    assert exc.value.error == error, str(exc.value)
    return exc.value


def assert_untouched(gate: MarginGate, account_id: int) -> None:
    record = gate.status_of(account_id)
    assert not record.proven and not record.liquidation_open


# ------------------------------------------------------------------ the proofs themselves


def test_circuit_agrees_with_engine(real: RealProofs) -> None:
    expected = [
        (real.healthy, HEALTHY),
        (real.liquidatable, LIQUIDATABLE),
        (real.insolvent, INSOLVENT),
    ]
    for proven, status in expected:
        assert proven.margin.status == proven.bundle.status == status
        assert proven.bundle.shortfall == proven.margin.shortfall
        assert proven.bundle.commitment == real.epoch1.commitment(proven.id)
        assert proven.bundle.market_root == real.epoch1.market_root
    assert real.healthy.bundle.shortfall == 0
    assert real.liquidatable.bundle.shortfall > 0
    assert real.insolvent.margin.E < 0
    assert real.liquidatable_epoch2.bundle.market_root == real.epoch2.market_root != real.epoch1.market_root


# ------------------------------------------------------------------ intended use


def test_attest_healthy_records_status(env: RealGate) -> None:
    healthy = env.real.healthy
    result = env.gate.attest(healthy.id, healthy.calldata())
    [(name, args)] = result.events
    assert name == "Attested"
    assert (args["id"], args["status"], args["shortfall"], args["marketEpoch"]) == (healthy.id, HEALTHY, 0, 1)
    assert args["prover"] == env.chain.roles.user
    record = env.gate.status_of(healthy.id)
    assert record.commitment == env.real.epoch1.commitment(healthy.id)
    assert (record.proven, record.status, record.shortfall, record.proven_epoch) == (True, HEALTHY, 0, 1)
    assert not record.liquidation_open
    assert not env.gate.is_liquidatable(healthy.id)
    assert result.gas_used < LIQUIDATE_GAS_TARGET


def test_liquidate_liquidatable_account(env: RealGate) -> None:
    bob = env.real.liquidatable
    env.gate.attest(bob.id, bob.calldata())
    assert env.gate.is_liquidatable(bob.id)
    result = env.gate.liquidate(bob.id, bob.calldata())
    [(name, args)] = result.events
    assert name == "LiquidationOpened"
    assert (args["id"], args["status"], args["shortfall"], args["marketEpoch"]) == (
        bob.id,
        LIQUIDATABLE,
        bob.margin.shortfall,
        1,
    )
    assert args["liquidator"] == env.chain.roles.liquidator
    record = env.gate.status_of(bob.id)
    assert record.liquidation_open and record.status == LIQUIDATABLE
    assert record.shortfall == bob.margin.shortfall
    assert not env.gate.is_liquidatable(bob.id)  # the case is open
    rejected(lambda: env.gate.liquidate(bob.id, bob.calldata()), "LiquidationAlreadyOpen")
    assert result.gas_used < LIQUIDATE_GAS_TARGET


def test_liquidate_insolvent_account(env: RealGate) -> None:
    carol = env.real.insolvent
    result = env.gate.liquidate(carol.id, carol.calldata())
    [(name, args)] = result.events
    assert name == "LiquidationOpened"
    assert (args["status"], args["shortfall"]) == (INSOLVENT, carol.margin.shortfall)
    assert carol.margin.shortfall > carol.margin.MM  # equity is negative
    record = env.gate.status_of(carol.id)
    assert record.liquidation_open and record.status == INSOLVENT
    assert result.gas_used < LIQUIDATE_GAS_TARGET


# ------------------------------------------------------------------ attacks


def test_proof_of_epoch_n_rejected_after_epoch_n_plus_1(env: RealGate) -> None:
    bob, real = env.real.liquidatable, env.real
    env.gate.attest(bob.id, bob.calldata())
    assert env.gate.is_liquidatable(bob.id)
    env.gate.post_market(real.epoch2.market_root, 2)
    assert not env.gate.is_liquidatable(bob.id)  # proven on an older epoch

    old = bob.calldata()
    err = rejected(lambda: env.gate.liquidate(bob.id, old), "WrongMarketRoot")
    assert err.error_args == {"latest": real.epoch2.market_root, "given": real.epoch1.market_root}
    old["public_signals"][3] = str(real.epoch2.market_root)  # claim the new root
    rejected(lambda: env.gate.liquidate(bob.id, old), "InvalidProof")
    assert env.gate.status_of(bob.id).proven_epoch == 1

    fresh = real.liquidatable_epoch2
    result = env.gate.liquidate(bob.id, fresh.calldata())
    [(_, args)] = result.events
    assert (args["status"], args["marketEpoch"]) == (fresh.margin.status, 2)
    assert fresh.margin.status in (LIQUIDATABLE, INSOLVENT)


def test_proof_for_one_account_used_for_another(env: RealGate) -> None:
    bob, alice = env.real.liquidatable, env.real.healthy
    err = rejected(lambda: env.gate.liquidate(alice.id, bob.calldata()), "WrongCommitment")
    assert err.error_args == {
        "id": alice.id,
        "current": env.real.epoch1.commitment(alice.id),
        "given": env.real.epoch1.commitment(bob.id),
    }
    relabelled = bob.calldata()
    relabelled["public_signals"][2] = str(env.real.epoch1.commitment(alice.id))
    rejected(lambda: env.gate.liquidate(alice.id, relabelled), "InvalidProof")
    rejected(lambda: env.gate.attest(alice.id, relabelled), "InvalidProof")
    assert_untouched(env.gate, alice.id)


def test_honest_healthy_proof_cannot_liquidate(env: RealGate) -> None:
    alice = env.real.healthy
    err = rejected(lambda: env.gate.liquidate(alice.id, alice.calldata()), "NotLiquidatable")
    assert err.error_args == {"id": alice.id, "status": HEALTHY}
    for forged_status in (LIQUIDATABLE, INSOLVENT):
        forged = alice.calldata()
        forged["public_signals"][0] = str(forged_status)
        with pytest.raises(GateRevert) as exc:
            env.gate.liquidate(alice.id, forged)
        assert exc.value.error == "InvalidProof", str(exc.value)
    assert_untouched(env.gate, alice.id)


def test_status_edited_to_liquidatable_fails_verification(env: RealGate) -> None:
    """The edited bundle passes every gate check except the verifier's pairing."""
    alice = env.real.healthy
    edited = alice.calldata()
    edited["public_signals"][0] = "2"
    rejected(lambda: env.gate.attest(alice.id, edited), "InvalidProof")
    assert not verify_groth16(env.real.artifacts.vkey_json(), edited["public_signals"], edited["proof"]).ok
    assert_untouched(env.gate, alice.id)


def test_account_altered_after_commitment_is_rejected(env: RealGate) -> None:
    """A proof made honestly from an edited account file is valid, but for a state the
    operator never committed: the gate rejects it, and relabelling it breaks the proof."""
    altered, original = env.real.altered, env.real.liquidatable
    assert altered.id == original.id
    assert altered.account.positions() != original.account.positions()
    verdict = verify_groth16(
        env.real.artifacts.vkey_json(), altered.bundle.public_signals, altered.bundle.proof
    )
    assert verdict.ok  # a genuine proof ...
    err = rejected(lambda: env.gate.attest(original.id, altered.calldata()), "WrongCommitment")
    assert err.error_args == {
        "id": original.id,
        "current": env.real.epoch1.commitment(original.id),
        "given": altered.bundle.commitment,
    }
    relabelled = altered.calldata()
    relabelled["public_signals"][2] = str(env.real.epoch1.commitment(original.id))
    rejected(lambda: env.gate.attest(original.id, relabelled), "InvalidProof")
    assert_untouched(env.gate, original.id)


# ------------------------------------------------------------------ anvil


@pytest.mark.anvil
def test_attest_and_liquidate_on_anvil(real: RealProofs) -> None:
    with anvil() as chain:
        env = deploy_real(chain, real)
        alice, bob, carol = real.healthy, real.liquidatable, real.insolvent
        assert env.gate.attest(alice.id, alice.calldata()).event_names() == ["Attested"]
        assert env.gate.status_of(alice.id).proven
        for proven, status in ((bob, LIQUIDATABLE), (carol, INSOLVENT)):
            result = env.gate.liquidate(proven.id, proven.calldata())
            assert result.event_names() == ["LiquidationOpened"]
            assert result.gas_used < LIQUIDATE_GAS_TARGET
            record = env.gate.status_of(proven.id)
            assert record.liquidation_open and record.status == status
            assert record.shortfall == proven.margin.shortfall
        forged = alice.calldata()
        forged["public_signals"][0] = "3"
        rejected(lambda: env.gate.liquidate(alice.id, forged), "InvalidProof")

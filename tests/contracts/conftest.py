"""Fixtures for the gate tests: genuine Groth16 proofs of the toy batch circuit (K = 4, any
roots and entries: one place to switch circuits) and a BatchGate on a fresh chain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from engine.batch_statement import SHORTFALL_CAP, BatchEntry
from tests.contracts.toy_prover import BATCH_TOY_SIZE, BatchToyProofSource, batch_toy_proof_source
from verifier_contracts.batch_gate import BatchCall, BatchGate, batch_calldata
from verifier_contracts.chain import Chain, embedded
from verifier_contracts.gate import GateRevert, deploy_verifier

MAX_AGE = 3600
ACCOUNTS_1 = 0x0A11_0001
ACCOUNTS_2 = 0x0A11_0002
ROOT_1 = 0x0B1E5D6A7C1F2E3D4C5B6A798867564534231201F0E0D0C0B0A0908070605040
ROOT_2 = 0x1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809
PARAMS_1 = 0x2F00D5EED0000000000000000000000000000000000000000000000000000001
PARAMS_2 = 0x2F00D5EED0000000000000000000000000000000000000000000000000000002
ALICE, BOB, CAROL, DAVE = 11, 22, 33, 44

HEALTHY = BatchEntry(ALICE, 0, 0)
RESTRICTED = BatchEntry(DAVE, 1, 0)
LIQUIDATABLE = BatchEntry(BOB, 2, 5 * 10**6)
INSOLVENT = BatchEntry(CAROL, 3, SHORTFALL_CAP)  # a shortfall at the cap (at least 2**60 - 1)


@pytest.fixture(scope="session")
def proofs() -> BatchToyProofSource:
    """The circuit behind the gate tests: its Solidity verifier and proofs for any public values."""
    return batch_toy_proof_source()


@dataclass
class GateEnv:
    """A BatchGate (K = 4) on a fresh embedded chain; with set-up: market ROOT_1 (epoch 1),
    PARAMS_1 and accounts root ACCOUNTS_1 (accounts epoch 1)."""

    chain: Chain
    gate: BatchGate
    proofs: BatchToyProofSource

    def call(
        self,
        entries: list[BatchEntry] | list[int],
        *,
        accounts: int = ACCOUNTS_1,
        root: int = ROOT_1,
        params: int = PARAMS_1,
    ) -> BatchCall:
        """The gate's arguments for a genuine proof of these roots and entries."""
        packed = [e.packed if isinstance(e, BatchEntry) else e for e in entries]
        bundle = self.proofs.prove(accounts, root, params, packed)
        return batch_calldata(bundle["proof"], bundle["public_signals"])


def deploy_env(
    chain: Chain, proofs: BatchToyProofSource, *, setup: bool = True, max_age: int = MAX_AGE
) -> GateEnv:
    verifier, _ = deploy_verifier(chain, proofs.verifier_sol)
    gate, _ = BatchGate.deploy(chain, verifier, BATCH_TOY_SIZE, max_market_age=max_age)
    if setup:
        gate.post_market(ROOT_1, 1)
        gate.set_params(PARAMS_1)
        gate.post_accounts(ACCOUNTS_1, 1)
    return GateEnv(chain, gate, proofs)


@pytest.fixture
def env(proofs: BatchToyProofSource) -> Iterator[GateEnv]:
    yield deploy_env(embedded(), proofs)


@pytest.fixture
def bare(proofs: BatchToyProofSource) -> GateEnv:
    """A deployed gate with no market, parameters or accounts yet."""
    return deploy_env(embedded(), proofs, setup=False)


def rejected(action: Callable[[], Any], error: str) -> GateRevert:
    """Run ``action``; it must revert with the custom error ``error``."""
    with pytest.raises(GateRevert) as exc:
        action()
    assert exc.value.error == error, str(exc.value)
    assert "BatchGate reverted" in str(exc.value)
    return exc.value


def untouched(env: GateEnv, *ids: int) -> None:
    """No record and no case for any of ``ids``."""
    for account_id in ids:
        status = env.gate.status_of(account_id)
        assert status.proven_at == 0 and not status.liquidation_open, account_id

"""Fixtures for the gate tests: the proof source (one place to switch circuits) and a deployed gate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from engine.fixedpoint import FIELD_P
from tests.contracts.toy_prover import ProofBundle, ProofSource, toy_proof_source
from verifier_contracts.chain import Chain, embedded
from verifier_contracts.gate import MarginGate, deploy_verifier

MAX_AGE = 3600
ROOT_1 = 0x0B1E5D6A7C1F2E3D4C5B6A798867564534231201F0E0D0C0B0A0908070605040
ROOT_2 = 0x1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809
PARAMS_1 = 0x2F00D5EED0000000000000000000000000000000000000000000000000000001
PARAMS_2 = 0x2F00D5EED0000000000000000000000000000000000000000000000000000002
HEALTHY, RESTRICTED, LIQUIDATABLE, INSOLVENT = 0, 1, 2, 3
ACCOUNTS = {1001: 0x11AA, 1002: 0x22BB * 10**60, 1003: FIELD_P - 12345}  # id -> commitment
ALICE, BOB, CAROL = 1001, 1002, 1003  # healthy, liquidatable, insolvent


@pytest.fixture(scope="session")
def proof_source() -> ProofSource:
    """The circuit behind every gate test: its Solidity verifier and proofs for chosen public
    values. Switching to the margin circuit's real proofs is a change here only."""
    return toy_proof_source()


@dataclass
class GateEnv:
    """A gate on a fresh embedded chain with market ROOT_1 (epoch 1), PARAMS_1 and ACCOUNTS."""

    chain: Chain
    gate: MarginGate
    proofs: ProofSource
    commitments: dict[int, int] = field(default_factory=lambda: dict(ACCOUNTS))

    def bundle(
        self,
        account: int,
        status: int,
        shortfall: int = 0,
        *,
        root: int = ROOT_1,
        params: int = PARAMS_1,
        commitment: int | None = None,
    ) -> ProofBundle:
        """A genuine proof for ``account``'s current commitment (or ``commitment``)."""
        bound = self.commitments[account] if commitment is None else commitment
        return self.proofs.prove(status, shortfall, bound, root, params)


def deploy_env(chain: Chain, proofs: ProofSource, *, setup: bool = True) -> GateEnv:
    """Deploy verifier and gate on ``chain``; with ``setup`` post ROOT_1, PARAMS_1 and ACCOUNTS."""
    verifier, _ = deploy_verifier(chain, proofs.verifier_sol)
    gate, _ = MarginGate.deploy(chain, verifier, max_market_age=MAX_AGE)
    if setup:
        gate.post_market(ROOT_1, 1)
        gate.set_params(PARAMS_1)
        gate.commit_accounts(list(ACCOUNTS), list(ACCOUNTS.values()))
    return GateEnv(chain, gate, proofs)


@pytest.fixture
def env(proof_source: ProofSource) -> Iterator[GateEnv]:
    yield deploy_env(embedded(), proof_source)


@pytest.fixture
def bare(proof_source: ProofSource) -> GateEnv:
    """A deployed gate with no market, parameters or accounts yet."""
    return deploy_env(embedded(), proof_source, setup=False)

"""Both Groth16 backends on the real test-profile batch circuit: the same public signals,
both proofs accepted by the pure-Python verifier and by the gate on anvil (an attestation
with the snarkjs proof, a liquidation with the arkworks proof)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.accounts_tree import AccountsTree
from engine.commitments import MarketCommitments
from engine.formats import load_accounts
from prover.backends.native import native_available
from prover.backends.prove import Prover
from prover.keys.artifacts import CircuitArtifacts
from prover.statements.prove_batch import prove_batch
from prover.verification.verify_py import verify_groth16
from verifier_contracts.batch_gate import batch_calldata
from verifier_contracts.chain import Chain, anvil

from .keeper_env import PROFILE, deploy_gate, liquidation_events, write_scenario

pytestmark = [
    pytest.mark.anvil,
    pytest.mark.skipif(not native_available(), reason="zkmargin_native is not built (make setup)"),
]


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    with anvil() as c:
        yield c


def test_arkworks_and_snarkjs_agree_and_the_gate_accepts_both(
    tmp_path: Path, chain: Chain, artifacts: CircuitArtifacts
) -> None:
    scenario = write_scenario(tmp_path, shock=False, book=[0, 4])
    env = deploy_gate(chain, artifacts, scenario.risk, tmp_path)
    market = scenario.markets()[0]
    mc = MarketCommitments(market)
    env.gate.post_market(mc.market_root, market.epoch)
    healthy, liquidatable = (a.account for a in load_accounts(scenario.accounts, market))
    tree = AccountsTree.of_accounts([healthy, liquidatable], depth=PROFILE.accounts_depth)
    env.gate.post_accounts(tree.root, 1)
    proofs = {}
    for backend in ("snarkjs", "arkworks"):
        with Prover(backend=backend) as prover:
            assert prover.backend == ("worker" if backend == "snarkjs" else "arkworks")
            proved = prove_batch(market, scenario.risk, [healthy, liquidatable], tree, artifacts, prover)
            proofs[backend] = proved.proof
    snark, ark = proofs["snarkjs"], proofs["arkworks"]
    assert ark.public_signals == snark.public_signals
    assert ark.proof != snark.proof
    assert verify_groth16(artifacts.vkey_json(), ark.public_signals, ark.proof).ok
    tx = env.gate.attest_batch(batch_calldata(snark.proof, snark.public_signals))
    assert "BatchAccepted" in tx.event_names(), tx.event_names()
    env.gate.liquidate_batch(batch_calldata(ark.proof, ark.public_signals))
    assert [e["id"] for e in liquidation_events(env.gate)] == [liquidatable.account_id]

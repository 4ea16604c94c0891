"""Both Groth16 backends on the real test-profile circuit: the same public signals, both
proofs accepted by the pure-Python verifier and by the gate on anvil (attest of a healthy
account with each, a liquidation with the arkworks proof)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.commitments import MarketCommitments, commitment
from engine.formats import load_accounts
from prover.artifacts import CircuitArtifacts
from prover.native import native_available
from prover.prove import Prover
from prover.prove_account import prove_account
from prover.verify_py import verify_groth16
from verifier_contracts.chain import Chain, anvil

from .operator_env import deploy_gate, liquidation_events, write_scenario

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
    env.gate.commit_accounts(
        [healthy.account_id, liquidatable.account_id], [commitment(healthy), commitment(liquidatable)]
    )
    bundles = {}
    for backend in ("snarkjs", "arkworks"):
        with Prover(backend=backend) as prover:
            assert prover.backend == ("worker" if backend == "snarkjs" else "arkworks")
            for account in (healthy, liquidatable):
                proved = prove_account(market, scenario.risk, account, artifacts, prover, commitments=mc)
                bundles[backend, account.account_id] = proved.bundle.to_dict()
    for account in (healthy, liquidatable):
        snark, ark = bundles["snarkjs", account.account_id], bundles["arkworks", account.account_id]
        assert ark["public_signals"] == snark["public_signals"]
        assert ark["proof"] != snark["proof"]
        assert verify_groth16(artifacts.vkey_json(), ark["public_signals"], ark["proof"]).ok
    for backend in ("snarkjs", "arkworks"):
        tx = env.gate.attest(healthy.account_id, bundles[backend, healthy.account_id])
        assert "Attested" in tx.event_names(), (backend, tx.event_names())
    env.gate.liquidate(liquidatable.account_id, bundles["arkworks", liquidatable.account_id])
    assert [e["id"] for e in liquidation_events(env.gate)] == [liquidatable.account_id]

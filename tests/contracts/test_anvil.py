"""The gate on anvil: the full flow through the Python wrappers and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.contracts.conftest import (
    ACCOUNTS,
    ALICE,
    BOB,
    HEALTHY,
    LIQUIDATABLE,
    MAX_AGE,
    PARAMS_1,
    ROOT_1,
    deploy_env,
)
from tests.contracts.toy_prover import ProofSource
from verifier_contracts.chain import anvil
from verifier_contracts.gate import GateRevert
from zkmargin.cli.main import cli

pytestmark = pytest.mark.anvil


def test_full_flow_on_anvil(proof_source: ProofSource) -> None:
    with anvil() as chain:
        env = deploy_env(chain, proof_source)
        env.gate.attest(ALICE, env.bundle(ALICE, HEALTHY))
        result = env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 77))
        assert result.event_names() == ["LiquidationOpened"]
        assert result.gas_used < 300_000
        with pytest.raises(GateRevert) as again:  # mined revert, decoded by replaying the call
            env.gate.liquidate(BOB, env.bundle(BOB, LIQUIDATABLE, 77))
        assert again.value.error == "LiquidationAlreadyOpen"
        tampered = env.bundle(ALICE, LIQUIDATABLE, 1)
        tampered["public_signals"][1] = "2"
        with pytest.raises(GateRevert) as bad:
            env.gate.liquidate(ALICE, tampered)
        assert bad.value.error == "InvalidProof"
        chain.advance_time(MAX_AGE + 1)
        with pytest.raises(GateRevert) as stale:
            env.gate.attest(ALICE, env.bundle(ALICE, HEALTHY))
        assert stale.value.error == "StaleMarket"


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_flow_over_rpc(proof_source: ProofSource, tmp_path: Path) -> None:
    verifier_sol = tmp_path / "Groth16Verifier.sol"
    verifier_sol.write_text(proof_source.verifier_sol, encoding="utf-8")
    bundle = tmp_path / "bob.json"
    bundle.write_text(json.dumps(proof_source.prove(LIQUIDATABLE, 5, ACCOUNTS[BOB], ROOT_1, PARAMS_1)))
    with anvil() as chain:
        assert chain.rpc_url is not None
        base = ["chain", "--rpc", chain.rpc_url, "--deployment", str(tmp_path / "deployment.json")]
        _run([*base, "deploy", "--verifier-sol", str(verifier_sol), "--max-market-age", str(MAX_AGE)])
        _run([*base, "post-market", "--root", hex(ROOT_1), "--epoch", "1"])
        _run([*base, "set-params", "--params-hash", str(PARAMS_1)])
        _run([*base, "commit", "--account", f"{BOB}={ACCOUNTS[BOB]}"])
        assert "LiquidationOpened" in _run([*base, "liquidate", "--id", str(BOB), "--bundle", str(bundle)])
        status = json.loads(_run([*base, "status", "--id", str(BOB), "--json"]))
        assert status["accounts"][str(BOB)]["liquidation_open"] is True
        assert status["market"]["epoch"] == 1
        again = CliRunner().invoke(cli, [*base, "liquidate", "--id", str(BOB), "--bundle", str(bundle)])
        assert again.exit_code != 0
        assert "LiquidationAlreadyOpen" in str(again.exception)

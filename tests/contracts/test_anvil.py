"""The gate on anvil: the full flow through the Python wrappers and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover.bundle import ProofBundle
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
    raw = proof_source.prove(LIQUIDATABLE, 5, ACCOUNTS[BOB], ROOT_1, PARAMS_1)
    # the CLI takes a whole proof bundle (zkmargin/proof@1), checked as `zkmargin verify` does
    toy = ProofBundle("toy", raw["proof"], raw["public_signals"], vkey_sha256="0" * 64, market_epoch=1)
    toy.save(bundle)
    with anvil() as chain:
        assert chain.rpc_url is not None
        deployment = ["--deployment", str(tmp_path / "deployment.json")]
        _run(
            [
                "chain",
                "--rpc",
                chain.rpc_url,
                *deployment,
                "deploy",
                "--verifier-sol",
                str(verifier_sol),
                "--max-market-age",
                str(MAX_AGE),
            ]
        )
        # every later command finds the node through the URL the deployment file records
        base = ["chain", *deployment]
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


def test_cli_set_params_from_a_params_file(proof_source: ProofSource, tmp_path: Path) -> None:
    """`chain set-params --params FILE --market M` sets the hash the engine computes for
    that market (no Python one-liner); without --market it is refused."""
    from engine.commitments import params_hash
    from engine.formats import load_market, load_params
    from tests.test_cli_engine import EXAMPLES

    market = tmp_path / "market.json"
    build = ["market", "build", "--quotes", str(EXAMPLES / "quotes-test.json")]
    build += ["--params", str(EXAMPLES / "params-test.json"), "--profile", "test", "--epoch", "1"]
    _run([*build, "--out", str(market)])
    mf = load_market(market)
    expected = params_hash(
        load_params(EXAMPLES / "params-test.json").resolve(
            mf.market.asset_names, mf.market.profile, mf.calibrated_rho
        )
    )
    verifier_sol = tmp_path / "Groth16Verifier.sol"
    verifier_sol.write_text(proof_source.verifier_sol, encoding="utf-8")
    with anvil() as chain:
        assert chain.rpc_url is not None
        base = ["chain", "--deployment", str(tmp_path / "deployment.json")]
        _run(["chain", "--rpc", chain.rpc_url, *base[1:], "deploy", "--verifier-sol", str(verifier_sol)])
        _run([*base, "set-params", "--params", str(EXAMPLES / "params-test.json"), "--market", str(market)])
        status = json.loads(_run([*base, "status", "--json"]))
        assert status["params_hash"] == str(expected)
        refused = CliRunner().invoke(
            cli, [*base, "set-params", "--params", str(EXAMPLES / "params-test.json")]
        )
        assert refused.exit_code == 2 and "--params needs --market" in refused.output

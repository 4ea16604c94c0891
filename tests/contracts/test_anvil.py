"""The gate on anvil: the flow through the Python wrappers and through the CLI (deploy,
post the market, parameters and accounts root, liquidate a batch proof bundle, status)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry
from engine.formats import load_accounts, load_accounts_tree, load_market
from prover.statements.batch_bundle import BatchBundle
from tests.contracts.conftest import (
    BOB,
    HEALTHY,
    LIQUIDATABLE,
    MAX_AGE,
    PARAMS_1,
    ROOT_1,
    deploy_env,
)
from tests.contracts.toy_prover import BATCH_TOY_SIZE, BatchToyProofSource
from tests.test_cli_engine import EXAMPLES
from verifier_contracts.batch_gate import BatchCall, opened_ids, skipped_ids
from verifier_contracts.chain import anvil
from verifier_contracts.gate import GateRevert
from zkmargin.cli.main import cli

pytestmark = pytest.mark.anvil


def test_full_flow_on_anvil(proofs: BatchToyProofSource) -> None:
    with anvil() as chain:
        env = deploy_env(chain, proofs)
        env.gate.attest_batch(env.call([HEALTHY]))
        result = env.gate.liquidate_batch(env.call([HEALTHY, LIQUIDATABLE]))
        assert opened_ids(result) == [BOB]
        again = env.gate.liquidate_batch(env.call([LIQUIDATABLE]))  # skipped, not reverted
        assert skipped_ids(again) == [BOB] and opened_ids(again) == []
        call = env.call([HEALTHY])
        tampered = BatchCall(call.proof, call.roots, [LIQUIDATABLE.packed])
        with pytest.raises(GateRevert) as bad:  # mined revert, decoded by replaying the call
            env.gate.liquidate_batch(tampered)
        assert bad.value.error == "InvalidProof"
        chain.advance_time(MAX_AGE + 1)
        with pytest.raises(GateRevert) as stale:
            env.gate.attest_batch(env.call([HEALTHY]))
        assert stale.value.error == "StaleMarket"


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_flow_over_rpc(proofs: BatchToyProofSource, tmp_path: Path) -> None:
    verifier_sol = tmp_path / "Groth16Verifier.sol"
    verifier_sol.write_text(proofs.verifier_sol, encoding="utf-8")
    market = tmp_path / "market.json"
    build = ["market", "build", "--quotes", str(EXAMPLES / "quotes-test.json")]
    build += ["--params", str(EXAMPLES / "params-test.json"), "--profile", "test", "--epoch", "1"]
    _run([*build, "--out", str(market)])
    accounts = load_accounts(EXAMPLES / "accounts-test.json", load_market(market).market)
    tree = AccountsTree.of_accounts([a.account for a in accounts], depth=5)
    ids = sorted(a.account.account_id for a in accounts)[:2]
    # a genuine toy proof naming two of the file's accounts against its accounts root, in the
    # batch proof bundle format the CLI takes (checked as `zkmargin verify` checks it)
    entries = [BatchEntry(ids[0], 2, 5), BatchEntry(ids[1], 0, 0)]
    raw = proofs.prove(tree.root, ROOT_1, PARAMS_1, [e.packed for e in entries])
    paths = {i: tree.path(i) for i in ids}
    data = {
        "format": "zkmargin/batch-proof@1",
        "profile": "test",
        "batch_size": BATCH_TOY_SIZE,
        "proof": raw["proof"],
        "public_signals": raw["public_signals"],
        "vkey_sha256": "0" * 64,
        "market_epoch": 1,
        "accounts_epoch": 1,
        "paths": {
            str(i): {"position": p.index, "siblings": [[str(x) for x in level] for level in p.siblings]}
            for i, p in paths.items()
        },
        "created_at": "2026-12-02T06:00:00+00:00",
    }
    bundle = tmp_path / "batch-proof.json"
    BatchBundle.from_dict(data).save(bundle)
    with anvil() as chain:
        assert chain.rpc_url is not None
        deployment = ["--deployment", str(tmp_path / "deployment.json")]
        deploy = ["deploy", "--verifier-sol", str(verifier_sol), "--batch-size", str(BATCH_TOY_SIZE)]
        _run(["chain", "--rpc", chain.rpc_url, *deployment, *deploy, "--max-market-age", str(MAX_AGE)])
        # every later command finds the node through the URL the deployment file records
        base = ["chain", *deployment]
        _run([*base, "post-market", "--root", hex(ROOT_1), "--epoch", "1"])
        _run([*base, "set-params", "--params-hash", str(PARAMS_1)])
        tree_out = tmp_path / "accounts-tree.json"
        post = [*base, "post-accounts", "--accounts", str(EXAMPLES / "accounts-test.json")]
        assert "posted as accounts epoch 1" in _run(
            [*post, "--market", str(market), "--tree-out", str(tree_out)]
        )
        assert load_accounts_tree(tree_out).root == tree.root  # published before it was posted
        assert "already has this accounts root" in _run(
            [*post, "--market", str(market), "--tree-out", str(tree_out)]
        )
        out = _run([*base, "liquidate", "--bundle", str(bundle)])
        assert "1 liquidation case(s) opened, 0 skipped" in out and "LiquidationsOpened" in out
        status = json.loads(_run([*base, "status", "--id", str(ids[0]), "--id", str(ids[1]), "--json"]))
        first, second = status["accounts"][str(ids[0])], status["accounts"][str(ids[1])]
        assert first["liquidation_open"] is True and first["status_name"] == "liquidatable"
        assert second["proven"] and not second["liquidation_open"] and second["current"]
        assert status["market"]["epoch"] == 1 and status["accounts_root"]["epoch"] == 1
        market_info = status["market"]
        assert market_info["expires_at"] == market_info["posted_at"] + market_info["max_age"]
        assert status["batch_size"] == BATCH_TOY_SIZE
        again = _run([*base, "liquidate", "--bundle", str(bundle)])
        assert "0 liquidation case(s) opened, 1 skipped" in again


def test_cli_set_params_from_a_params_file(proofs: BatchToyProofSource, tmp_path: Path) -> None:
    """`chain set-params --params FILE --market M` sets the hash the engine computes for
    that market (no Python one-liner); without --market it is refused."""
    from engine.commitments import params_hash
    from engine.formats import load_params

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
    verifier_sol.write_text(proofs.verifier_sol, encoding="utf-8")
    with anvil() as chain:
        assert chain.rpc_url is not None
        base = ["chain", "--deployment", str(tmp_path / "deployment.json")]
        deploy = ["deploy", "--verifier-sol", str(verifier_sol), "--batch-size", str(BATCH_TOY_SIZE)]
        _run(["chain", "--rpc", chain.rpc_url, *base[1:], *deploy])
        _run([*base, "set-params", "--params", str(EXAMPLES / "params-test.json"), "--market", str(market)])
        status = json.loads(_run([*base, "status", "--json"]))
        assert status["params_hash"] == str(expected)
        refused = CliRunner().invoke(
            cli, [*base, "set-params", "--params", str(EXAMPLES / "params-test.json")]
        )
        assert refused.exit_code == 2 and "--params needs --market" in refused.output

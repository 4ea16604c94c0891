"""`zkmargin chain` on the embedded chain: a deploy works; later processes get a clear hint."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.errors import ZkmarginError
from tests.contracts.toy_prover import BATCH_TOY_SIZE, BatchToyProofSource
from verifier_contracts.deployment import load_deployment
from zkmargin.cli.main import cli, main


def test_deploy_on_embedded_then_next_command_explains(proofs: BatchToyProofSource, tmp_path: Path) -> None:
    verifier_sol = tmp_path / "Groth16Verifier.sol"
    verifier_sol.write_text(proofs.verifier_sol, encoding="utf-8")
    deployment = tmp_path / "deployment.json"
    base = ["chain", "--deployment", str(deployment)]
    deploy = ["deploy", "--verifier-sol", str(verifier_sol), "--batch-size", str(BATCH_TOY_SIZE)]
    result = CliRunner().invoke(cli, [*base, "--chain", "embedded", *deploy], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"batches of {BATCH_TOY_SIZE}" in result.output
    saved = load_deployment(deployment)
    assert saved.chain == "embedded" and saved.gate.startswith("0x")
    assert set(saved.roles) == {"owner", "governance", "oracle", "operator", "liquidator", "user"}

    later = CliRunner().invoke(cli, [*base, "post-market", "--root", "5", "--epoch", "1"])
    assert isinstance(later.exception, ZkmarginError)
    assert "lived only inside the deploying process" in str(later.exception)


def test_missing_deployment_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["chain", "--deployment", str(tmp_path / "none.json"), "status"])
    assert exc.value.code == 2
    assert "zkmargin chain deploy" in capsys.readouterr().err


def test_a_verifier_without_its_batch_size_is_refused(proofs: BatchToyProofSource, tmp_path: Path) -> None:
    verifier_sol = tmp_path / "Groth16Verifier.sol"
    verifier_sol.write_text(proofs.verifier_sol, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["chain", "--chain", "embedded", "deploy", "--verifier-sol", str(verifier_sol)]
    )
    assert isinstance(result.exception, ZkmarginError)
    assert "--verifier-sol needs --batch-size K" in str(result.exception)

"""The prover CLI commands (``zkmargin verify``; build/setup error paths)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.errors import CheckFailed, ZkmarginError
from prover.offline.bundle import ProofBundle
from prover.results import ProofResult
from zkmargin.cli.main import cli

from .conftest import Toy

pytestmark = pytest.mark.circuit


@pytest.fixture
def bundle_file(toy: Toy, worker_proof: ProofResult, tmp_path: Path) -> Path:
    path = tmp_path / "bundle.json"
    ProofBundle(
        profile="test",
        proof=worker_proof.proof,
        public_signals=worker_proof.public_signals,
        vkey_sha256=toy.setup.vkey_sha256,
        market_epoch=9,
    ).save(path)
    return path


def test_verify_valid_bundle(toy: Toy, bundle_file: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", str(bundle_file), "--vkey", str(toy.setup.vkey)])
    assert result.exit_code == 0, result.output
    assert "proof valid" in result.output and "epoch 9" in result.output


def test_verify_json(toy: Toy, bundle_file: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", str(bundle_file), "--vkey", str(toy.setup.vkey), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["valid"] is True and report["status"] == 14 and report["market_epoch"] == 9


def test_verify_tampered_bundle(toy: Toy, bundle_file: Path) -> None:
    data = json.loads(bundle_file.read_text())
    data["public_signals"][0] = "2"
    bundle_file.write_text(json.dumps(data))
    result = CliRunner().invoke(cli, ["verify", str(bundle_file), "--vkey", str(toy.setup.vkey)])
    assert isinstance(result.exception, CheckFailed)
    assert "proof INVALID: pairing check failed" in str(result.exception)


def test_verify_with_another_key_is_refused(toy: Toy, bundle_file: Path, tmp_path: Path) -> None:
    other = json.loads(toy.setup.vkey.read_text())
    other["IC"][0], other["IC"][1] = other["IC"][1], other["IC"][0]
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    result = CliRunner().invoke(cli, ["verify", str(bundle_file), "--vkey", str(path)])
    assert isinstance(result.exception, ZkmarginError)
    assert "made for verification key" in str(result.exception)


def test_verify_without_keys_for_profile(
    bundle_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path / "empty"))
    result = CliRunner().invoke(cli, ["verify", str(bundle_file)])
    assert isinstance(result.exception, ZkmarginError)
    assert "zkmargin setup --profile test" in str(result.exception)


def test_cli_main_exit_code_for_invalid_bundle(tmp_path: Path) -> None:
    from zkmargin.cli.main import main

    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(SystemExit) as stop:
        main(["verify", str(bad), "--vkey", str(tmp_path / "v.json")])
    assert stop.value.code == 2


def test_build_without_circuit_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, toy: Toy) -> None:
    (tmp_path / "node_modules").symlink_to(toy.tools.node_modules)
    monkeypatch.setenv("ZKMARGIN_ROOT", str(tmp_path))
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["build", "--profile", "test", "--circuit", "margin"])
    assert isinstance(result.exception, ZkmarginError)
    assert "circuit source not found" in str(result.exception) and "margin_check.circom" in str(
        result.exception
    )
    result = CliRunner().invoke(cli, ["build", "--profile", "test"])  # the batch circuit by default
    assert isinstance(result.exception, ZkmarginError)
    assert "circuit source not found" in str(result.exception) and "margin_batch.circom" in str(
        result.exception
    )


def test_setup_with_missing_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZKMARGIN_NODE", str(tmp_path / "nope"))
    result = CliRunner().invoke(cli, ["setup", "--profile", "test"])
    assert isinstance(result.exception, ZkmarginError)
    assert "node not found: install node 20" in str(result.exception)


def test_verify_finds_the_cached_key_by_digest(
    toy: Toy, bundle_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE", str(toy.cache))
    result = CliRunner().invoke(cli, ["verify", str(bundle_file), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["valid"] is True and report["vkey"] == str(toy.setup.vkey)

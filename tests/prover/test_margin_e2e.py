"""End to end on the real MarginCheck circuit (test profile): setup, prove, verify.

Slow (a first compile and setup of the test profile take minutes on 2 cores), so
marked ``slow``; run with ``pytest -m slow tests/prover/test_margin_e2e.py``. Uses
the project's build cache, so later runs reuse the keys.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.paths import project_root
from prover.keys.artifacts import prepare_artifacts
from zkmargin.cli.main import cli

pytestmark = [pytest.mark.slow, pytest.mark.circuit]

EXAMPLES = project_root() / "examples"


@pytest.fixture(scope="module")
def market_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (project_root() / "circuits" / "margin_check.circom").is_file():
        pytest.skip("circuits/margin_check.circom not present")
    out = tmp_path_factory.mktemp("market") / "market-test.json"
    cmd = [
        sys.executable,
        "-m",
        "zkmargin.cli.main",
        "market",
        "build",
        "--quotes",
        str(EXAMPLES / "quotes-test.json"),
    ]
    cmd += [
        "--params",
        str(EXAMPLES / "params-test.json"),
        "--profile",
        "test",
        "--epoch",
        "5",
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, cwd=project_root())
    return out


@pytest.mark.parametrize(("label", "status"), [("carol-short-vol", 2), ("dave-levered-btc", 3)])
def test_prove_and_verify_example_accounts(
    market_file: Path, tmp_path: Path, label: str, status: int
) -> None:
    prepare_artifacts("test")  # compile and set up once (cached afterwards)
    bundle = tmp_path / "bundle.json"
    args = ["prove", "--market", str(market_file), "--params", str(EXAMPLES / "params-test.json")]
    args += [
        "--account",
        str(EXAMPLES / "accounts-test.json"),
        "--select",
        label,
        "--out",
        str(bundle),
        "--json",
    ]
    proved = CliRunner().invoke(cli, args)
    assert proved.exit_code == 0, proved.output
    report = json.loads(proved.output[proved.output.index("{") :])
    assert report["status"] == status and report["market_epoch"] == 5
    assert report["shortfall"] > 0
    verified = CliRunner().invoke(cli, ["verify", str(bundle), "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["valid"] is True
    data = json.loads(bundle.read_text())
    data["public_signals"][0] = "0"  # claim "healthy" instead
    bundle.write_text(json.dumps(data))
    forged = CliRunner().invoke(cli, ["verify", str(bundle)])
    assert forged.exit_code != 0 and "INVALID" in str(forged.exception)

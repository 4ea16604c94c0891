"""Deployment files: round trip and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier_contracts.deployment import Deployment, DeploymentError, load_deployment, save_deployment

SAMPLE = Deployment(
    chain_id=31337,
    chain="rpc",
    gate="0x" + "11" * 20,
    verifier="0x" + "22" * 20,
    block_number=3,
    max_market_age=600,
    rpc_url="http://127.0.0.1:8545",
    profile="test",
    roles={"owner": "0x" + "33" * 20},
)


def test_round_trip(tmp_path: Path) -> None:
    path = save_deployment(SAMPLE, tmp_path / "sub" / "deployment.json")
    assert load_deployment(path) == SAMPLE
    assert json.loads(path.read_text())["format"] == "zkmargin/deployment@1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no deployment file"),
        ("{not json", "cannot read"),
        ("[]", "JSON object"),
        ('{"format": 99}', "unsupported deployment format"),
        ('{"format": "zkmargin/deployment@1", "chain_id": 1}', "lacks or has a bad field"),
    ],
)
def test_bad_files(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "deployment.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DeploymentError, match=message):
        load_deployment(path)

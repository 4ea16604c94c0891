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
        ('{"format": "zkmargin/deployment@1", "chain_id": 1}', "deployment file: chain: must be one of"),
    ],
)
def test_bad_files(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "deployment.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DeploymentError, match=message):
        load_deployment(path)


GOOD = {"format": "zkmargin/deployment@1", **{k: v for k, v in SAMPLE.to_json().items() if k != "format"}}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("roles", ["a", "b"], "roles: must be an object of role name to address, got ['a', 'b']"),
        ("roles", {"oracle": "0x1234"}, "roles.oracle: not an address (0x and 40 hex digits): '0x1234'"),
        ("roles", {"oracle": 7}, "roles.oracle: not an address"),
        ("roles", {"janitor": "0x" + "33" * 20}, "roles.janitor: unknown role"),
        ("rpc_url", 12345, "rpc_url: must be an http:// or https:// URL or null, got 12345"),
        ("rpc_url", "127.0.0.1:8545", "rpc_url: must be an http:// or https:// URL"),
        ("chain_id", "31337", "chain_id: must be an integer with 1 <= x < 2**64, got '31337'"),
        ("chain_id", True, "chain_id: must be an integer"),
        ("chain_id", 0, "chain_id: must be an integer with 1 <= x < 2**64"),
        ("block_number", -1, "block_number: must be an integer with 0 <= x < 2**64"),
        ("block_number", 2**64, "block_number: must be an integer with 0 <= x < 2**64"),
        ("max_market_age", 0, "max_market_age: must be an integer with 1 <= x < 2**64 seconds"),
        ("max_market_age", 2**64, "max_market_age: must be an integer with 1 <= x < 2**64 seconds"),
        ("max_market_age", 1.5, "max_market_age: must be an integer"),
        ("chain", "mainnet", "chain: must be one of embedded, anvil, rpc, got 'mainnet'"),
        ("profile", "huge", "profile: must be one of"),
        ("profile", 3, "profile: must be one of"),
        ("block_hash", "0x12", "block_hash: must be 0x and 64 hex digits or null"),
        ("gate", None, "gate: not an address"),
        ("verifier", "0x" + "zz" * 20, "verifier: not an address"),
        ("extra", 1, "extra: unknown field"),
    ],
)
def test_every_field_is_checked(tmp_path: Path, field: str, value: object, message: str) -> None:
    """Each field of a deployment file, malformed, is refused naming the field and its bound."""
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(GOOD | {field: value}))
    with pytest.raises(DeploymentError) as err:
        load_deployment(path)
    assert f"deployment file: {message}" in str(err.value)


@pytest.mark.parametrize("field", ["chain_id", "gate", "verifier", "block_number", "max_market_age"])
def test_a_missing_required_field_is_named(tmp_path: Path, field: str) -> None:
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps({k: v for k, v in GOOD.items() if k != field}))
    with pytest.raises(DeploymentError, match=f"deployment file: {field}: required"):
        load_deployment(path)


def test_optional_fields_may_be_null_or_absent(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    minimal = {k: GOOD[k] for k in ("format", "chain_id", "chain", "gate", "verifier", "block_number")}
    path.write_text(json.dumps(minimal | {"max_market_age": 600, "rpc_url": None, "roles": None}))
    loaded = load_deployment(path)
    assert loaded.rpc_url is None and loaded.roles == {} and loaded.profile is None

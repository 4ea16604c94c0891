"""Groth16 setup: keys, verifier contract, caching; the CircuitArtifacts view."""

from __future__ import annotations

import json

import pytest

from prover.artifacts import find_artifacts, prepare_artifacts
from prover.ptau import PtauChoice
from prover.setup import setup_keys
from prover.toolchain import Toolchain
from prover.vkey import vkey_sha256

from .conftest import Toy, toy_spec

pytestmark = pytest.mark.circuit


def test_setup_outputs(toy: Toy) -> None:
    setup = toy.setup
    assert setup.cached is False
    assert setup.zkey.stat().st_size > 1000
    vkey = json.loads(setup.vkey.read_text())
    assert vkey["protocol"] == "groth16" and vkey["nPublic"] == 5 and len(vkey["IC"]) == 6
    assert setup.vkey_sha256 == vkey_sha256(vkey)
    sol = setup.verifier_sol.read_text()
    assert "contract Groth16Verifier" in sol and "function verifyProof" in sol
    assert setup.record["ptau"]["power"] == 8 and setup.record["single_party"] is True
    assert not list(setup.directory.glob(".tmp-*"))


def test_setup_is_cached(toy: Toy, tools: Toolchain) -> None:
    def no_ptau() -> PtauChoice:
        raise AssertionError("a cached setup must not resolve a ptau")

    again = setup_keys(toy.build, no_ptau, tools=tools)
    assert again.cached is True
    assert again.vkey_sha256 == toy.setup.vkey_sha256


def test_circuit_artifacts(toy: Toy, tools: Toolchain) -> None:
    found = find_artifacts(toy_spec(), tools=tools, cache=toy.cache)
    assert found is not None and found.setup is not None
    assert found.zkey == toy.setup.zkey and found.wasm == toy.build.wasm
    assert found.constraints == toy.build.constraints and found.ptau_power == 8
    summary = found.summary()
    assert summary["vkey_sha256"] == toy.setup.vkey_sha256
    assert summary["zkey_bytes"] == toy.setup.zkey.stat().st_size
    prepared = prepare_artifacts(toy_spec(), tools=tools, cache=toy.cache)
    assert prepared.build.cached and prepared.setup is not None and prepared.setup.cached
    assert find_artifacts(toy_spec(7), tools=tools, cache=toy.cache) is None

"""Groth16 setup: keys, verifier contract, caching; the CircuitArtifacts view."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.keys.artifacts import find_artifacts, prepare_artifacts
from prover.keys.ptau import PtauChoice
from prover.keys.ptau_generate import generate_ptau
from prover.keys.setup import load_setup, setup_keys
from prover.keys.vkey import vkey_sha256
from prover.toolchain.tools import Toolchain

from .conftest import TOY_POWER, Toy, toy_spec

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


def test_keys_are_tied_to_the_exact_ptau(toy: Toy, tools: Toolchain, tmp_path: Path) -> None:
    """Keys asked for from another ptau are never the cached ones of the first: a second
    ptau of the same power gets its own setup; each is found again by its own sha256."""
    other_path = tmp_path / "other.ptau"
    generate_ptau(TOY_POWER, other_path, tools)
    other = PtauChoice(other_path, TOY_POWER, "explicit")
    assert other.sha256 != toy.ptau.sha256
    mine = setup_keys(toy.build, other, tools=tools)
    assert not mine.cached and mine.directory != toy.setup.directory
    assert mine.ptau_sha256 == other.sha256 and mine.record["ptau"]["sha256"] == other.sha256
    assert mine.vkey_sha256 != toy.setup.vkey_sha256
    assert load_setup(toy.build.directory, toy.ptau.sha256).vkey_sha256 == toy.setup.vkey_sha256  # type: ignore[union-attr]
    via_flag = prepare_artifacts(toy_spec(), tools=tools, cache=toy.cache, ptau=other_path)
    assert via_flag.setup is not None and via_flag.setup.cached
    assert via_flag.vkey_sha256 == mine.vkey_sha256
    first = prepare_artifacts(toy_spec(), tools=tools, cache=toy.cache, ptau=toy.ptau.path)
    assert first.vkey_sha256 == toy.setup.vkey_sha256
    # --force redoes the setup of that ptau only, never the compile
    redone = prepare_artifacts(toy_spec(), tools=tools, cache=toy.cache, ptau=other_path, force_setup=True)
    assert redone.build.cached and redone.setup is not None and not redone.setup.cached
    assert redone.vkey_sha256 != mine.vkey_sha256  # a fresh contribution
    assert redone.setup.record["contributions"][0]["name"] == "zkmargin local setup"

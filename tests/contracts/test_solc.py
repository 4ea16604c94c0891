"""solc-js compilation: artifacts cached by content, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier_contracts import solc

GOOD = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract Tiny { function f() external pure returns (uint256) { return 7; } }\n"


def test_compile_and_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path))
    first = solc.compile_sources({"Tiny.sol": GOOD})["Tiny"]
    assert first.bytecode.startswith("0x60") and first.abi[0]["name"] == "f"
    [folder] = (tmp_path / "solc").iterdir()
    assert folder.name == solc.cache_key({"Tiny.sol": GOOD})

    def no_compiler(_: object) -> None:
        raise AssertionError("compiled again despite the cache")

    monkeypatch.setattr(solc, "_run_solc", no_compiler)
    assert solc.compile_sources({"Tiny.sol": GOOD})["Tiny"] == first
    assert solc.cache_key({"Tiny.sol": GOOD + " "}) != folder.name


def test_compile_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path))
    with pytest.raises(solc.SolcError, match="compilation failed") as exc:
        solc.compile_sources({"Bad.sol": GOOD.replace("return 7;", "return nope;")})
    assert "nope" in str(exc.value)


def test_missing_node_or_solc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path))
    monkeypatch.setenv("ZKMARGIN_NODE", str(tmp_path / "no-node"))
    with pytest.raises(solc.SolcError, match="could not run solc-js"):
        solc.compile_sources({"Tiny.sol": GOOD})
    monkeypatch.delenv("ZKMARGIN_NODE")
    monkeypatch.setenv("ZKMARGIN_ROOT", str(tmp_path))
    with pytest.raises(solc.SolcError, match="solc-js not found"):
        solc.solc_package()


def test_verifier_without_expected_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path))
    with pytest.raises(solc.SolcError, match="no contract 'Groth16Verifier'"):
        solc.compile_verifier(GOOD)

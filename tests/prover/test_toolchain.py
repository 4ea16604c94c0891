"""Locating node and node_modules, and running tools with clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine import paths
from prover.errors import ProverError
from prover.toolchain.tools import find_node, find_toolchain, run_tool


def test_finds_pinned_tools() -> None:
    tools = find_toolchain()
    assert tools.circom_js.is_file()
    assert tools.snarkjs_cli.is_file()
    assert tools.circomlib_version == "2.0.5"
    assert tools.snarkjs_version == "0.7.6"
    assert tools.circom_version.startswith("circom2-")


def test_missing_node_says_install_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZKMARGIN_NODE", str(tmp_path / "no-such-node"))
    with pytest.raises(ProverError, match="node not found: install node 20"):
        find_node()
    monkeypatch.delenv("ZKMARGIN_NODE")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProverError, match="node not found: install node 20"):
        find_node()


def test_missing_node_modules_says_make_setup(tmp_path: Path) -> None:
    with pytest.raises(ProverError, match="run make setup"):
        find_toolchain(root=tmp_path)


def test_cache_root_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path / "c"))
    assert paths.cache_root() == tmp_path / "c"
    monkeypatch.delenv("ZKMARGIN_CACHE")
    assert paths.cache_root() == paths.project_root() / ".cache" / "zkmargin"


def test_run_tool_failure_names_the_step_and_shows_output() -> None:
    cmd = [sys.executable, "-c", "import sys; print('boom happened'); sys.exit(3)"]
    with pytest.raises(ProverError, match=r"frobnicate failed \(exit 3\): boom happened"):
        run_tool(cmd, what="frobnicate")


def test_run_tool_timeout() -> None:
    with pytest.raises(ProverError, match="timed out"):
        run_tool([sys.executable, "-c", "import time; time.sleep(5)"], what="sleeper", timeout=0.5)


def test_run_tool_treats_logged_snarkjs_error_as_failure() -> None:
    cmd = [sys.executable, "-c", "print('[ERROR] snarkJS: circuit too big')"]
    with pytest.raises(ProverError, match="circuit too big"):
        run_tool(cmd, what="snarkjs")

"""Locate the node toolchain (node, circom2, snarkjs, circomlib) and run its tools.

Everything the prover runs goes through :func:`run_tool`, which turns a missing
binary, a non-zero exit or a timeout into one clear :class:`ProverError`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engine.paths import project_root
from prover.errors import ProverError

NODE_HINT = "node not found: install node 20 (or set ZKMARGIN_NODE to the node binary)"
SETUP_HINT = "run make setup"
MIN_NODE_MAJOR = 18


@dataclass(frozen=True)
class Toolchain:
    """Paths and versions of the pinned node tools."""

    root: Path
    node: Path
    node_modules: Path

    @property
    def circom_js(self) -> Path:
        return self.node_modules / "circom2" / "cli.js"

    @property
    def snarkjs_cli(self) -> Path:
        return self.node_modules / "snarkjs" / "build" / "cli.cjs"

    def package_version(self, package: str) -> str:
        """Version string from ``node_modules/<package>/package.json``."""
        return _package_version(self.node_modules, package)

    @property
    def circom_version(self) -> str:
        """Compiler version as ``circom2 <npm version>`` (the npm package pins the compiler)."""
        return f"circom2-{self.package_version('circom2')}"

    @property
    def circomlib_version(self) -> str:
        return self.package_version("circomlib")

    @property
    def snarkjs_version(self) -> str:
        return self.package_version("snarkjs")

    def circom_cmd(self, *args: str) -> list[str]:
        return [str(self.node), str(self.circom_js), *args]

    def snarkjs_cmd(self, *args: str) -> list[str]:
        return [str(self.node), str(self.snarkjs_cli), *args]


@cache
def _package_version(node_modules: Path, package: str) -> str:
    manifest = node_modules / package / "package.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        raise ProverError(f"{package} is missing from {node_modules}: {SETUP_HINT}") from None


def find_node() -> Path:
    """The node binary: env ZKMARGIN_NODE, else ``node`` on PATH; checks its major version."""
    env = os.environ.get("ZKMARGIN_NODE")
    found = env if env else shutil.which("node")
    if not found or not Path(found).is_file():
        raise ProverError(NODE_HINT)
    node = Path(found)
    major = _node_major(node)
    if major < MIN_NODE_MAJOR:
        raise ProverError(f"node {major} at {node} is too old: install node 20")
    return node


@cache
def _node_major(node: Path) -> int:
    try:
        out = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        raise ProverError(f"{NODE_HINT} ({node} does not run)") from None


def find_toolchain(root: Path | None = None) -> Toolchain:
    """Locate node and the project's node_modules; raise a clear error when either is missing."""
    base = root or project_root()
    node = find_node()
    node_modules = base / "node_modules"
    tools = Toolchain(root=base, node=node, node_modules=node_modules)
    for needed in (tools.circom_js, tools.snarkjs_cli, node_modules / "circomlib" / "circuits"):
        if not needed.exists():
            raise ProverError(f"{needed.relative_to(base)} not found: {SETUP_HINT}")
    return tools


def run_tool(
    cmd: Sequence[str],
    *,
    what: str,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one tool to completion; on failure raise ProverError naming ``what`` with its output tail."""
    try:
        proc = subprocess.run(
            list(cmd), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise ProverError(f"{what}: {cmd[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise ProverError(f"{what}: timed out after {timeout:.0f} s") from None
    if proc.returncode != 0 or _snarkjs_logged_error(proc.stdout + proc.stderr):
        raise ProverError(f"{what} failed (exit {proc.returncode}): {output_tail(proc)}")
    return proc


def _snarkjs_logged_error(text: str) -> bool:
    """snarkjs sometimes logs ``[ERROR]`` yet exits 0; treat that as a failure."""
    return "[ERROR]" in text


def output_tail(proc: subprocess.CompletedProcess[str], lines: int = 12) -> str:
    """The last lines of a tool's combined output, ANSI colour codes removed."""
    text = strip_ansi((proc.stderr or "") + "\n" + (proc.stdout or "")).strip()
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def strip_ansi(text: str) -> str:
    """Remove terminal colour escape sequences (circom colours its messages)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def rel_to(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` (with ``..`` when needed); circom2 wants relative paths."""
    return os.path.relpath(path.resolve(), base.resolve())

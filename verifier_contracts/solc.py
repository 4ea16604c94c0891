"""Compile Solidity with the pinned solc-js (node_modules/solc) through standard JSON.

Artifacts (ABI and creation bytecode) are cached under
``<cache>/solc/<sha256 of sources + solc version + settings>/artifacts.json`` so a
contract is compiled once per content. A missing node or solc package and every
compiler error end in one clear :class:`SolcError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from engine.errors import ZkmarginError
from engine.fileio import write_json_atomic
from engine.paths import cache_root
from prover.paths import node_modules

EVM_VERSION = "prague"  # py-evm stops at Prague
OPTIMIZER_RUNS = 200
CONTRACTS_DIR = Path(__file__).resolve().parent
GATE_SOURCES = ("BatchGate.sol", "GateBase.sol")

# Reads a standard-JSON input on stdin, writes the compiler's JSON output on stdout.
_NODE_SCRIPT = """
const solc = require(process.argv[1]);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => { process.stdout.write(solc.compile(input)); });
"""


class SolcError(ZkmarginError):
    """Compilation could not run or failed; the message says why."""


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: its name, ABI and creation bytecode (0x-prefixed hex)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def cache_dir() -> Path:
    """Root of the solc artifact cache: ``<cache>/solc``."""
    return cache_root() / "solc"


def node_binary() -> str:
    """Path of node (env ZKMARGIN_NODE overrides PATH lookup)."""
    node = os.environ.get("ZKMARGIN_NODE") or shutil.which("node")
    if not node:
        raise SolcError("node not found: install node 20 (or set ZKMARGIN_NODE to the node binary)")
    return node


def solc_package() -> Path:
    """The solc-js package folder in node_modules."""
    pkg = node_modules() / "solc"
    if not (pkg / "package.json").is_file():
        raise SolcError(f"solc-js not found at {pkg}: run `make setup` (npm ci)")
    return pkg


@cache
def solc_version() -> str:
    """The solc-js package version (e.g. ``0.8.37``)."""
    manifest = json.loads((solc_package() / "package.json").read_text(encoding="utf-8"))
    return str(manifest["version"])


def standard_input(sources: dict[str, str]) -> dict[str, Any]:
    """The standard-JSON compiler input for ``sources`` (file name -> source text)."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }


def cache_key(sources: dict[str, str]) -> str:
    """sha256 over the standard-JSON input (sources and settings) and the solc version."""
    material = json.dumps({"solc": solc_version(), "input": standard_input(sources)}, sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def compile_sources(sources: dict[str, str]) -> dict[str, Artifact]:
    """Compile ``sources`` (file name -> text); return every contract by name, cached by content."""
    folder = cache_dir() / cache_key(sources)
    cached = folder / "artifacts.json"
    if cached.is_file():
        return _artifacts_from_json(json.loads(cached.read_text(encoding="utf-8")))
    output = _run_solc(standard_input(sources))
    artifacts = _collect(output)
    write_json_atomic(cached, {name: {"abi": a.abi, "bytecode": a.bytecode} for name, a in artifacts.items()})
    return artifacts


def compile_gate(contract: str = "BatchGate") -> Artifact:
    """A gate artifact (``BatchGate``, or its base ``GateBase``), compiled from the sources
    next to this module."""
    sources = {name: (CONTRACTS_DIR / name).read_text(encoding="utf-8") for name in GATE_SOURCES}
    return compile_sources(sources)[contract]


def compile_verifier(verifier_sol: str, contract: str = "Groth16Verifier") -> Artifact:
    """Compile a snarkjs-exported Solidity verifier given as source text."""
    artifacts = compile_sources({"Groth16Verifier.sol": verifier_sol})
    if contract not in artifacts:
        raise SolcError(f"verifier source has no contract {contract!r} (found: {', '.join(artifacts)})")
    return artifacts[contract]


def _run_solc(standard_json: dict[str, Any]) -> dict[str, Any]:
    cmd = [node_binary(), "-e", _NODE_SCRIPT, str(solc_package())]
    try:
        proc = subprocess.run(
            cmd,
            input=json.dumps(standard_json),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SolcError(f"could not run solc-js: {exc}") from exc
    if proc.returncode != 0:
        raise SolcError(f"solc-js exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    try:
        output: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise SolcError(f"solc-js printed no JSON: {proc.stdout[:500]!r}") from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        text = "\n".join(e.get("formattedMessage", e.get("message", "")).strip() for e in errors)
        raise SolcError(f"solc {solc_version()} compilation failed:\n{text}")
    return output


def _collect(output: dict[str, Any]) -> dict[str, Artifact]:
    found: dict[str, Artifact] = {}
    for contracts in output.get("contracts", {}).values():
        for name, data in contracts.items():
            code = data.get("evm", {}).get("bytecode", {}).get("object", "")
            if code:  # interfaces and abstract contracts have no bytecode
                found[name] = Artifact(name=name, abi=data["abi"], bytecode="0x" + code)
    if not found:
        raise SolcError("solc produced no deployable contract")
    return found


def _artifacts_from_json(data: dict[str, Any]) -> dict[str, Artifact]:
    return {name: Artifact(name=name, abi=v["abi"], bytecode=v["bytecode"]) for name, v in data.items()}

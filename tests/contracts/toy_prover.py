"""Real Groth16 proofs from a throwaway circuit with the gate's public interface.

``fixtures/batch_toy.circom`` has MarginBatch's public interface with K = 4 and binds every
public input, so tests can make a genuine proof for any roots, count and entries (two per
public word) and exercise BatchGate and the snarkjs verifier. The build (circom2, a tiny
powers of tau, Groth16 setup, verification key, Solidity verifier) is cached under
``.cache/zkmargin/test-gate-toy/<sha256 of circuit + tool versions>/``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engine.batch_statement import pack_words
from engine.fixedpoint import FIELD_P
from engine.paths import project_root
from verifier_contracts.solc import cache_dir as solc_cache_dir
from verifier_contracts.solc import node_binary

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BATCH_CIRCUIT = FIXTURES / "batch_toy.circom"
BATCH_TOY_SIZE = 4
PTAU_POWER = 5  # a few constraints and at most 8 public signals fit easily (K = 4)
TIMEOUT = 300

ProofBundle = dict[str, Any]


def _node_modules() -> Path:
    return project_root() / "node_modules"


def _snarkjs(*args: str, cwd: Path) -> None:
    cli = _node_modules() / "snarkjs" / "build" / "cli.cjs"
    _run([node_binary(), str(cli), *args], cwd)


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if proc.returncode != 0 or "[ERROR]" in proc.stdout:
        raise RuntimeError(
            f"{' '.join(cmd[1:3])} failed ({proc.returncode}): {proc.stdout[-800:]}{proc.stderr[-800:]}"
        )


def _versions() -> str:
    parts = []
    for pkg in ("circom2", "snarkjs", "circomlib"):
        manifest = json.loads((_node_modules() / pkg / "package.json").read_text(encoding="utf-8"))
        parts.append(f"{pkg}@{manifest['version']}")
    return " ".join(parts)


def build_dir(circuit: Path = BATCH_CIRCUIT) -> Path:
    """The cache folder of a toy build, keyed by circuit source and tool versions."""
    digest = hashlib.sha256((circuit.read_text(encoding="utf-8") + _versions()).encode()).hexdigest()
    return solc_cache_dir().parent / "test-gate-toy" / digest[:32]


def _ptau_power(circuit: Path) -> int:
    """The smallest powers of tau (at least PTAU_POWER) for the toy circuit's W + 3
    constraints and W + 4 public signals, W read from its ``main`` line."""
    found = re.search(r"BatchToy\((\d+)\);", circuit.read_text(encoding="utf-8"))
    words = int(found.group(1)) if found else 2
    return max(PTAU_POWER, (2 * words + 8).bit_length())


def _build(target: Path, circuit: Path = BATCH_CIRCUIT) -> None:
    """Compile, set up and export a toy circuit into ``target`` (atomically)."""
    name = circuit.stem
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        circom = _node_modules() / "circom2" / "cli.js"
        _run(
            [
                node_binary(),
                str(circom),
                str(circuit),
                "--O2",
                "--r1cs",
                "--wasm",
                "-l",
                str(_node_modules()),
                "-o",
                str(work),
            ],
            project_root(),
        )
        _snarkjs("powersoftau", "new", "bn128", str(_ptau_power(circuit)), "pot0.ptau", cwd=work)
        _snarkjs(
            "powersoftau", "contribute", "pot0.ptau", "pot1.ptau", f"-e={secrets.token_hex(16)}", cwd=work
        )
        _snarkjs("powersoftau", "prepare", "phase2", "pot1.ptau", "pot.ptau", cwd=work)
        _snarkjs("groth16", "setup", f"{name}.r1cs", "pot.ptau", "k0.zkey", cwd=work)
        _snarkjs("zkey", "contribute", "k0.zkey", "circuit.zkey", f"-e={secrets.token_hex(16)}", cwd=work)
        _snarkjs("zkey", "export", "verificationkey", "circuit.zkey", "vkey.json", cwd=work)
        _snarkjs("zkey", "export", "solidityverifier", "circuit.zkey", "Groth16Verifier.sol", cwd=work)
        for scratch in ("pot0.ptau", "pot1.ptau", "pot.ptau", "k0.zkey"):
            (work / scratch).unlink()
        work.replace(target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


@dataclass
class ToyBuild:
    """A toy build's folder and the proofs made with it, memoized by public values."""

    folder: Path
    _proofs: dict[tuple[int, ...], ProofBundle] = field(default_factory=dict)

    @property
    def verifier_sol(self) -> str:
        return (self.folder / "Groth16Verifier.sol").read_text(encoding="utf-8")


def _fullprove(folder: Path, name: str, inputs: dict[str, Any]) -> ProofBundle:
    """``snarkjs groth16 fullprove`` of the toy build in ``folder``."""
    with tempfile.TemporaryDirectory(prefix="gate-toy-") as tmp:
        work = Path(tmp)
        (work / "input.json").write_text(json.dumps(inputs), encoding="utf-8")
        wasm = folder / f"{name}_js" / f"{name}.wasm"
        zkey = folder / "circuit.zkey"
        _snarkjs(
            "groth16",
            "fullprove",
            "input.json",
            str(wasm),
            str(zkey),
            "proof.json",
            "public.json",
            cwd=work,
        )
        proof = json.loads((work / "proof.json").read_text(encoding="utf-8"))
        public = json.loads((work / "public.json").read_text(encoding="utf-8"))
    return {"proof": proof, "public_signals": public}


def _built(circuit: Path) -> Path:
    target = build_dir(circuit)
    if not (target / "Groth16Verifier.sol").is_file():
        _build(target, circuit)
    return target


@dataclass
class BatchToyProofSource(ToyBuild):
    """Proofs of the toy batch circuit (K = ``size``, 4 unless made by
    :func:`batch_toy_proof_source_of`) for any roots and entries."""

    size: int = BATCH_TOY_SIZE

    def prove(
        self, accounts_root: int, market_root: int, params_hash: int, entries: list[int]
    ) -> ProofBundle:
        """A genuine proof of ``[accounts_root, market_root, params_hash, len(entries),
        words]``, the entries and zeros two per word as the gate packs them; ``entries`` may
        hold anything (the toy proves no margin; words are reduced mod r)."""
        padded = [*entries, *[0] * (self.size - len(entries))]
        words = [w % FIELD_P for w in pack_words(padded)]
        key = (accounts_root, market_root, params_hash, len(entries), *words)
        if key not in self._proofs:
            inputs = {
                "accounts_root": str(accounts_root),
                "market_root": str(market_root),
                "params_hash": str(params_hash),
                "count": str(len(entries)),
                "words": [str(w) for w in words],
            }
            self._proofs[key] = _fullprove(self.folder, "batch_toy", inputs)
        return json.loads(json.dumps(self._proofs[key]))


@cache
def batch_toy_proof_source() -> BatchToyProofSource:
    """Build (or reuse from the cache) the toy batch circuit and return its proof source."""
    return BatchToyProofSource(_built(BATCH_CIRCUIT))


@cache
def batch_toy_proof_source_of(size: int) -> BatchToyProofSource:
    """The toy batch circuit with K = ``size`` (its source written under the cache, built
    once): the gate's gas at any K with the verifier of ceil(K / 2) + 4 public signals."""
    if size == BATCH_TOY_SIZE:
        return batch_toy_proof_source()
    source = BATCH_CIRCUIT.read_text(encoding="utf-8").replace(
        "BatchToy(2);", f"BatchToy({(size + 1) // 2});"
    )
    circuit = build_dir().parent / f"source-K{size}" / BATCH_CIRCUIT.name
    if not circuit.is_file() or circuit.read_text(encoding="utf-8") != source:
        circuit.parent.mkdir(parents=True, exist_ok=True)
        circuit.write_text(source, encoding="utf-8")
    return BatchToyProofSource(_built(circuit), size=size)

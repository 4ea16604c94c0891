"""Prove and verify with the snarkjs command line (the fallback when the worker cannot run)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from prover.errors import ProverError
from prover.results import ProofResult
from prover.toolchain.tools import Toolchain, find_toolchain, output_tail, run_tool

DEFAULT_TIMEOUT = 1800.0


def cli_prove(
    wasm: Path,
    zkey: Path,
    circuit_input: dict[str, Any],
    *,
    tools: Toolchain | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ProofResult:
    """``snarkjs wtns calculate`` then ``snarkjs groth16 prove``, in a temp folder."""
    tools = tools or find_toolchain()
    with tempfile.TemporaryDirectory(prefix="zkmargin-prove-") as tmp:
        folder = Path(tmp)
        (folder / "input.json").write_text(json.dumps(circuit_input), encoding="utf-8")
        started = time.perf_counter()
        run_tool(
            tools.snarkjs_cmd("wtns", "calculate", str(wasm), "input.json", "witness.wtns"),
            what="snarkjs wtns calculate",
            cwd=folder,
            timeout=timeout,
        )
        witnessed = time.perf_counter()
        run_tool(
            tools.snarkjs_cmd("groth16", "prove", str(zkey), "witness.wtns", "proof.json", "public.json"),
            what="snarkjs groth16 prove",
            cwd=folder,
            timeout=timeout,
        )
        done = time.perf_counter()
        proof = json.loads((folder / "proof.json").read_text(encoding="utf-8"))
        public = json.loads((folder / "public.json").read_text(encoding="utf-8"))
    return ProofResult(
        proof=proof,
        public_signals=[str(s) for s in public],
        witness_seconds=witnessed - started,
        prove_seconds=done - witnessed,
        backend="cli",
    )


def cli_verify(
    vkey: Path,
    public_signals: list[str],
    proof: dict[str, Any],
    *,
    tools: Toolchain | None = None,
    timeout: float = 300.0,
) -> bool:
    """``snarkjs groth16 verify``: True for "OK!", False for an invalid proof."""
    tools = tools or find_toolchain()
    with tempfile.TemporaryDirectory(prefix="zkmargin-verify-") as tmp:
        folder = Path(tmp)
        (folder / "public.json").write_text(json.dumps(public_signals), encoding="utf-8")
        (folder / "proof.json").write_text(json.dumps(proof), encoding="utf-8")
        try:
            proc = subprocess.run(
                tools.snarkjs_cmd("groth16", "verify", str(vkey), "public.json", "proof.json"),
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ProverError(f"snarkjs groth16 verify timed out after {timeout:g} s") from None
    text = proc.stdout + proc.stderr
    if proc.returncode == 0 and "OK!" in text:
        return True
    if "Invalid proof" in text:
        return False
    raise ProverError(f"snarkjs groth16 verify failed: {output_tail(proc)}")

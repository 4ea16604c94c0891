"""Groth16 trusted setup for a compiled circuit: zkey, verification key, Solidity verifier.

Outputs go next to the build in the cache (``<cache>/build/<key>/``):
``circuit_final.zkey`` (``groth16 setup`` + one contribution of fresh entropy),
``verification_key.json``, ``verifier.sol`` and ``setup.json`` (the record that
marks the setup complete). A completed setup is reused, never redone, unless forced.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.fileio import write_json_atomic
from prover.build import BuildResult, file_lock
from prover.errors import ProverError
from prover.ptau import PtauChoice
from prover.steps import StepRunner
from prover.toolchain import Toolchain, find_toolchain
from prover.vkey import load_vkey, vkey_sha256

ZKEY = "circuit_final.zkey"
VKEY = "verification_key.json"
VERIFIER = "verifier.sol"
SETUP_RECORD = "setup.json"
SETUP_FORMAT = "zkmargin-setup/1"
DEFAULT_SETUP_TIMEOUT = 7200.0


@dataclass(frozen=True)
class SetupResult:
    """Proving and verification keys of one build."""

    directory: Path
    record: dict[str, Any]
    cached: bool

    @property
    def zkey(self) -> Path:
        return self.directory / ZKEY

    @property
    def vkey(self) -> Path:
        return self.directory / VKEY

    @property
    def verifier_sol(self) -> Path:
        return self.directory / VERIFIER

    @property
    def vkey_sha256(self) -> str:
        return str(self.record["vkey_sha256"])


def load_setup(directory: Path) -> SetupResult | None:
    """The completed setup in a build folder, or None."""
    try:
        record = json.loads((directory / SETUP_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    result = SetupResult(directory=directory, record=record, cached=True)
    if record.get("format") != SETUP_FORMAT:
        return None
    if not all(p.is_file() for p in (result.zkey, result.vkey, result.verifier_sol)):
        return None
    return result


def setup_keys(
    build: BuildResult,
    ptau: PtauChoice | Callable[[], PtauChoice],
    *,
    tools: Toolchain | None = None,
    force: bool = False,
    timeout: float = DEFAULT_SETUP_TIMEOUT,
    console: Console | None = None,
) -> SetupResult:
    """Run the Groth16 setup for ``build`` unless it was done before.

    ``ptau`` may be a callable so that no ptau is resolved (or generated) on a cache hit.
    With a ``console`` the steps are shown with live progress.
    """
    tools = tools or find_toolchain()
    folder = build.directory
    with file_lock(folder.parent / f"{build.key}.setup.lock"):
        existing = load_setup(folder)
        if existing is not None and not force:
            return existing
        chosen = ptau() if callable(ptau) else ptau
        vkey, timings = _run_setup(build, chosen, tools, timeout, console)
        write_json_atomic(folder / SETUP_RECORD, _record(build, chosen, vkey, timings))
    done = load_setup(folder)
    if done is None:
        raise ProverError(f"setup in {folder} is incomplete")
    return SetupResult(directory=folder, record=done.record, cached=False)


def _run_setup(
    build: BuildResult,
    ptau: PtauChoice,
    tools: Toolchain,
    timeout: float,
    console: Console | None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Run the four snarkjs steps into temp names, then rename them into place."""
    folder = build.directory
    tmp = {name: folder / f".tmp-{name}" for name in ("zkey0", "zkey", "vkey", "sol")}
    steps: list[tuple[str, tuple[str, ...], float]] = [
        (
            "groth16 setup",
            ("groth16", "setup", str(build.r1cs), str(ptau.path), str(tmp["zkey0"]), "-v"),
            0.7,
        ),
        (
            "zkey contribute",
            (
                "zkey",
                "contribute",
                str(tmp["zkey0"]),
                str(tmp["zkey"]),
                "--name=zkmargin local setup",
                f"-e={secrets.token_hex(32)}",
                "-v",
            ),
            0.26,
        ),
        (
            "export verificationkey",
            ("zkey", "export", "verificationkey", str(tmp["zkey"]), str(tmp["vkey"])),
            0.02,
        ),
        (
            "export solidityverifier",
            ("zkey", "export", "solidityverifier", str(tmp["zkey"]), str(tmp["sol"])),
            0.02,
        ),
    ]
    try:
        title = f"groth16 setup of {build.manifest.get('label', build.key[:12])} ({build.constraints} constraints)"
        with StepRunner(title, 1.0, console, str(tools.root), timeout) as runner:
            for name, args, weight in steps:
                runner.run(name, tools.snarkjs_cmd(*args), weight)
        vkey = load_vkey(tmp["vkey"])
        tmp["zkey"].rename(folder / ZKEY)
        tmp["vkey"].rename(folder / VKEY)
        tmp["sol"].rename(folder / VERIFIER)
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)
    return vkey, runner.seconds


def _record(
    build: BuildResult, ptau: PtauChoice, vkey: dict[str, Any], timings: dict[str, float]
) -> dict[str, Any]:
    folder = build.directory
    return {
        "format": SETUP_FORMAT,
        "build_key": build.key,
        "ptau": {"path": str(ptau.path), "power": ptau.power, "source": ptau.source},
        "single_party": ptau.single_party,
        "vkey_sha256": vkey_sha256(vkey),
        "n_public": int(vkey["nPublic"]),
        "zkey_bytes": (folder / ZKEY).stat().st_size,
        "seconds": timings,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

"""Groth16 trusted setup for a compiled circuit: zkey, verification key, Solidity verifier.

Keys are tied to the exact ptau they came from: each setup lives in its own folder
``<cache>/build/<key>/keys/<first 16 hex digits of the ptau's sha256>/`` with
``circuit_final.zkey`` (``groth16 setup`` + one contribution of fresh entropy),
``verification_key.json``, ``verifier.sol`` and ``setup.json`` (the record that marks the
setup complete: the ptau's path, power, source and full sha256, and the contributions).
A completed setup is reused, never redone, unless forced; a request for keys from one
ptau never returns keys made from another.

Without a ptau, :func:`setup_keys_native` makes a circuit-specific setup natively
(``zkmargin_native``, seconds instead of minutes) into ``keys/native/``: single-party like
any local setup, recorded as ``"method": "native"`` with no ptau. The verification key
and the Solidity verifier are exported from it by snarkjs, as for every other key.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.fileio import write_json_atomic
from engine.formats.json_text import loads_json
from prover.errors import ProverError
from prover.keys.ptau import PtauChoice
from prover.keys.vkey import load_vkey, vkey_sha256
from prover.toolchain.build import BuildResult, file_lock
from prover.toolchain.steps import StepRunner
from prover.toolchain.tools import Toolchain, find_toolchain

ZKEY = "circuit_final.zkey"
VKEY = "verification_key.json"
VERIFIER = "verifier.sol"
SETUP_RECORD = "setup.json"
SETUP_FORMAT = "zkmargin/setup@2"
KEYS_DIR = "keys"
NATIVE_KEYS = "native"  # keys/native: the native setup's folder
#: How the native setup is recorded (no ptau; the secrets are drawn and dropped in-process).
NATIVE_CONTRIBUTION = "zkmargin native circuit-specific setup"
#: The one phase-2 contribution a local setup makes (its entropy is never kept).
LOCAL_CONTRIBUTION = "zkmargin local setup"
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

    @property
    def ptau_sha256(self) -> str:
        """The sha256 of the ptau the keys came from; empty for a native setup (no ptau)."""
        ptau = self.record.get("ptau")
        return str(ptau["sha256"]) if ptau else ""

    @property
    def method(self) -> str:
        """``snarkjs`` (from a ptau) or ``native`` (circuit-specific, no ptau)."""
        return str(self.record.get("method", "snarkjs"))

    def origin(self) -> str:
        """Where the keys came from, in words (for people)."""
        if self.method == "native":
            return "a native circuit-specific setup (no ptau)"
        ptau = self.record.get("ptau") or {}
        return (
            f"a 2^{ptau.get('power')} ptau ({ptau.get('source')}, sha256 {str(ptau.get('sha256', '?'))[:12]}…) "
            "and one phase-2 contribution"
        )

    def trust_note(self) -> str | None:
        """The warning every use of single-party keys must show, or None."""
        if not self.record.get("single_party"):
            return None
        how = (
            "the setup's secrets were drawn and dropped by this machine"
            if self.method == "native"
            else "a local ptau and one phase-2 contribution"
        )
        return f"trusted setup: single-party ({how}): fine for development, never for production keys"


def keys_folder(build_dir: Path, ptau_sha256: str) -> Path:
    """Where the keys made from the ptau with this sha256 live."""
    return build_dir / KEYS_DIR / ptau_sha256[:16]


def load_setup(build_dir: Path, ptau_sha256: str | None = None) -> SetupResult | None:
    """The completed setup of a build made from the ptau with ``ptau_sha256``; without a
    digest, the newest completed setup of the build (any ptau); None when there is none."""
    if ptau_sha256 is not None:
        found = load_keys(keys_folder(build_dir, ptau_sha256))
        return found if found is not None and found.ptau_sha256 == ptau_sha256 else None
    every = [k for k in map(load_keys, sorted((build_dir / KEYS_DIR).glob("*"))) if k is not None]
    return max(every, key=lambda k: str(k.record.get("created_at", "")), default=None)


def all_setups(build_dir: Path) -> list[SetupResult]:
    """Every completed setup of a build."""
    return [k for k in map(load_keys, sorted((build_dir / KEYS_DIR).glob("*"))) if k is not None]


def load_keys(directory: Path) -> SetupResult | None:
    """The completed setup in one keys folder, or None."""
    try:
        record = loads_json((directory / SETUP_RECORD).read_text(encoding="utf-8"), "setup record")
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

    Given a :class:`PtauChoice`, only keys made from that very file (by sha256) are
    reused. ``ptau`` may instead be a callable, so that no ptau is resolved (or
    generated) when any setup of the build exists. ``force`` redoes the setup (never the
    compile). With a ``console`` the steps are shown with live progress.
    """
    tools = tools or find_toolchain()
    with file_lock(build.directory.parent / f"{build.key}.setup.lock"):
        if not force:
            wanted = None if callable(ptau) else ptau.sha256
            existing = load_setup(build.directory, wanted)
            if existing is not None:
                return existing
        chosen = ptau() if callable(ptau) else ptau
        folder = keys_folder(build.directory, chosen.sha256)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SETUP_RECORD).unlink(missing_ok=True)  # incomplete until the record is back
        vkey, timings = _run_setup(build, folder, chosen, tools, timeout, console)
        record = _record(
            build,
            folder,
            vkey,
            timings,
            method="snarkjs",
            ptau=_ptau_record(chosen),
            contribution={"phase": 2, "name": LOCAL_CONTRIBUTION, "entropy": "fresh random, not kept"},
        )
        write_json_atomic(folder / SETUP_RECORD, record)
    done = load_keys(folder)
    if done is None:
        raise ProverError(f"setup in {folder} is incomplete")
    return SetupResult(directory=folder, record=done.record, cached=False)


def setup_keys_native(
    build: BuildResult,
    *,
    tools: Toolchain | None = None,
    force: bool = False,
    timeout: float = DEFAULT_SETUP_TIMEOUT,
    console: Console | None = None,
) -> SetupResult:
    """The native circuit-specific setup of ``build`` (reused unless ``force``): the zkey
    from ``zkmargin_native.groth16_setup``, then snarkjs's exports of the verification key
    and the Solidity verifier. Single-party: for development, never for production."""
    from prover.backends.native import native_module

    native = native_module()
    tools = tools or find_toolchain()
    folder = build.directory / KEYS_DIR / NATIVE_KEYS
    with file_lock(build.directory.parent / f"{build.key}.setup.lock"):
        if not force:
            existing = load_keys(folder)
            if existing is not None:
                return existing
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SETUP_RECORD).unlink(missing_ok=True)  # incomplete until the record is back
        tmp = {name: folder / f".tmp-{name}" for name in ("zkey", "vkey", "sol")}
        try:
            summary = dict(native.groth16_setup(str(build.r1cs), str(tmp["zkey"])))
            title = f"exports of the native setup of {build.manifest.get('label', build.key[:12])}"
            with StepRunner(title, 1.0, console, str(tools.root), timeout) as runner:
                for name, args, weight in _export_steps(tmp, 0.5):
                    runner.run(name, tools.snarkjs_cmd(*args), weight)
            vkey = _install(tmp, folder)
        except ValueError as exc:
            raise ProverError(f"native setup of {build.r1cs} failed: {exc}") from None
        finally:
            for path in tmp.values():
                path.unlink(missing_ok=True)
        timings = {"native setup": round(float(summary["seconds"]), 3), **runner.seconds}
        record = _record(
            build,
            folder,
            vkey,
            timings,
            method="native",
            ptau=None,
            contribution={
                "phase": "circuit-specific",
                "name": NATIVE_CONTRIBUTION,
                "entropy": "OS randomness, not kept",
            },
        ) | {"domain_size": int(summary["domain_size"])}
        write_json_atomic(folder / SETUP_RECORD, record)
    done = load_keys(folder)
    if done is None:
        raise ProverError(f"setup in {folder} is incomplete")
    return SetupResult(directory=folder, record=done.record, cached=False)


def _run_setup(
    build: BuildResult,
    folder: Path,
    ptau: PtauChoice,
    tools: Toolchain,
    timeout: float,
    console: Console | None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Run the four snarkjs steps into temp names, then rename them into ``folder``."""
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
                f"--name={LOCAL_CONTRIBUTION}",
                f"-e={secrets.token_hex(32)}",
                "-v",
            ),
            0.26,
        ),
        *_export_steps(tmp, 0.02),
    ]
    try:
        title = f"groth16 setup of {build.manifest.get('label', build.key[:12])} ({build.constraints} constraints)"
        with StepRunner(title, 1.0, console, str(tools.root), timeout) as runner:
            for name, args, weight in steps:
                runner.run(name, tools.snarkjs_cmd(*args), weight)
        vkey = _install(tmp, folder)
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)
    return vkey, runner.seconds


def _export_steps(tmp: dict[str, Path], weight: float) -> list[tuple[str, tuple[str, ...], float]]:
    """snarkjs's exports of the verification key and the Solidity verifier from ``tmp["zkey"]``."""
    return [
        (
            "export verificationkey",
            ("zkey", "export", "verificationkey", str(tmp["zkey"]), str(tmp["vkey"])),
            weight,
        ),
        (
            "export solidityverifier",
            ("zkey", "export", "solidityverifier", str(tmp["zkey"]), str(tmp["sol"])),
            weight,
        ),
    ]


def _install(tmp: dict[str, Path], folder: Path) -> dict[str, Any]:
    """Move the finished zkey, verification key and verifier into place; the verification key."""
    vkey = load_vkey(tmp["vkey"])
    tmp["zkey"].rename(folder / ZKEY)
    tmp["vkey"].rename(folder / VKEY)
    tmp["sol"].rename(folder / VERIFIER)
    return vkey


def _ptau_record(ptau: PtauChoice) -> dict[str, Any]:
    return {
        "path": str(ptau.path),
        "power": ptau.power,
        "source": ptau.source,
        "sha256": ptau.sha256,
        "single_party": ptau.single_party,
    }


def _record(
    build: BuildResult,
    folder: Path,
    vkey: dict[str, Any],
    timings: dict[str, float],
    *,
    method: str,
    ptau: dict[str, Any] | None,
    contribution: dict[str, Any],
) -> dict[str, Any]:
    """The setup record (``setup.json``) of keys made by ``method``; every local setup is
    single-party."""
    return {
        "format": SETUP_FORMAT,
        "build_key": build.key,
        "method": method,
        "ptau": ptau,
        "contributions": [contribution],
        "single_party": True,
        "vkey_sha256": vkey_sha256(vkey),
        "n_public": int(vkey["nPublic"]),
        "zkey_bytes": (folder / ZKEY).stat().st_size,
        "seconds": timings,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

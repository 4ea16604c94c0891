"""``CircuitArtifacts``: every file of one compiled and set-up circuit, in one object.

``prepare_artifacts`` compiles (cached), resolves a ptau only when a setup is
still needed, and runs the setup (cached). ``find_artifacts`` only looks in the
cache and never compiles, for commands such as ``zkmargin verify``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.paths import cache_root
from engine.profiles import get_profile
from prover.backends.native import native_available
from prover.errors import ProverError
from prover.keys.ptau import PtauChoice, ptau_named, resolve_ptau
from prover.keys.setup import SetupResult, all_setups, load_setup, setup_keys, setup_keys_native
from prover.keys.vkey import load_vkey
from prover.toolchain.binfile import required_power
from prover.toolchain.build import (
    BuildResult,
    CircuitSpec,
    build_circuit,
    find_build,
    load_build,
    margin_spec,
)
from prover.toolchain.tools import Toolchain, find_toolchain


@dataclass(frozen=True)
class CircuitArtifacts:
    """A circuit build plus (when done) its Groth16 keys."""

    spec: CircuitSpec
    build: BuildResult
    setup: SetupResult | None

    @property
    def key(self) -> str:
        return self.build.key

    @property
    def directory(self) -> Path:
        return self.build.directory

    @property
    def r1cs(self) -> Path:
        return self.build.r1cs

    @property
    def wasm(self) -> Path:
        return self.build.wasm

    @property
    def constraints(self) -> int:
        return self.build.constraints

    @property
    def public_signals(self) -> int:
        return self.build.public_signals

    @property
    def ptau_power(self) -> int:
        """Smallest ptau power this circuit needs (snarkjs's rule)."""
        return required_power(self.constraints, self.public_signals)

    def _keys(self) -> SetupResult:
        if self.setup is None:
            raise ProverError(f"{self.spec.label}: no keys yet: run zkmargin setup")
        return self.setup

    @property
    def zkey(self) -> Path:
        return self._keys().zkey

    @property
    def vkey(self) -> Path:
        return self._keys().vkey

    @property
    def verifier_sol(self) -> Path:
        return self._keys().verifier_sol

    @property
    def vkey_sha256(self) -> str:
        return self._keys().vkey_sha256

    def vkey_json(self) -> dict[str, Any]:
        return load_vkey(self.vkey)

    def summary(self) -> dict[str, Any]:
        """Paths and figures for display and JSON output."""
        out: dict[str, Any] = {
            "circuit": self.spec.label,
            "key": self.key,
            "directory": str(self.directory),
            "constraints": self.constraints,
            "public_signals": self.public_signals,
            "ptau_power_needed": self.ptau_power,
            "compile_seconds": self.build.manifest.get("compile_seconds"),
            "r1cs": str(self.r1cs),
            "wasm": str(self.wasm),
        }
        if self.setup is not None:
            out |= {
                "zkey": str(self.zkey),
                "zkey_bytes": self.zkey.stat().st_size,
                "vkey": str(self.vkey),
                "vkey_sha256": self.vkey_sha256,
                "verifier_sol": str(self.verifier_sol),
                "setup_method": self.setup.method,
                "ptau": self.setup.record.get("ptau"),
                "contributions": self.setup.record.get("contributions"),
                "single_party": self.setup.record.get("single_party"),
                "setup_seconds": self.setup.record.get("seconds"),
            }
        return out


def spec_for(profile_or_spec: str | CircuitSpec) -> CircuitSpec:
    return margin_spec(get_profile(profile_or_spec)) if isinstance(profile_or_spec, str) else profile_or_spec


#: ``prepare_artifacts(method=...)`` / ``zkmargin setup --method``.
SETUP_METHODS = ("auto", "native", "snarkjs")


def prepare_artifacts(
    profile_or_spec: str | CircuitSpec,
    *,
    setup: bool = True,
    ptau: Path | None = None,
    tools: Toolchain | None = None,
    cache: Path | None = None,
    shared_dir: Path | None = None,
    force_build: bool = False,
    force_setup: bool = False,
    console: Console | None = None,
    notify: Callable[[str], None] | None = None,
    method: str = "auto",
) -> CircuitArtifacts:
    """Compile (if not cached) and, with ``setup``, make the keys (if not cached).

    With an explicit ptau (``ptau`` or ``$ZKMARGIN_PTAU``) only keys made from that very
    file by snarkjs are used (made if missing); without one, any cached keys of the build
    serve, and new ones come from ``method``: ``native`` (a circuit-specific setup in
    seconds, no ptau), ``snarkjs`` (a ptau is resolved: shared dev file, cached or
    generated), or ``auto``: native when the native module is built, else snarkjs. Every
    local setup is single-party. ``force_build`` recompiles; ``force_setup`` redoes the
    setup only.
    """
    if method not in SETUP_METHODS:
        raise ValueError(f"unknown setup method {method!r} (one of {', '.join(SETUP_METHODS)})")
    spec = spec_for(profile_or_spec)
    tools = tools or find_toolchain()
    build = build_circuit(spec, tools=tools, cache=cache, force=force_build, echo=notify)
    keys: SetupResult | None = load_setup(build.directory)
    named = ptau_named(ptau)
    if setup and not named and not force_setup and method != "auto":
        keys = max(
            (k for k in all_setups(build.directory) if k.method == method),
            key=lambda k: str(k.record.get("created_at", "")),
            default=None,
        )
    if setup and (keys is None or force_setup or named):
        if not named and (method == "native" or (method == "auto" and native_available())):
            if notify:
                notify("native circuit-specific setup (single-party, for development; seconds)")
            keys = setup_keys_native(build, tools=tools, force=force_setup, console=console)
        else:

            def choose() -> PtauChoice:
                needed = required_power(build.constraints, build.public_signals)
                return resolve_ptau(
                    needed,
                    explicit=ptau,
                    tools=tools,
                    cache=cache,
                    shared_dir=shared_dir,
                    console=console,
                    notify=notify,
                )

            eager = named or method == "snarkjs"  # only keys of that very ptau will do
            keys = setup_keys(
                build, choose() if eager else choose, tools=tools, force=force_setup, console=console
            )
    return CircuitArtifacts(spec=spec, build=build, setup=keys)


def find_artifacts(
    profile_or_spec: str | CircuitSpec, *, tools: Toolchain | None = None, cache: Path | None = None
) -> CircuitArtifacts | None:
    """Cached artifacts for a profile or spec, or None; never compiles or sets up."""
    spec = spec_for(profile_or_spec)
    build = find_build(spec, tools=tools, cache=cache)
    if build is None:
        return None
    return CircuitArtifacts(spec=spec, build=build, setup=load_setup(build.directory))


def artifacts_from_dir(directory: Path) -> CircuitArtifacts:
    """The artifacts in one build folder (for example an older build kept in the cache).

    The spec is read back from the folder's manifest; the folder name is the key.
    """
    folder = Path(directory).resolve()
    build = load_build(folder, folder.name)
    if build is None:
        raise ProverError(f"{folder} is not a complete zkmargin build")
    manifest = build.manifest
    spec = CircuitSpec(
        label=str(manifest["label"]),
        template_file=Path(manifest["template_file"]),
        template=str(manifest["template"]),
        args=tuple(int(a) for a in manifest["args"]),
        public=tuple(str(p) for p in manifest["public"]),
    )
    return CircuitArtifacts(spec=spec, build=build, setup=load_setup(folder))


def find_setup_by_vkey(digest: str, *, cache: Path | None = None) -> SetupResult | None:
    """A cached setup whose verification key has sha256 ``digest`` (any build, old ones included)."""
    builds = (cache or cache_root()) / "build"
    if not builds.is_dir():
        return None
    for folder in sorted(builds.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        for keys in all_setups(folder):
            if keys.vkey_sha256 == digest:
                return keys
    return None


def profile_of_key(digest: str, *, cache: Path | None = None) -> str | None:
    """The circuit profile whose cached keys have verification-key sha256 ``digest``
    (from the build's manifest label ``margin-<profile>``), or None when unknown here."""
    keys = find_setup_by_vkey(digest, cache=cache)
    if keys is None:
        return None
    build = load_build(keys.directory.parent.parent, keys.directory.parent.parent.name)
    label = str(build.manifest.get("label", "")) if build is not None else ""
    return label.removeprefix("margin-") if label.startswith("margin-") else None

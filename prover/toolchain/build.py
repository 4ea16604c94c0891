"""Compile circom circuits into a content-addressed build cache.

A build is identified by a key: the sha256 of the generated main file, every
circom source it depends on (its include closure, circomlib files included, and
for templates under ``circuits/`` every ``circuits/**/*.circom``), the circomlib
version, the compiler version and the compile flags. The outputs
(``main.r1cs``, ``main_js/main.wasm``, ``main.sym``, ``manifest.json``) live in
``<cache>/build/<key>/`` and are never rebuilt once there: a build is written to
a temporary folder and renamed into place only when complete, under a file lock.

The builder is generic: any template file + template name + integer arguments,
so the margin circuit, gadget tests and test fixtures share it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.fileio import write_json_atomic
from engine.formats.json_text import loads_json
from engine.paths import cache_root
from engine.profiles import Profile
from engine.signals import BATCH_PUBLIC_INPUTS, PUBLIC_INPUTS
from prover.curve import SCALAR_FIELD
from prover.errors import ProverError
from prover.toolchain.binfile import read_r1cs_info
from prover.toolchain.tools import Toolchain, find_toolchain, rel_to, run_tool, strip_ansi

PRAGMA = "pragma circom 2.2.3;"
COMPILE_FLAGS = ("--r1cs", "--wasm", "--sym", "--O2")
MARGIN_TEMPLATE_FILE = Path("circuits") / "margin_check.circom"
MARGIN_TEMPLATE = "MarginCheck"
MARGIN_PUBLIC = PUBLIC_INPUTS
BATCH_TEMPLATE_FILE = Path("circuits") / "margin_batch.circom"
BATCH_TEMPLATE = "MarginBatch"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "zkmargin/build@1"
DEFAULT_COMPILE_TIMEOUT = 3600.0


@dataclass(frozen=True)
class CircuitSpec:
    """What to compile: ``component main {public [...]} = template(args)`` from ``template_file``."""

    label: str
    template_file: Path  # absolute, or relative to the project root
    template: str
    args: tuple[int, ...]
    public: tuple[str, ...]


def margin_spec(profile: Profile) -> CircuitSpec:
    """The ZKPM-2 margin circuit ``MarginCheck(A, k, d)`` for a profile."""
    return CircuitSpec(
        label=f"margin-{profile.name}",
        template_file=MARGIN_TEMPLATE_FILE,
        template=MARGIN_TEMPLATE,
        args=(profile.assets, profile.slots, profile.depth),
        public=MARGIN_PUBLIC,
    )


def batch_spec(profile: Profile, size: int | None = None) -> CircuitSpec:
    """The batch circuit ``MarginBatch(A, k, d, K, D)`` of a profile; ``size`` overrides the
    profile's batch size K (the gas benchmark builds K = 1, 4, 8, 32 of one profile)."""
    k_size = profile.batch_size if size is None else size
    if k_size < 1:
        raise ValueError(f"batch size must be positive, got {k_size}")
    suffix = "" if k_size == profile.batch_size else f"-K{k_size}"
    return CircuitSpec(
        label=f"batch-{profile.name}{suffix}",
        template_file=BATCH_TEMPLATE_FILE,
        template=BATCH_TEMPLATE,
        args=(profile.assets, profile.slots, profile.depth, k_size, profile.accounts_depth),
        public=BATCH_PUBLIC_INPUTS,
    )


@dataclass(frozen=True)
class BuildResult:
    """A compiled circuit in the cache."""

    key: str
    directory: Path
    manifest: dict[str, Any]
    cached: bool  # True when this call found it already built

    @property
    def r1cs(self) -> Path:
        return self.directory / "main.r1cs"

    @property
    def wasm(self) -> Path:
        return self.directory / "main_js" / "main.wasm"

    @property
    def sym(self) -> Path:
        return self.directory / "main.sym"

    @property
    def main_circom(self) -> Path:
        return self.directory / "main.circom"

    @property
    def constraints(self) -> int:
        return int(self.manifest["r1cs"]["constraints"])

    @property
    def public_signals(self) -> int:
        r1cs = self.manifest["r1cs"]
        return int(r1cs["public_outputs"]) + int(r1cs["public_inputs"])


def resolve_template_file(spec: CircuitSpec, root: Path) -> Path:
    path = spec.template_file if spec.template_file.is_absolute() else root / spec.template_file
    if not path.is_file():
        raise ProverError(f"circuit source not found: {path} (template {spec.template})")
    return path.resolve()


def include_dir(spec: CircuitSpec, root: Path) -> Path:
    """The ``-l`` folder the main file's include is relative to: the project root for
    templates inside it, else the template's own folder (circom2 under WASI cannot
    follow ``..`` out of a library folder)."""
    template = resolve_template_file(spec, root)
    return root if template.is_relative_to(root.resolve()) else template.parent


def main_source(spec: CircuitSpec, root: Path) -> str:
    """The generated main file; its include is relative to :func:`include_dir`."""
    include = rel_to(resolve_template_file(spec, root), include_dir(spec, root))
    args = ", ".join(str(a) for a in spec.args)
    public = f" {{public [{', '.join(spec.public)}]}}" if spec.public else ""
    return (
        f"{PRAGMA}\n\n"
        f"// Generated by zkmargin ({spec.label}); do not edit.\n"
        f'include "{include}";\n\n'
        f"component main{public} = {spec.template}({args});\n"
    )


_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"\s*;', re.MULTILINE)
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


def include_closure(start: Path, search: list[Path]) -> set[Path]:
    """``start`` and every file it includes, transitively (resolved as circom does:
    the including file's folder first, then each ``-l`` folder in order)."""
    seen: set[Path] = set()
    todo = [start.resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        text = _COMMENTS.sub("", path.read_text(encoding="utf-8", errors="replace"))
        for name in _INCLUDE.findall(text):
            for folder in (path.parent, *search):
                candidate = (folder / name).resolve()
                if candidate.is_file():
                    todo.append(candidate)
                    break
    return seen


def source_files(spec: CircuitSpec, root: Path) -> list[Path]:
    """Every circom source the build depends on: the template's include closure and,
    for a template under ``circuits/``, every ``circuits/**/*.circom``."""
    template = resolve_template_file(spec, root)
    found = include_closure(template, [root, root / "node_modules"])
    circuits = (root / "circuits").resolve()
    if template.is_relative_to(circuits):
        found.update(p.resolve() for p in circuits.rglob("*.circom"))
    return sorted(found)


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def key_inputs(spec: CircuitSpec, tools: Toolchain) -> dict[str, Any]:
    """Everything the build key hashes, as a JSON-able dict (also stored in the manifest)."""
    return {
        "main": main_source(spec, tools.root),
        "sources": {rel_to(p, tools.root): _sha256_file(p) for p in source_files(spec, tools.root)},
        "circomlib": tools.circomlib_version,
        "compiler": tools.circom_version,
        "flags": list(COMPILE_FLAGS),
    }


def build_key(spec: CircuitSpec, tools: Toolchain) -> str:
    blob = json.dumps(key_inputs(spec, tools), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def build_dir(key: str, cache: Path | None = None) -> Path:
    return (cache or cache_root()) / "build" / key


def load_build(directory: Path, key: str) -> BuildResult | None:
    """The complete build in ``directory``, or None when it is absent or incomplete."""
    try:
        manifest = loads_json((directory / MANIFEST).read_text(encoding="utf-8"), "build manifest")
    except (OSError, ValueError):
        return None
    result = BuildResult(key=key, directory=directory, manifest=manifest, cached=True)
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("key") != key:
        return None
    if not all(p.is_file() for p in (result.r1cs, result.wasm, result.sym)):
        return None
    return result


def find_build(
    spec: CircuitSpec, *, tools: Toolchain | None = None, cache: Path | None = None
) -> BuildResult | None:
    """The cached build for ``spec`` if there is one; never compiles."""
    tools = tools or find_toolchain()
    key = build_key(spec, tools)
    return load_build(build_dir(key, cache), key)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (other processes building the same key wait)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_circuit(
    spec: CircuitSpec,
    *,
    tools: Toolchain | None = None,
    cache: Path | None = None,
    force: bool = False,
    timeout: float = DEFAULT_COMPILE_TIMEOUT,
    echo: Callable[[str], None] | None = None,
) -> BuildResult:
    """Compile ``spec`` unless the cache already holds it; return the build."""
    tools = tools or find_toolchain()
    key = build_key(spec, tools)
    final = build_dir(key, cache)
    with file_lock(final.parent / f"{key}.lock"):
        existing = load_build(final, key)
        if existing is not None and not force:
            return existing
        if echo:
            echo(
                f"compiling {spec.label}: {spec.template}({', '.join(map(str, spec.args))}) (key {key[:12]})"
            )
        staging = final.parent / f".tmp-{key}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            manifest = _compile(spec, tools, key, staging, timeout)
            write_json_atomic(staging / MANIFEST, manifest)
            shutil.rmtree(final, ignore_errors=True)
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    built = load_build(final, key)
    if built is None:
        raise ProverError(f"build {final} is incomplete after compiling")
    return BuildResult(key=key, directory=final, manifest=built.manifest, cached=False)


def circom_command(spec: CircuitSpec, tools: Toolchain, main: Path, out: Path) -> tuple[list[str], Path]:
    """The circom2 command line and the folder to run it in.

    circom2 runs under WASI and resolves includes only below its working folder
    (no ``..``), so it runs in the deepest folder holding the project, the template
    and the output, with every path relative to that folder.
    """
    library = include_dir(spec, tools.root).resolve()
    modules = tools.node_modules.resolve()
    cwd = Path(os.path.commonpath([tools.root.resolve(), library, modules, out.resolve()]))
    cmd = tools.circom_cmd(
        rel_to(main, cwd),
        *COMPILE_FLAGS,
        "-l",
        rel_to(library, cwd),
        "-l",
        rel_to(modules, cwd),
        "-o",
        rel_to(out, cwd),
    )
    return cmd, cwd


def _compile(spec: CircuitSpec, tools: Toolchain, key: str, out: Path, timeout: float) -> dict[str, Any]:
    """Run circom2 into ``out`` and return the manifest."""
    inputs = key_inputs(spec, tools)
    main = out / "main.circom"
    main.write_text(inputs["main"], encoding="utf-8")
    root = tools.root
    cmd, cwd = circom_command(spec, tools, main, out)
    started = time.perf_counter()
    proc = run_tool(cmd, what=f"circom compile of {spec.label}", cwd=cwd, timeout=timeout)
    seconds = time.perf_counter() - started
    if build_key(spec, tools) != key:  # someone edited a source mid-compile: the output is of unknown sources
        raise ProverError(f"circuit sources changed while compiling {spec.label}: run again")
    info = read_r1cs_info(out / "main.r1cs")
    if info.prime != SCALAR_FIELD:
        raise ProverError(f"{spec.label}: r1cs is not over the BN254 scalar field")
    return {
        "format": MANIFEST_FORMAT,
        "key": key,
        "label": spec.label,
        "template": spec.template,
        "template_file": rel_to(resolve_template_file(spec, root), root),
        "args": list(spec.args),
        "public": list(spec.public),
        "compiler": inputs["compiler"],
        "circomlib": inputs["circomlib"],
        "snarkjs": tools.snarkjs_version,
        "flags": inputs["flags"],
        "sources": inputs["sources"],
        "r1cs": {
            "constraints": info.constraints,
            "wires": info.wires,
            "public_outputs": info.public_outputs,
            "public_inputs": info.public_inputs,
            "private_inputs": info.private_inputs,
            "labels": info.labels,
        },
        "compile_seconds": round(seconds, 3),
        "compiler_output": strip_ansi(proc.stdout).strip().splitlines()[-12:],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

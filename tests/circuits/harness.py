"""Compile circom test circuits once, cached by source hash.

``compile_circuit(name, main_source)`` writes ``main_source`` (a file declaring
``component main``) into ``.cache/zkmargin/test-circuits/<name>-<key>/`` and runs
circom2 there with ``--O2 --r1cs --wasm --sym``. ``key`` hashes the main source,
every ``.circom`` file it includes (transitively, from ``circuits/`` and circomlib)
and the compiler version, so editing a gadget recompiles only the circuits that
include it. A file lock makes concurrent test processes share one compile.

``CompiledCircuit`` gives the paths, the parsed R1CS, the symbol table and a
``WitnessCalculator`` (one node process per circuit, kept for the session).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.r1cs import R1CS, read_r1cs, read_sym
from tests.support.witness_calc import WitnessCalculator

ROOT = Path(__file__).resolve().parents[2]
CIRCUITS = ROOT / "circuits"
NODE_MODULES = ROOT / "node_modules"
CACHE = ROOT / ".cache" / "zkmargin" / "test-circuits"
CIRCOM = NODE_MODULES / ".bin" / "circom2"
_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"\s*;', re.MULTILINE)


def _resolve(name: str, including_dir: Path) -> Path:
    for base in (including_dir, CIRCUITS, NODE_MODULES):
        candidate = (base / name).resolve()
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"include {name!r} not found from {including_dir}")


def _include_closure(source: str, directory: Path) -> list[Path]:
    """Every file ``source`` includes, transitively, in a stable order."""
    seen: dict[Path, None] = {}
    stack = [(name, directory) for name in _INCLUDE.findall(source)]
    while stack:
        name, where = stack.pop()
        path = _resolve(name, where)
        if path in seen:
            continue
        seen[path] = None
        stack.extend((n, path.parent) for n in _INCLUDE.findall(path.read_text()))
    return sorted(seen)


@functools.cache
def _compiler_version() -> str:
    return json.loads((NODE_MODULES / "circom2" / "package.json").read_text())["version"]


def source_key(main_source: str) -> str:
    h = hashlib.sha256()
    h.update(_compiler_version().encode())
    h.update(main_source.encode())
    for path in _include_closure(main_source, CIRCUITS):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class CompiledCircuit:
    name: str
    directory: Path
    stats: dict[str, float | int]
    _calc: WitnessCalculator | None = field(default=None, repr=False)

    @property
    def r1cs_path(self) -> Path:
        return self.directory / f"{self.name}.r1cs"

    @property
    def sym_path(self) -> Path:
        return self.directory / f"{self.name}.sym"

    @property
    def js_dir(self) -> Path:
        return self.directory / f"{self.name}_js"

    @functools.cached_property
    def r1cs(self) -> R1CS:
        return read_r1cs(self.r1cs_path)

    @functools.cached_property
    def sym(self) -> dict[str, int]:
        return read_sym(self.sym_path)

    @property
    def n_constraints(self) -> int:
        return int(self.stats["constraints"])

    def wire(self, name: str) -> int:
        """Witness index of a signal (``main.`` prefix optional)."""
        key = name if name.startswith("main.") else f"main.{name}"
        return self.sym[key]

    @property
    def calc(self) -> WitnessCalculator:
        if self._calc is None:
            self._calc = WitnessCalculator(self.js_dir, n_public=self.stats["n_public"])  # type: ignore[arg-type]
        return self._calc

    def close(self) -> None:
        if self._calc is not None:
            self._calc.close()
            self._calc = None


_COMPILED: dict[str, CompiledCircuit] = {}


def _stats(output: str, seconds: float, directory: Path, name: str) -> dict[str, float | int]:
    def grab(label: str) -> int:
        m = re.search(rf"^{label}:\s*(\d+)", re.sub(r"\x1b\[[0-9;]*m", "", output), re.MULTILINE)
        return int(m.group(1)) if m else 0

    r1cs = read_r1cs(directory / f"{name}.r1cs")
    return {
        "constraints": len(r1cs.constraints),
        "non_linear": grab("non-linear constraints"),
        "linear": grab("linear constraints"),
        "wires": r1cs.n_wires,
        "n_public": r1cs.n_public,
        "compile_seconds": round(seconds, 1),
    }


def _prune_stale(name: str, keep: Path) -> None:
    """Remove builds of ``name`` from older sources (same name, other key)."""
    for old in CACHE.glob(f"{name}-*"):
        if old != keep and old.is_dir() and len(old.name) == len(keep.name):
            shutil.rmtree(old, ignore_errors=True)
            old.with_suffix(".lock").unlink(missing_ok=True)


def compile_circuit(name: str, main_source: str) -> CompiledCircuit:
    """Compile (or fetch from the cache) the circuit whose main file is ``main_source``."""
    key = f"{name}-{source_key(main_source)}"
    if key in _COMPILED:
        return _COMPILED[key]
    CACHE.mkdir(parents=True, exist_ok=True)
    directory = CACHE / key
    stats_file = directory / "stats.json"
    with open(CACHE / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stats_file.exists():
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{name}.circom").write_text(main_source)
            start = time.monotonic()
            proc = subprocess.run(
                [
                    str(CIRCOM),
                    str((directory / f"{name}.circom").relative_to(ROOT)),
                    "--O2",
                    "--r1cs",
                    "--wasm",
                    "--sym",
                    "-l",
                    "node_modules",
                    "-l",
                    "circuits",
                    "-o",
                    str(directory.relative_to(ROOT)),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.monotonic() - start
            if proc.returncode != 0 or "Everything went okay" not in proc.stdout:
                raise RuntimeError(f"circom failed for {name}:\n{proc.stdout}\n{proc.stderr}")
            stats_file.write_text(json.dumps(_stats(proc.stdout, seconds, directory, name), indent=1))
            _prune_stale(name, directory)
    compiled = CompiledCircuit(name, directory, json.loads(stats_file.read_text()))
    _COMPILED[key] = compiled
    return compiled


def gadget_main(template: str, args: str = "", public: tuple[str, ...] = ()) -> str:
    """Main source instantiating a gadget: ``template`` is ``"file:Template"`` for
    ``circuits/gadgets/<file>.circom``, ``args`` the template arguments."""
    file, tmpl = template.split(":")
    pub = f" {{public [{', '.join(public)}]}}" if public else ""
    return f'pragma circom 2.1.0;\ninclude "gadgets/{file}.circom";\ncomponent main{pub} = {tmpl}({args});\n'


def close_all() -> None:
    for compiled in _COMPILED.values():
        compiled.close()

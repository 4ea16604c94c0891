"""Find a powers-of-tau file big enough for a circuit.

Resolution order, first match wins:

1. an explicit path (``--ptau``), then the env var ``ZKMARGIN_PTAU``: used as given,
   an error if it is missing, unprepared or too small;
2. the development ptau folder that sits beside the checkout on the team's machines
   (``$ZKMARGIN_PTAU_DIR`` names another), files ``potN_final.ptau``, smallest ``N`` that fits, only when the file's sha256
   equals its ``.sha256`` sidecar;
3. a file generated earlier in ``<cache>/ptau/``;
4. otherwise a new one is generated there (``prover.keys.ptau_generate``).

Every single-party file (shared dev, cached or generated) is announced plainly as
"for development only".
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from engine.paths import cache_root, project_root
from prover.errors import ProverError
from prover.keys.ptau_generate import estimate_seconds, generate_ptau
from prover.toolchain.binfile import read_ptau_info
from prover.toolchain.build import file_lock
from prover.toolchain.tools import Toolchain, find_toolchain

MAX_POWER = 28
DEV_WARNING = (
    "WARNING: {path} is a single-party powers of tau ({origin}): for development only. "
    "Keys made from it are not safe for production."
)

Notify = Callable[[str], None]


@dataclass(frozen=True)
class PtauChoice:
    """A resolved ptau file."""

    path: Path
    power: int
    source: str  # explicit | env | shared | cache | generated

    @property
    def single_party(self) -> bool:
        """True for files this project or its dev set-up made (never for a user-supplied file)."""
        return self.source in ("shared", "cache", "generated")

    @property
    def sha256(self) -> str:
        """The file's sha256 (hex): the identity the keys made from it are cached under."""
        return sha256_file(self.path)


#: The environment variable naming a ptau, after ``--ptau``.
PTAU_ENV = "ZKMARGIN_PTAU"


def ptau_named(explicit: Path | None) -> bool:
    """True when the user names the ptau (``--ptau`` or ``$ZKMARGIN_PTAU``): only keys made
    from that very file may then be used."""
    return explicit is not None or bool(os.environ.get(PTAU_ENV))


class PtauTooSmall(ProverError):
    """The ptau's power cannot hold the circuit."""


def default_shared_dir() -> Path:
    env = os.environ.get("ZKMARGIN_PTAU_DIR")
    return Path(env) if env else project_root().parent / "shared" / "ptau"


def check_fits(path: Path, needed: int, source: str) -> PtauChoice:
    """Open ``path``'s header; it must be phase-2 prepared and of power >= ``needed``."""
    if not path.is_file():
        raise ProverError(f"ptau not found: {path}")
    info = read_ptau_info(path)
    if not info.prepared:
        raise ProverError(f"ptau {path} is not prepared for phase 2: run snarkjs powersoftau prepare phase2")
    if info.power < needed:
        raise PtauTooSmall(
            f"ptau {path} has power {info.power} (circuits below {2**info.power} constraints + public "
            f"signals) but this circuit needs power {needed}: use a larger ptau"
        )
    return PtauChoice(path=path, power=info.power, source=source)


_verified: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) within the process."""
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo not in _verified:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _verified[memo] = digest.hexdigest()
    return _verified[memo]


def expected_sha256(path: Path) -> str | None:
    """The hex digest recorded in ``<path>.sha256`` (``sha256sum`` format), if any."""
    side = path.with_name(path.name + ".sha256")
    try:
        words = side.read_text(encoding="utf-8").split()
    except OSError:
        return None
    return words[0].lower() if words else None


def find_shared(needed: int, shared_dir: Path, notify: Notify) -> PtauChoice | None:
    """The smallest shared ``potN_final.ptau`` with N >= needed whose sha256 checks out."""
    for power in range(needed, MAX_POWER + 1):
        path = shared_dir / f"pot{power}_final.ptau"
        if not path.is_file():
            continue
        expected = expected_sha256(path)
        if expected is None:
            notify(f"skipping {path}: no {path.name}.sha256 next to it")
            continue
        if sha256_file(path) != expected:
            notify(f"skipping {path}: sha256 does not match {path.name}.sha256")
            continue
        return check_fits(path, needed, "shared")
    return None


def local_path(power: int, cache: Path) -> Path:
    return cache / "ptau" / f"pot{power}_local.ptau"


def find_cached(needed: int, cache: Path) -> PtauChoice | None:
    """The smallest ptau generated earlier in the cache that fits."""
    for power in range(needed, MAX_POWER + 1):
        path = local_path(power, cache)
        if path.is_file():
            return check_fits(path, needed, "cache")
    return None


def _stderr_notify(message: str) -> None:
    Console(stderr=True).print(message, markup=False, highlight=False)


def resolve_ptau(
    needed: int,
    *,
    explicit: Path | None = None,
    tools: Toolchain | None = None,
    cache: Path | None = None,
    shared_dir: Path | None = None,
    generate: bool = True,
    console: Console | None = None,
    notify: Notify | None = None,
) -> PtauChoice:
    """A ptau of power >= ``needed`` (see the module docstring for the order)."""
    say = notify or _stderr_notify
    choice = _resolve(needed, explicit, tools, cache, shared_dir, generate, console, say)
    if choice.single_party:
        origin = {"shared": "shared dev file", "cache": "generated locally", "generated": "generated locally"}
        say(DEV_WARNING.format(path=choice.path.name, origin=origin[choice.source]))
    return choice


def _resolve(
    needed: int,
    explicit: Path | None,
    tools: Toolchain | None,
    cache: Path | None,
    shared_dir: Path | None,
    generate: bool,
    console: Console | None,
    say: Notify,
) -> PtauChoice:
    if explicit is not None:
        return check_fits(Path(explicit), needed, "explicit")
    env = os.environ.get(PTAU_ENV)
    if env:
        return check_fits(Path(env), needed, "env")
    shared = find_shared(needed, shared_dir or default_shared_dir(), say)
    if shared is not None:
        return shared
    base = cache or cache_root()
    with file_lock(base / "ptau" / "generate.lock"):
        cached = find_cached(needed, base)
        if cached is not None:
            return cached
        if not generate:
            raise ProverError(f"no ptau of power >= {needed} found (pass --ptau or set ZKMARGIN_PTAU)")
        say(
            f"no ptau of power >= {needed} available: generating one locally "
            f"(single-party, development only; about {estimate_seconds(needed):.0f} s)"
        )
        final = local_path(needed, base)
        generate_ptau(needed, final, tools or find_toolchain(), console)
        return PtauChoice(path=final, power=needed, source="generated")

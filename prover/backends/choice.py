"""Which Groth16 prover makes the proofs: ``--prover auto|arkworks|rapidsnark|snarkjs``.

* ``arkworks``: the native prover (:mod:`prover.backends.native`), witness from the node worker;
* ``rapidsnark``: iden3's C++ prover in a separate helper process (GPL, never linked
  here), witness from the node worker;
* ``snarkjs``: snarkjs's WebAssembly prover in the node worker (the CLI when the worker
  cannot start), the fallback that needs nothing but node;
* ``auto`` (the default): the first built of :data:`AUTO_ORDER`, fastest first as
  measured side by side on this project's machine (README figures).

Every backend makes proofs of the same key that every verifier accepts; they differ only
in speed (README figures, `bench/prover_bench.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from prover.backends.native import BACKEND as ARKWORKS
from prover.backends.native import NativeProver, native_available, native_module
from prover.backends.node_worker import NodeWorker
from prover.backends.protocol import ProvesCircuits
from prover.backends.rapidsnark import BACKEND as RAPIDSNARK
from prover.backends.rapidsnark import RapidsnarkProver, rapidsnark_available, require_rapidsnark
from prover.results import ProofResult

SNARKJS = "snarkjs"
AUTO = "auto"
BACKENDS = (AUTO, ARKWORKS, RAPIDSNARK, SNARKJS)
#: ``auto`` takes the first of these that is built (fastest first; snarkjs always is).
AUTO_ORDER = (ARKWORKS, RAPIDSNARK, SNARKJS)

_BUILT: dict[str, Callable[[], bool]] = {
    ARKWORKS: native_available,
    RAPIDSNARK: rapidsnark_available,
    SNARKJS: lambda: True,
}


def resolve_backend(name: str) -> str:
    """The backend ``name`` stands for; a named backend that is not built raises an error
    (:class:`prover.errors.ProverError`) saying how to build it."""
    if name == AUTO:
        return next(b for b in AUTO_ORDER if _BUILT[b]())
    if name == ARKWORKS:
        native_module()
    elif name == RAPIDSNARK:
        require_rapidsnark()
    elif name != SNARKJS:
        raise ValueError(f"unknown prover backend {name!r} (one of {', '.join(BACKENDS)})")
    return name


class FastProver(Protocol):
    """A backend other than snarkjs: proves with witnesses from a node worker."""

    backend: str

    def prove(self, wasm: Path, zkey: Path, circuit_input: dict[str, Any]) -> ProofResult: ...

    def stop(self) -> None: ...


def fast_prover(backend: str, worker: NodeWorker) -> FastProver:
    """The arkworks or rapidsnark prover (``backend`` resolved, not snarkjs)."""
    if backend == ARKWORKS:
        return NativeProver(worker)
    if backend == RAPIDSNARK:
        return RapidsnarkProver(worker)
    raise ValueError(f"{backend!r} is not a native backend")


def prover_for(backend: str, worker: NodeWorker) -> ProvesCircuits:
    """Something that proves with ``backend`` (resolved), using ``worker`` for witnesses
    (arkworks, rapidsnark) or for everything (snarkjs)."""
    resolved = resolve_backend(backend)
    return worker if resolved == SNARKJS else fast_prover(resolved, worker)

"""Which Groth16 prover makes the proofs: ``--prover auto|arkworks|snarkjs``.

* ``arkworks``: the native prover (:mod:`prover.native`), witness from the node worker;
* ``snarkjs``: snarkjs's WebAssembly prover in the node worker (the CLI when the worker
  cannot start), the fallback that needs nothing but node;
* ``auto`` (the default): arkworks when the native module is built, else snarkjs.

Every backend makes proofs of the same key that every verifier accepts; they differ only
in speed (README, bench/prover_backends.py).
"""

from __future__ import annotations

from prover.native import BACKEND as ARKWORKS
from prover.native import NativeProver, native_available, native_module
from prover.node_worker import NodeWorker
from prover.prove_account import ProvesCircuits

SNARKJS = "snarkjs"
AUTO = "auto"
BACKENDS = (AUTO, ARKWORKS, SNARKJS)


def resolve_backend(name: str) -> str:
    """The backend ``name`` stands for; ``arkworks`` without the native module raises
    :class:`prover.native.NativeMissing` saying how to build it."""
    if name == AUTO:
        return ARKWORKS if native_available() else SNARKJS
    if name == ARKWORKS:
        native_module()
        return ARKWORKS
    if name == SNARKJS:
        return SNARKJS
    raise ValueError(f"unknown prover backend {name!r} (one of {', '.join(BACKENDS)})")


def prover_for(backend: str, worker: NodeWorker) -> ProvesCircuits:
    """Something that proves with ``backend`` (resolved), using ``worker`` for witnesses
    (arkworks) or for everything (snarkjs)."""
    resolved = resolve_backend(backend)
    return NativeProver(worker) if resolved == ARKWORKS else worker

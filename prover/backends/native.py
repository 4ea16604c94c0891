"""The native Groth16 backend: arkworks (crate ``native/``, module ``zkmargin_native``).

The witness is still computed by circom's WebAssembly witness program in the node worker
(it is a small share of the time: about 5 % of a standard proof); the proof itself is made
by arkworks in this process, from the snarkjs proving key loaded once per key file and
kept for every later proof (no zkey re-read). arkworks spreads each proof over every
core (rayon) and releases the GIL while it works. Each new proof is checked against the
key's own verification key in the same call (one pairing product, milliseconds), so the
callers' py_ecc check of a new proof (``prover.verification.new_proof``) is not repeated.

The proofs are snarkjs's: the same key, snarkjs's witness map (``native/core/src/qap.rs``), the
JSON shape of snarkjs's ``proof.json``; snarkjs, the pure-Python verifier and the gate
accept them unchanged (tests/prover/test_native.py).

Licences: arkworks is MIT/Apache-2.0, linked into this process; snarkjs
(GPL-3.0) stays a separate node process, as before.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from prover.backends.node_worker import NodeWorker
from prover.errors import ProverError
from prover.results import ProofResult

BACKEND = "arkworks"


class NativeMissing(ProverError):
    """The native module is not built in this environment."""


def native_module() -> Any:
    """The ``zkmargin_native`` extension, or :class:`NativeMissing` saying how to build it."""
    try:
        import zkmargin_native
    except ImportError:
        raise NativeMissing(
            "the native prover (arkworks) is not built: run `make setup` (it needs Rust's cargo "
            ">= 1.80: `apt install cargo` or rustup), or choose --prover snarkjs"
        ) from None
    return zkmargin_native


def native_available() -> bool:
    try:
        native_module()
    except NativeMissing:
        return False
    return True


_keys: dict[tuple[str, int, int], Any] = {}
_keys_lock = threading.Lock()


def proving_key(zkey: Path) -> Any:
    """The loaded proving key of ``zkey`` (read once per file version, shared by threads)."""
    try:
        stat = zkey.stat()
    except OSError as exc:
        raise ProverError(f"the native prover cannot load {zkey}: {exc.strerror}") from None
    cache_key = (str(zkey.resolve()), stat.st_mtime_ns, stat.st_size)
    with _keys_lock:
        key = _keys.get(cache_key)
        if key is None:
            try:
                key = native_module().Groth16Prover(str(zkey))
            except (OSError, ValueError) as exc:
                raise ProverError(f"the native prover cannot load {zkey}: {exc}") from None
            for old in [k for k in _keys if k[0] == cache_key[0]]:
                del _keys[old]  # a rebuilt key replaces the old one
            _keys[cache_key] = key
        return key


class NativeProver:
    """Proves with arkworks; witnesses come from a node worker (started on first use)."""

    backend = BACKEND

    def __init__(self, worker: NodeWorker) -> None:
        native_module()  # fail now, with the message, if the module is missing
        self.worker = worker

    def prove(self, wasm: Path, zkey: Path, circuit_input: dict[str, Any]) -> ProofResult:
        key = proving_key(zkey)
        with self.worker.witness_file(wasm, circuit_input) as (wtns, witness_seconds):
            data = wtns.read_bytes()
        try:
            out = key.prove_wtns(data)
        except ValueError as exc:
            raise ProverError(f"native proof failed: {exc}") from None
        if not out["verified"]:
            raise ProverError(
                "the new proof does not verify against its key: the witness breaks a constraint "
                "of the circuit (a witness program and key of different builds?)"
            )
        return ProofResult(
            proof=dict(out["proof"]),
            public_signals=[str(s) for s in out["public_signals"]],
            witness_seconds=witness_seconds,
            prove_seconds=float(out["seconds"]),
            backend=BACKEND,
            key_verified=True,
        )

    def stop(self) -> None:
        self.worker.stop()

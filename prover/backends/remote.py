"""Proving on Dask workers: a worker plugin that keeps the circuit loaded, and the task.

The keeper's head builds each batch's circuit input (``prover.statements.prove_batch.prepare_batch``)
and sends only that to a worker; the worker returns the proof. What a proof needs besides
the input (the circuit's witness program and its proving key) is loaded once per worker
process by :class:`ProvingPlugin`, when the plugin is registered or the worker (re)starts,
and kept for every later task:

* the plugin carries the two files' bytes with their sha256, so a worker on another
  machine needs no shared folder and no copy of the build cache; it writes them into its
  own local directory, checks the digests and starts its prover (a node process for the
  witness, plus the native proving key loaded into memory for arkworks);
* ``threads`` caps arkworks' threads per worker (``RAYON_NUM_THREADS``, read when its
  thread pool first starts), so N single-threaded workers on N cores do not fight over
  them; 0 leaves the default (every core).

:func:`prove_on_worker` is the task: it proves one input with the worker's loaded prover
and says which worker made the proof and how long it took.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed import Worker, WorkerPlugin, get_worker

from prover.backends.choice import SNARKJS, prover_for, resolve_backend
from prover.backends.native import BACKEND as ARKWORKS
from prover.backends.node_worker import NodeWorker
from prover.backends.protocol import ProvesCircuits
from prover.errors import ProverError
from prover.results import ProofResult

PLUGIN_NAME = "zkmargin-prover"


@dataclass(frozen=True)
class RemoteProof:
    """A proof made on a worker: the result, the worker's address, its wall time."""

    result: ProofResult
    worker: str
    seconds: float


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ProvingPlugin(WorkerPlugin):
    """Loads one circuit's witness program and proving key on each worker, once."""

    name = PLUGIN_NAME

    def __init__(self, wasm: Path, zkey: Path, backend: str, *, threads: int = 0) -> None:
        self.backend = resolve_backend(backend)  # a backend the head cannot name fails here
        self.wasm_bytes = Path(wasm).read_bytes()
        self.zkey_bytes = Path(zkey).read_bytes()
        self.wasm_sha256 = _sha256(self.wasm_bytes)
        self.zkey_sha256 = _sha256(self.zkey_bytes)
        self.threads = threads
        self._node: NodeWorker | None = None
        self.prover: ProvesCircuits | None = None
        self.wasm: Path | None = None
        self.zkey: Path | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_node=None, prover=None, wasm=None, zkey=None)  # a worker's own, never sent
        return state

    def setup(self, worker: Worker) -> None:
        if self.threads > 0:
            os.environ["RAYON_NUM_THREADS"] = str(self.threads)
        folder = Path(worker.local_directory) / "zkmargin-circuit"
        folder.mkdir(parents=True, exist_ok=True)
        self.wasm = self._write(folder / f"{self.wasm_sha256[:16]}.wasm", self.wasm_bytes, self.wasm_sha256)
        self.zkey = self._write(folder / f"{self.zkey_sha256[:16]}.zkey", self.zkey_bytes, self.zkey_sha256)
        self.wasm_bytes = self.zkey_bytes = b""  # on disk now; the worker keeps no second copy
        self._node = NodeWorker(witness_only=resolve_backend(self.backend) != SNARKJS).start()
        self.prover = prover_for(self.backend, self._node)
        self._warm()

    @staticmethod
    def _write(path: Path, data: bytes, digest: str) -> Path:
        if not (path.is_file() and _sha256(path.read_bytes()) == digest):
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        if _sha256(path.read_bytes()) != digest:
            raise ProverError(f"the circuit file written to {path} does not match its sha256 {digest}")
        return path

    def _warm(self) -> None:
        """Load the proving key now, not in the first task (arkworks keeps it per file)."""
        if self.backend == ARKWORKS:
            from prover.backends.native import proving_key

            assert self.zkey is not None
            proving_key(self.zkey)

    def teardown(self, worker: Worker) -> None:
        stop = getattr(self.prover, "stop", None)
        if stop is not None:
            stop()
        if self._node is not None:
            self._node.stop()

    def prove(self, circuit_input: dict[str, Any]) -> ProofResult:
        if self.prover is None or self.wasm is None or self.zkey is None:
            raise ProverError("the prover plugin of this worker is not set up")
        return self.prover.prove(self.wasm, self.zkey, circuit_input)


def prove_on_worker(circuit_input: dict[str, Any], zkey_sha256: str) -> RemoteProof:
    """The Dask task: prove ``circuit_input`` with this worker's loaded circuit, which must
    be the key ``zkey_sha256`` (a worker set up for another circuit refuses)."""
    worker = get_worker()
    plugin = worker.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, ProvingPlugin):
        raise ProverError(f"worker {worker.address} has no zkmargin prover plugin")
    if plugin.zkey_sha256 != zkey_sha256:
        raise ProverError(
            f"worker {worker.address} holds proving key {plugin.zkey_sha256[:12]}, "
            f"the task needs {zkey_sha256[:12]}"
        )
    started = time.perf_counter()
    result = plugin.prove(circuit_input)
    return RemoteProof(result, worker.address, time.perf_counter() - started)

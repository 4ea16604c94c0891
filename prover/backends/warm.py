"""Warm-up: what a first proof would wait for, started in the background while the caller
still reads its input files.

A one-shot command (``zkmargin prove``) pays every start-up once: node and the circuit's
WebAssembly (the witness), the proving key (0.3-0.7 s for the standard profile's 72 MB
zkey, read by arkworks outside the GIL, or by snarkjs in the worker). :class:`Warmup`
starts them in threads as soon as the key files are known, and the proof later finds
them ready (the worker is the one the :class:`prover.backends.prove.Prover` is given;
the native key is in :func:`prover.backends.native.proving_key`'s cache).

It changes nothing but the time: a warm-up that fails is forgotten, and the proof then
starts (and reports) the same things itself, as without it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from prover.backends.native import BACKEND as ARKWORKS
from prover.backends.node_worker import NodeWorker

SNARKJS = "snarkjs"


class Warmup:
    """Starts ``worker`` (and its wasm and, for snarkjs, zkey) and, for arkworks, loads the
    native proving key, each in a daemon thread; :meth:`wait` joins them."""

    def __init__(self, backend: str, wasm: Path, zkey: Path, worker: NodeWorker | None) -> None:
        self.worker = worker
        self._threads: list[threading.Thread] = []
        if worker is not None:
            self._spawn(lambda: worker.load(wasm, zkey if backend == SNARKJS else None))
        if backend == ARKWORKS:
            from prover.backends.native import proving_key

            self._spawn(lambda: proving_key(zkey))

    def _spawn(self, job: Callable[[], object]) -> None:
        def run() -> None:
            with contextlib.suppress(Exception):  # the proof does it again, and reports
                job()

        thread = threading.Thread(target=run, name="zkmargin-warmup", daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait(self) -> None:
        """Until every warm-up job has ended (done or failed)."""
        for thread in self._threads:
            thread.join()

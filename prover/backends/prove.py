"""One entry point for proving: arkworks or snarkjs (``prover.backends.choice``); snarkjs in the
node worker when it runs, else the snarkjs CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prover.backends.choice import AUTO, SNARKJS, fast_prover, resolve_backend
from prover.backends.node_worker import NodeWorker, WorkerStartError
from prover.backends.snarkjs_cli import cli_prove, cli_verify
from prover.results import ProofResult
from prover.toolchain.tools import Toolchain, find_toolchain


class Prover:
    """Proves with ``backend`` (``auto``: arkworks when built, else snarkjs). snarkjs runs in
    a long-lived :class:`NodeWorker` and falls back to the CLI if it cannot start; arkworks
    takes its witnesses from the worker.

    Use as a context manager (the worker is stopped on exit). ``backend`` tells which
    one is in use: ``"arkworks"``, ``"worker"`` (snarkjs) or ``"cli"`` (snarkjs).
    """

    def __init__(
        self,
        tools: Toolchain | None = None,
        *,
        use_worker: bool = True,
        worker: NodeWorker | None = None,
        notify: Callable[[str], None] | None = None,
        backend: str = AUTO,
    ) -> None:
        self.tools = tools or find_toolchain()
        chosen = resolve_backend(backend) if use_worker else SNARKJS
        self._worker = (
            worker
            if worker is not None
            else (NodeWorker(self.tools, witness_only=chosen != SNARKJS) if use_worker else None)
        )
        self._fast = (
            fast_prover(chosen, self._worker) if chosen != SNARKJS and self._worker is not None else None
        )
        self._notify = notify
        if self._fast is not None:
            self.backend = self._fast.backend
        else:
            self.backend = "worker" if self._worker is not None else "cli"

    def _live_worker(self) -> NodeWorker | None:
        if self._worker is None:
            return None
        try:
            return self._worker.start()
        except WorkerStartError as exc:
            if self._notify:
                self._notify(f"{exc}; falling back to the snarkjs CLI (slower)")
            self._worker = None
            self.backend = "cli"
            return None

    def prove(self, wasm: Path, zkey: Path, circuit_input: dict[str, Any]) -> ProofResult:
        if self._fast is not None:
            return self._fast.prove(wasm, zkey, circuit_input)
        worker = self._live_worker()
        if worker is not None:
            return worker.prove(wasm, zkey, circuit_input)
        return cli_prove(wasm, zkey, circuit_input, tools=self.tools)

    def verify(self, vkey: Path, public_signals: list[str], proof: dict[str, Any]) -> bool:
        """snarkjs verification (worker or CLI); see ``prover.verification.verify_py`` for the pure-Python one."""
        worker = self._live_worker()
        if worker is not None:
            return worker.verify(vkey, public_signals, proof)
        return cli_verify(vkey, public_signals, proof, tools=self.tools)

    def close(self) -> None:
        if self._fast is not None:
            self._fast.stop()
        elif self._worker is not None:
            self._worker.stop()

    def __enter__(self) -> Prover:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

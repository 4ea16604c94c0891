"""One entry point for proving: the node worker when it runs, else the snarkjs CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prover.node_worker import NodeWorker, WorkerStartError
from prover.results import ProofResult
from prover.snarkjs_cli import cli_prove, cli_verify
from prover.toolchain import Toolchain, find_toolchain


class Prover:
    """Proves with a long-lived :class:`NodeWorker`; falls back to the CLI if it cannot start.

    Use as a context manager (the worker is stopped on exit). ``backend`` tells which
    one is in use: ``"worker"`` or ``"cli"``.
    """

    def __init__(
        self,
        tools: Toolchain | None = None,
        *,
        use_worker: bool = True,
        worker: NodeWorker | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.tools = tools or find_toolchain()
        self._worker = worker if worker is not None else (NodeWorker(self.tools) if use_worker else None)
        self._notify = notify
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
        worker = self._live_worker()
        if worker is not None:
            return worker.prove(wasm, zkey, circuit_input)
        return cli_prove(wasm, zkey, circuit_input, tools=self.tools)

    def verify(self, vkey: Path, public_signals: list[str], proof: dict[str, Any]) -> bool:
        """snarkjs verification (worker or CLI); see ``prover.verify_py`` for the pure-Python one."""
        worker = self._live_worker()
        if worker is not None:
            return worker.verify(vkey, public_signals, proof)
        return cli_verify(vkey, public_signals, proof, tools=self.tools)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()

    def __enter__(self) -> Prover:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

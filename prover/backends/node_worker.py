"""Python side of ``prover/backends/worker.js``: a long-lived node process serving snarkjs.

Start-up of node + snarkjs dominates a small proof, so one process is kept and
fed JSON-lines requests (witness, prove, verify). Each request has a timeout; on
timeout or a crash the process is killed and a :class:`ProverError` says why,
with the tail of the worker's stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prover.errors import ProverError
from prover.results import ProofResult
from prover.toolchain.tools import Toolchain, find_toolchain

WORKER_JS = Path(__file__).with_name("worker.js")
DEFAULT_START_TIMEOUT = 60.0
DEFAULT_REQUEST_TIMEOUT = 1800.0


class WorkerStartError(ProverError):
    """The worker process could not be started (callers may fall back to the CLI)."""


class WorkerTimeout(ProverError):
    """A request took longer than its timeout; the worker was stopped."""


#: V8's baseline WebAssembly compiler only, for a worker that only computes witnesses (the
#: arkworks and rapidsnark backends). Without it V8 recompiles a large witness program with
#: its optimising compiler in background threads during the first seconds of the process,
#: and on two cores that takes a core from the proof that follows: a one-shot standard-
#: profile proof took 2.1-2.2 s instead of 1.3 s (docs/prover.md). A warm witness is about
#: 10 % slower without the optimising compiler (0.25 s against 0.22 s, standard profile).
#: snarkjs proves in WebAssembly too, so its worker keeps the optimising compiler.
LIFTOFF_ONLY = "--liftoff-only"


class NodeWorker:
    """One node process running ``worker.js``; use as a context manager or call start/stop."""

    def __init__(
        self,
        tools: Toolchain | None = None,
        *,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        script: Path = WORKER_JS,
        witness_only: bool = False,
    ) -> None:
        self._tools = tools
        self.witness_only = witness_only
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        self.script = script
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=40)
        self._lock = threading.Lock()
        self._next_id = 0

    # -- life cycle -------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> NodeWorker:
        """Launch node and wait for the worker's ready line."""
        if self.alive:
            return self
        try:
            tools = self._tools or find_toolchain()
            cmd = self._command(tools)
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
                cwd=tools.root,
            )
        except (OSError, ProverError) as exc:
            raise WorkerStartError(f"prover worker cannot start: {exc}") from None
        self._lines = queue.Queue()  # a fresh queue: a killed worker's reader cannot write into it
        threading.Thread(target=self._pump_stdout, args=(self._proc, self._lines), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(self._proc,), daemon=True).start()
        try:
            first = self._next_message(self.start_timeout)
        except ProverError as exc:
            self._kill()
            raise WorkerStartError(f"prover worker cannot start: {exc}") from None
        if first.get("event") != "ready":
            self._kill()
            raise WorkerStartError(f"prover worker sent {first!r} instead of ready")
        return self

    def _command(self, tools: Toolchain) -> list[str]:
        """The process to run (a subclass runs another helper with the same protocol)."""
        flags = [LIFTOFF_ONLY] if self.witness_only else []
        return [str(tools.node), *flags, str(self.script), str(tools.node_modules)]

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout``."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(json.dumps({"id": -1, "op": "shutdown"}) + "\n")
                proc.stdin.flush()
                proc.stdin.close()
                proc.wait(timeout=timeout)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self._kill()
        self._proc = None

    def __enter__(self) -> NodeWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdin is not None and not proc.stdin.closed:
                with contextlib.suppress(OSError):  # the pipe broke with the process
                    proc.stdin.close()
        self._proc = None

    # -- plumbing ---------------------------------------------------------
    @staticmethod
    def _pump_stdout(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        with proc.stdout:  # closed at EOF: the worker exited
            for line in proc.stdout:
                lines.put(line)
        lines.put(None)

    def _pump_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for line in proc.stderr:
                if line.strip():
                    self._stderr.append(line.rstrip())

    def stderr_tail(self, lines: int = 8) -> str:
        return " | ".join(list(self._stderr)[-lines:])

    def _next_message(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise WorkerTimeout(f"prover worker gave no answer within {timeout:g} s") from None
        if line is None:
            raise ProverError(f"prover worker exited: {self.stderr_tail() or 'no output'}")
        try:
            message = json.loads(line)
        except ValueError:
            raise ProverError(f"prover worker wrote a non-JSON line: {line[:200]!r}") from None
        if not isinstance(message, dict):
            raise ProverError(f"prover worker wrote {line[:200]!r}")
        return message

    def call(self, op: str, timeout: float | None = None, **payload: Any) -> dict[str, Any]:
        """Send one request and return its result; raise ProverError on error or timeout."""
        with self._lock:
            if not self.alive:
                self.start()
            proc = self._proc
            assert proc is not None and proc.stdin is not None
            self._next_id += 1
            rid = self._next_id
            try:
                proc.stdin.write(json.dumps({"id": rid, "op": op, **payload}) + "\n")
                proc.stdin.flush()
            except OSError:
                self._kill()
                raise ProverError(f"prover worker died: {self.stderr_tail()}") from None
            limit = self.request_timeout if timeout is None else timeout
            while True:
                try:
                    reply = self._next_message(limit)
                except WorkerTimeout:
                    self._kill()
                    raise WorkerTimeout(
                        f"prover worker: {op} timed out after {limit:g} s; worker stopped"
                    ) from None
                except ProverError:
                    self._kill()
                    raise
                if reply.get("id") == rid:
                    break
        if not reply.get("ok"):
            raise ProverError(f"{op} failed: {str(reply.get('error', 'unknown error')).strip()}")
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    # -- operations -------------------------------------------------------
    def ping(self) -> dict[str, Any]:
        return self.call("ping", timeout=30)

    def load(self, wasm: Path, zkey: Path | None = None) -> float:
        """Compile ``wasm`` (and read ``zkey``) now, so that a first proof does not wait for
        it; returns seconds taken."""
        payload: dict[str, Any] = {"wasm": str(wasm)}
        if zkey is not None:
            payload["zkey"] = str(zkey)
        return float(self.call("load", **payload)["load_ms"]) / 1000

    def witness(self, wasm: Path, circuit_input: dict[str, Any], wtns: Path | None = None) -> float:
        """Compute a witness (optionally saved to ``wtns``); returns seconds taken."""
        payload: dict[str, Any] = {"wasm": str(wasm), "input": circuit_input}
        if wtns is not None:
            payload["wtns"] = str(wtns)
        return float(self.call("witness", **payload)["witness_ms"]) / 1000

    @contextlib.contextmanager
    def witness_file(self, wasm: Path, circuit_input: dict[str, Any]) -> Iterator[tuple[Path, float]]:
        """The witness of ``circuit_input`` in a temporary ``.wtns`` file (for a native
        prover), with the seconds it took; the file is removed afterwards."""
        path = Path(tempfile.gettempdir()) / f"zkmargin-{os.getpid()}-{threading.get_ident()}.wtns"
        try:
            yield path, self.start().witness(wasm, circuit_input, path)
        finally:
            path.unlink(missing_ok=True)

    def prove(self, wasm: Path, zkey: Path, circuit_input: dict[str, Any]) -> ProofResult:
        """Witness + Groth16 proof in the worker."""
        result = self.call("prove", wasm=str(wasm), zkey=str(zkey), input=circuit_input)
        return ProofResult(
            proof=result["proof"],
            public_signals=[str(s) for s in result["publicSignals"]],
            witness_seconds=float(result["witness_ms"]) / 1000,
            prove_seconds=float(result["prove_ms"]) / 1000,
            backend="worker",
        )

    def verify(self, vkey: dict[str, Any] | Path, public_signals: list[str], proof: dict[str, Any]) -> bool:
        """snarkjs's own Groth16 verification."""
        key: Any = str(vkey) if isinstance(vkey, Path) else vkey
        result = self.call("verify", vkey=key, publicSignals=public_signals, proof=proof)
        return bool(result["valid"])

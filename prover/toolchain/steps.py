"""Run a sequence of long tool invocations with a live progress display.

Each step streams the tool's output: the latest line is shown next to a spinner
and elapsed time (snarkjs ``-v`` prints its fft / section progress), and the tail
is kept for the error message if the step fails. Without a console nothing is
displayed.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from prover.errors import ProverError
from prover.toolchain.tools import strip_ansi


def stream(
    cmd: Sequence[str], cwd: str, on_line: Callable[[str], None], timeout: float | None
) -> tuple[int, list[str]]:
    """Run ``cmd`` (stderr merged into stdout), feeding each line to ``on_line``; return exit code and tail."""
    tail: deque[str] = deque(maxlen=20)
    try:
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
    except OSError as exc:
        raise ProverError(f"{cmd[0]}: cannot run ({exc.strerror})") from None

    def pump() -> None:
        assert proc.stdout is not None
        with proc.stdout:  # closed at EOF
            for raw in proc.stdout:
                line = strip_ansi(raw).strip()
                if line:
                    tail.append(line)
                    on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise ProverError(f"timed out after {timeout:g} s: {' '.join(cmd[:4])} ...") from None
    reader.join(timeout=5)
    return code, list(tail)


class StepRunner:
    """Context manager: ``runner.run(name, cmd)`` for each step, shown under one overall bar."""

    def __init__(
        self, title: str, total_weight: float, console: Console | None, cwd: str, timeout: float | None = None
    ) -> None:
        self.cwd = cwd
        self.timeout = timeout
        self.seconds: dict[str, float] = {}
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[detail]}"),
            console=console or Console(stderr=True),
            disable=console is None,
        )
        self._overall = self._progress.add_task(title, total=total_weight, detail="")

    def __enter__(self) -> StepRunner:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def run(self, name: str, cmd: Sequence[str], weight: float = 1.0) -> float:
        """Run one step to completion; raise ProverError (with the output tail) if it fails."""
        task = self._progress.add_task(f"  {name}", total=None, detail="")

        def show(line: str, task_id: TaskID = task) -> None:
            self._progress.update(task_id, detail=line[-70:])

        started = time.perf_counter()
        try:
            code, tail = stream(cmd, self.cwd, show, self.timeout)
        except ProverError as exc:
            raise ProverError(f"{name}: {exc}") from None
        seconds = round(time.perf_counter() - started, 3)
        if code != 0 or any("[ERROR]" in line for line in tail):
            raise ProverError(f"{name} failed (exit {code}): " + " | ".join(tail[-6:]))
        self.seconds[name] = seconds
        self._progress.update(task, total=1.0, completed=1.0, detail=f"done in {seconds:.1f} s")
        self._progress.advance(self._overall, weight)
        return seconds

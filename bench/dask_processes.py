"""A Dask scheduler and N workers started as separate processes on loopback, the way an
operator starts them on machines of their own (docs/operator.md): ``dask scheduler`` and
``dask worker tcp://HOST:PORT``. Used by the crash drill and the cluster tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from verifier_contracts.chain import free_port


@contextmanager
def dask_processes(folder: Path, workers: int, *, prover_threads: int = 1) -> Iterator[str]:
    """Start the scheduler and ``workers`` single-threaded workers (each with arkworks
    capped at ``prover_threads`` threads), logs in ``folder``; yields the scheduler address
    and stops every process by its pid at the end."""
    dask = str(Path(sys.executable).with_name("dask"))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    folder.mkdir(parents=True, exist_ok=True)
    commands = [[dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]]
    commands += [
        [dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny", "--name", f"w{n}"]
        for n in range(workers)
    ]
    env = {**os.environ, "RAYON_NUM_THREADS": str(prover_threads)}
    procs: list[subprocess.Popen[bytes]] = []
    with ExitStack() as files:
        try:
            for n, command in enumerate(commands):
                log = files.enter_context((folder / f"dask-{n}.log").open("wb"))
                procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
            yield address
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

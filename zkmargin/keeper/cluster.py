"""Where the keeper's proofs are made: a Dask cluster (PyPI ``distributed``).

``--cluster local`` (the default) starts a :class:`distributed.LocalCluster` of N worker
processes, one task at a time each, on this machine; ``--cluster tcp://HOST:8786`` joins a
scheduler started with ``dask scheduler``, whose workers (``dask worker tcp://HOST:8786``,
on any machine) come and go as they like (docs/operator.md). The keeper's head never proves:
it only sends circuit inputs to the workers the scheduler knows, one per free thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from engine.errors import ZkmarginError

LOCAL = "local"
#: How long a cached worker list is used before the scheduler is asked again (seconds).
WORKERS_TTL = 0.5
CONNECT_TIMEOUT = 30.0


class ClusterError(ZkmarginError):
    """The cluster cannot be started or reached; the message says which and why."""


def parse_cluster(text: str) -> str:
    """``local`` or a scheduler address ``tcp://HOST:PORT``; anything else is refused."""
    value = text.strip()
    if value == LOCAL:
        return value
    if value.startswith("tcp://"):
        host, _, port = value[len("tcp://") :].rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return value
    raise ClusterError(f"--cluster must be 'local' or a scheduler address tcp://HOST:PORT, got {text!r}")


@dataclass(frozen=True)
class WorkerInfo:
    address: str
    threads: int
    name: Any


class ProvingCluster:
    """A Dask client on a local cluster it owns, or on a scheduler it joins."""

    def __init__(self, address: str = LOCAL, workers: int = 1) -> None:
        self.address = parse_cluster(address)
        if workers < 1:
            raise ClusterError("a local cluster needs at least one worker")
        self.local_workers = workers
        self._cluster: Any = None
        self.client: Any = None
        self._workers: dict[str, WorkerInfo] = {}
        self._workers_at = 0.0

    @property
    def is_local(self) -> bool:
        return self.address == LOCAL

    def start(self) -> ProvingCluster:
        from distributed import Client, LocalCluster

        try:
            if self.is_local:
                self._cluster = LocalCluster(
                    n_workers=self.local_workers,
                    threads_per_worker=1,  # one proof at a time per worker process
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.WARNING,
                )
                self.client = Client(self._cluster)
            else:
                self.client = Client(self.address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        return self

    def workers(self, *, fresh: bool = False) -> dict[str, WorkerInfo]:
        """The workers the scheduler knows now (cached for :data:`WORKERS_TTL` seconds)."""
        if fresh or time.monotonic() - self._workers_at > WORKERS_TTL:
            info = self.client.scheduler_info(n_workers=-1)
            self._workers = {
                addr: WorkerInfo(addr, int(w.get("nthreads", 1)), w.get("name"))
                for addr, w in info.get("workers", {}).items()
            }
            self._workers_at = time.monotonic()
        return self._workers

    def worker_pids(self) -> dict[str, int]:
        """Each worker's process id (asked of the workers themselves), for operators and drills."""
        return {str(a): int(pid) for a, pid in self.client.run(os.getpid).items()}

    def close(self) -> None:
        for thing in (self.client, self._cluster):
            if thing is not None:
                with contextlib.suppress(Exception):  # a cluster that is already gone
                    thing.close()
        self.client = self._cluster = None

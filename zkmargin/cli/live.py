"""``operator run`` on a terminal: the keeper's progress table (jobs by state, proofs/s,
workers, ETA) redrawn every second under the log lines, read from the job log."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zkmargin.cli.render import err_console, progress_table
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.states import JOB_STATES
from zkmargin.keeper.status import progress_data


@contextmanager
def live_progress(db: Path, enabled: bool) -> Iterator[None]:
    """While the keeper runs on a terminal: the progress table, redrawn every second from
    the job log (its own read-only connection), under the log lines."""
    if not enabled:
        yield
        return
    from rich.live import Live

    def table() -> Any:
        try:
            log = JobLog(db, read_only=True)
        except Exception:  # not created yet
            return progress_table(
                {"jobs": {}, "proofs_per_second": 0.0, "workers": [], "eta_seconds": None}, JOB_STATES
            )
        try:
            return progress_table(progress_data(log), JOB_STATES)
        finally:
            log.close()

    with Live(table(), console=err_console, refresh_per_second=1, transient=False) as live:
        stop = threading.Event()

        def redraw() -> None:
            while not stop.wait(1.0):
                live.update(table())

        thread = threading.Thread(target=redraw, name="live-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)
            live.update(table())

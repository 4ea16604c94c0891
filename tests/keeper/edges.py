"""Every state change a keeper test makes, recorded by SQLite triggers, whatever SQL made it.

Each writable job log opened while a test runs gets two TEMP triggers (they live in the
connection only; nothing is written to the file's schema) that note ``(table, old state,
new state)`` of every UPDATE touching ``state``; :meth:`EdgeRecorder.outside_tables` lists
those not in :data:`zkmargin.keeper.states.JOB_TRANSITIONS` / ``SNAPSHOT_TRANSITIONS``.
"""

from __future__ import annotations

from typing import Any

import pytest

from zkmargin.keeper.log_db import LogDatabase
from zkmargin.keeper.states import JOB_TRANSITIONS, SNAPSHOT_TRANSITIONS

_RECORDING = (
    "CREATE TEMP TABLE IF NOT EXISTS state_edges (tbl TEXT, old TEXT, new TEXT)",
    "CREATE TEMP TRIGGER IF NOT EXISTS job_state_edges AFTER UPDATE OF state ON main.jobs "
    "BEGIN INSERT INTO state_edges VALUES ('jobs', OLD.state, NEW.state); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS snapshot_state_edges AFTER UPDATE OF state ON main.snapshots "
    "BEGIN INSERT INTO state_edges VALUES ('snapshots', OLD.state, NEW.state); END",
)
TABLES = {"jobs": JOB_TRANSITIONS, "snapshots": SNAPSHOT_TRANSITIONS}


class EdgeRecorder:
    """The edges taken through every writable :class:`LogDatabase` opened while installed."""

    def __init__(self) -> None:
        self.taken: set[tuple[str, str, str]] = set()
        self._open: list[LogDatabase] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> EdgeRecorder:
        real_init, real_close = LogDatabase.__init__, LogDatabase.close

        def init(db: LogDatabase, *args: Any, **kwargs: Any) -> None:
            real_init(db, *args, **kwargs)
            if not db.read_only:
                for statement in _RECORDING:
                    db.read(statement)
                self._open.append(db)

        def close(db: LogDatabase) -> None:
            self._collect(db)
            real_close(db)

        monkeypatch.setattr(LogDatabase, "__init__", init)
        monkeypatch.setattr(LogDatabase, "close", close)
        return self

    def _collect(self, db: LogDatabase) -> None:
        if db in self._open:
            self._open.remove(db)
            self.taken |= {tuple(r) for r in db.read("SELECT tbl, old, new FROM temp.state_edges")}

    def edges(self) -> set[tuple[str, str, str]]:
        """Every edge taken so far (logs still open included)."""
        for db in list(self._open):
            self.taken |= {tuple(r) for r in db.read("SELECT tbl, old, new FROM temp.state_edges")}
        return set(self.taken)

    def outside_tables(self) -> list[tuple[str, str, str]]:
        return sorted(e for e in self.edges() if (e[1], e[2]) not in TABLES[e[0]])

    def forget(self) -> None:
        self.taken.clear()
        for db in self._open:
            db.read("DELETE FROM temp.state_edges")

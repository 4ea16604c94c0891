"""The job and snapshot states are declared once, as tables, and every state change of the
job log goes through them (``zkmargin/keeper/states.py``).

Three checks: the source (no SQL anywhere in ``zkmargin`` updates a job's or a snapshot's
row but the stores' one ``_move`` each, which checks the table); the stores (each public
method, driven here, takes exactly the edges it says, all in the tables; an edge the table
lacks raises and writes nothing); and every keeper test (``conftest.state_edges`` records
every state change any SQL makes and fails a test that took an edge the tables lack).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.batch_statement import BatchEntry
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.states import (
    FIRST_JOB_STATE,
    FIRST_SNAPSHOT_STATE,
    JOB_STATES,
    JOB_TRANSITIONS,
    SNAPSHOT_STATES,
    SNAPSHOT_TRANSITIONS,
    TransitionError,
)

from .edges import EdgeRecorder

ROOT = Path(__file__).resolve().parents[2]
_WRITES = re.compile(r"\b(UPDATE|REPLACE\s+INTO|INSERT\s+OR\s+REPLACE\s+INTO)\s+(jobs|snapshots)\b", re.I)


def _sql_writes(path: Path) -> list[tuple[str, str, str]]:
    """(statement kind, table, enclosing Class.function) of every SQL text in ``path`` that
    updates or replaces a row of ``jobs`` or ``snapshots``."""
    found: list[tuple[str, str, str]] = []

    def visit(node: ast.AST, where: tuple[str, ...]) -> None:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            where = (*where, node.name)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for m in _WRITES.finditer(node.value):
                found.append((m.group(1).split()[0].upper(), m.group(2).lower(), ".".join(where)))
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(ast.parse(path.read_text(encoding="utf-8")), ())
    return found


def test_only_the_stores_move_a_state() -> None:
    """Every UPDATE of a job or snapshot row in zkmargin is the store's ``_move`` (which
    checks the table); nothing REPLACEs a row. Add an UPDATE elsewhere and this fails."""
    writes = {
        (kind, table, f"{path.relative_to(ROOT)}:{where}")
        for path in sorted((ROOT / "zkmargin").rglob("*.py"))
        for kind, table, where in _sql_writes(path)
    }
    assert writes == {
        ("UPDATE", "jobs", "zkmargin/keeper/job_store.py:JobStore._move"),
        ("UPDATE", "snapshots", "zkmargin/keeper/snapshot_store.py:SnapshotStore._move"),
    }


def test_the_tables_name_known_states_and_reach_every_one() -> None:
    for table, states, first in (
        (JOB_TRANSITIONS, JOB_STATES, FIRST_JOB_STATE),
        (SNAPSHOT_TRANSITIONS, SNAPSHOT_STATES, FIRST_SNAPSHOT_STATE),
    ):
        assert {s for edge in table for s in edge} <= set(states)
        assert all(edge.meaning for edge in table.values())
        reached, frontier = {first}, [first]
        while frontier:
            state = frontier.pop()
            for old, new in table:
                if old == state and new not in reached:
                    reached.add(new)
                    frontier.append(new)
        assert reached == set(states)


@pytest.fixture()
def log(tmp_path: Path) -> Iterator[JobLog]:
    jl = JobLog(tmp_path / "jobs.sqlite")
    yield jl
    jl.close()


def _jobs(log: JobLog, n: int) -> list:
    log.snapshots.add("s", "q.json", 1, 1)
    log.jobs.add("s", "liquidate", [[BatchEntry(i, 2, 0)] for i in range(1, n + 1)])
    return log.jobs.select()


def test_an_edge_the_table_lacks_raises_and_writes_nothing(log: JobLog) -> None:
    (job,) = _jobs(log, 1)
    with pytest.raises(TransitionError, match="a job does not move from 'pending' to 'submitted'"):
        log.jobs.transition(job, "submitted", tx_hash="0x01")
    with pytest.raises(TransitionError, match="unknown job state 'nowhere'"):
        log.jobs.transition(job, "nowhere")
    with pytest.raises(TransitionError, match="a snapshot does not move from 'new' to 'done'"):
        log.snapshots.set_state("s", "done")
    assert log.jobs.get(job.key) == job
    snap = log.snapshots.get("s")
    assert snap is not None and snap.state == "new"


def test_each_store_method_takes_the_edges_it_says(log: JobLog, state_edges: EdgeRecorder) -> None:
    """Driven one by one, each public method that moves a state records exactly its edge."""

    def took(expected: set[tuple[str, str, str]]) -> None:
        assert state_edges.edges() == expected
        state_edges.forget()

    a, b, c, d = _jobs(log, 4)
    state_edges.forget()
    held = log.jobs.claim(a, "tcp://w", 60)
    assert held is not None
    took({("jobs", "pending", "proving")})
    assert log.jobs.release(held, 1, "worker left")
    took({("jobs", "proving", "pending")})
    held = log.jobs.claim(a, "tcp://w", 60)
    assert held is not None and log.jobs.store_proof(held, 2, "{}", "tcp://w", 1.0)
    took({("jobs", "pending", "proving"), ("jobs", "proving", "proved")})
    proved = log.jobs.get(a.key)
    assert proved is not None and log.jobs.transition(proved, "submitted", tx_hash="0x01")
    took({("jobs", "proved", "submitted")})
    submitted = log.jobs.get(a.key)
    assert submitted is not None and log.jobs.transition(submitted, "submitted", tx_hash="0x02")
    took({("jobs", "submitted", "submitted")})
    assert log.jobs.transition(submitted, "confirmed", tx_hash="0x02", outcome={1: "opened"})
    took({("jobs", "submitted", "confirmed")})
    confirmed = log.jobs.get(a.key)
    assert confirmed is not None and log.jobs.reopen(confirmed, "reorg")
    took({("jobs", "confirmed", "submitted")})
    assert log.jobs.requeue(confirmed, "stale", expect="submitted")
    took({("jobs", "submitted", "pending")})
    held = log.jobs.claim(b, "tcp://w", 60)
    assert held is not None and log.jobs.store_proof(held, 1, "{}", "tcp://w", 1.0)
    state_edges.forget()
    assert log.repost_snapshot("s", 2, 2) == 1  # b, proved, is proven again
    took({("jobs", "proved", "pending"), ("snapshots", "new", "new")})
    held = log.jobs.claim(b, "tcp://w", 60)
    assert held is not None and log.jobs.release(held, 2, "crashed", fail=True, retryable=True)
    took({("jobs", "pending", "proving"), ("jobs", "proving", "failed")})
    assert log.jobs.retry_failed("s") == 1
    took({("jobs", "failed", "pending")})
    assert log.jobs.claim(c, "tcp://w", 60) is not None and log.jobs.recover() == 1
    took({("jobs", "pending", "proving"), ("jobs", "proving", "pending")})
    assert log.jobs.transition(d, "failed", reason="snapshot failed")
    took({("jobs", "pending", "failed")})
    log.snapshots.set_state("s", "new", post_tx="0xpost")
    took({("snapshots", "new", "new")})
    log.snapshots.set_state("s", "posted")
    log.snapshots.set_state("s", "posted", accounts=4)
    took({("snapshots", "new", "posted"), ("snapshots", "posted", "posted")})
    log.snapshots.renew("s", 3, 3)
    took({("snapshots", "posted", "new")})
    log.snapshots.set_state("s", "posted")
    log.snapshots.set_state("s", "done")
    took({("snapshots", "new", "posted"), ("snapshots", "posted", "done")})
    log.snapshots.add_failed("bad", "bad.json", "invalid input")
    took({("snapshots", "new", "failed")})
    assert not state_edges.outside_tables()


def test_a_state_change_outside_the_tables_is_caught(log: JobLog, state_edges: EdgeRecorder) -> None:
    """The recorder sees SQL that bypasses the stores (what ``conftest.state_edges`` fails)."""
    (job,) = _jobs(log, 1)
    with log.db.transaction() as db:
        db.execute("UPDATE jobs SET state = 'confirmed' WHERE batch = ?", (job.batch,))
    assert state_edges.outside_tables() == [("jobs", "pending", "confirmed")]
    state_edges.forget()  # the edge was taken on purpose here


def test_every_snapshot_state_change_is_made_by_the_keeper_loop() -> None:
    """The snapshot's state machine lives in one file: outside the stores, only
    ``zkmargin/keeper/keeper.py`` changes a snapshot's state."""
    moves = re.compile(r"\.snapshots\.(add|add_failed|set_state|renew)\(|\.repost_snapshot\(")
    stores = {"zkmargin/keeper/snapshot_store.py", "zkmargin/keeper/job_log.py"}
    found = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "zkmargin").rglob("*.py")
        if moves.search(path.read_text(encoding="utf-8"))
    }
    assert found - stores == {"zkmargin/keeper/keeper.py"}

"""The states of the job log's jobs and snapshots and every move between them, declared once.

Each table maps an edge ``(from_state, to_state)`` to what it means and which columns it
sets besides ``state`` and ``updated_at``. The stores (:mod:`zkmargin.keeper.job_store`,
:mod:`zkmargin.keeper.snapshot_store`) change a state only through :func:`check_job_edge` /
:func:`check_snapshot_edge`: an edge missing here raises :class:`TransitionError` before
any SQL runs (``tests/keeper/test_states.py`` checks the stores' SQL against the tables).
A row is created in the first state (``pending``, ``new``); the rest follow from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

JOB_STATES = ("pending", "proving", "proved", "submitted", "confirmed", "failed")
SNAPSHOT_STATES = ("new", "posted", "done", "failed")
FIRST_JOB_STATE = "pending"
FIRST_SNAPSHOT_STATE = "new"


@dataclass(frozen=True)
class Edge:
    """One allowed move: what it means, and the columns it sets."""

    meaning: str
    sets: tuple[str, ...] = ()


_LEASE = ("lease_worker", "lease_expiry")

#: Every move a job may make (docs/operator.md, "The job log").
JOB_TRANSITIONS: Mapping[tuple[str, str], Edge] = {
    ("pending", "proving"): Edge("leased to a prover worker, the next attempt", ("attempts", *_LEASE)),
    ("pending", "failed"): Edge("its snapshot failed", ("reason",)),
    ("proving", "proved"): Edge(
        "the proof of the lease held is kept",
        ("bundle", "reason", *_LEASE, "proved_by", "proved_at", "prove_seconds"),
    ),
    ("proving", "pending"): Edge(
        "the lease ended without a proof (worker gone, lease run out, keeper stopped or restarted)",
        ("reason", *_LEASE),
    ),
    ("proving", "failed"): Edge(
        "bad input, a proof the engine disagrees with, attempts used up (retryable), or its snapshot failed",
        ("reason", "retryable", *_LEASE),
    ),
    ("proved", "submitted"): Edge(
        "liquidation simulated, signed and recorded before broadcast", ("tx_hash",)
    ),
    ("proved", "pending"): Edge(
        "proven against a market root that is no longer the gate's latest: proven again",
        ("bundle", "reason"),
    ),
    ("proved", "failed"): Edge(
        "the gate refused the simulated liquidation (retryable when the market went stale with no "
        "re-post left), or its snapshot failed",
        ("reason", "retryable"),
    ),
    ("submitted", "submitted"): Edge(
        "a fee replacement, or a new signature once the old nonce went elsewhere", ("tx_hash", "reason")
    ),
    ("submitted", "confirmed"): Edge(
        "mined with BatchAccepted, or every case found open on chain", ("tx_hash", "outcome", "reason")
    ),
    ("submitted", "pending"): Edge(
        "refused for a stale market, or mined and reverted for the old root after a re-post (or "
        "for roots a reorganisation had removed): proven again against the fresh market",
        ("bundle", "reason"),
    ),
    ("submitted", "failed"): Edge(
        "reverted (the gate's error decoded) or mined without the expected events", ("reason", "retryable")
    ),
    ("confirmed", "confirmed"): Edge("final: its block has the confirmations asked for", ("final",)),
    ("confirmed", "submitted"): Edge(
        "its receipt vanished (a reorg; also for a final job of a done snapshot the chain no "
        "longer holds): settled again",
        ("final", "reason"),
    ),
    ("failed", "pending"): Edge(
        "a later run proves again a job that failed for a reason it can fix, or any failed job "
        "of a done snapshot the chain no longer holds",
        ("bundle", "retryable", "attempts"),
    ),
}

#: Every move a snapshot may make (the keeper's loop, ``zkmargin.keeper.keeper``).
SNAPSHOT_TRANSITIONS: Mapping[tuple[str, str], Edge] = {
    ("new", "new"): Edge(
        "a postMarket transaction (or its replacement) recorded before broadcast", ("post_tx",)
    ),
    ("new", "posted"): Edge("its market root is the gate's latest (posted now or found there)"),
    ("new", "failed"): Edge("it cannot be processed: bad input, superseded, a refused post", ("reason",)),
    ("posted", "posted"): Edge("its jobs are made: the accounts counted", ("accounts",)),
    ("posted", "new"): Edge(
        "its market re-posted under a new epoch before it went stale (or a post recorded again), "
        "or a reorganisation removed its post: posted again under its epoch",
        ("epoch", "market_root", "post_tx"),
    ),
    ("posted", "done"): Edge("each job final, or failed for a reason another run cannot fix"),
    ("posted", "failed"): Edge("it cannot be processed any further (the reason recorded)", ("reason",)),
    ("done", "new"): Edge(
        "the chain no longer holds its market root or a liquidation the log calls confirmed (a "
        "reorganisation deeper than the confirmations): processed again under its epoch"
    ),
}


class TransitionError(ValueError):
    """A state change the tables do not list (or an unknown state)."""


def _check(
    what: str, table: Mapping[tuple[str, str], Edge], states: Iterable[str], old: str, new: str
) -> Edge:
    known = tuple(states)
    for state in (old, new):
        if state not in known:
            raise TransitionError(f"unknown {what} state {state!r}")
    edge = table.get((old, new))
    if edge is None:
        raise TransitionError(f"a {what} does not move from {old!r} to {new!r}")
    return edge


def check_job_edge(old: str, new: str) -> Edge:
    """The edge ``old -> new`` of a job, or :class:`TransitionError`."""
    return _check("job", JOB_TRANSITIONS, JOB_STATES, old, new)


def check_snapshot_edge(old: str, new: str) -> Edge:
    """The edge ``old -> new`` of a snapshot, or :class:`TransitionError`."""
    return _check("snapshot", SNAPSHOT_TRANSITIONS, SNAPSHOT_STATES, old, new)


def sources(table: Mapping[tuple[str, str], Edge], new: str) -> tuple[str, ...]:
    """The states an edge of ``table`` leads from into ``new``."""
    return tuple(old for old, to in table if to == new)

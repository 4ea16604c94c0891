"""Which liquidatable accounts go into which batch proof (docs/margin-model.md section 6b).

The priority rule: insolvent accounts (status 3) first, then liquidatable ones (status 2),
each by shortfall, largest first (ties by id, so the plan is deterministic). Batches of K
are filled in that order, so the first batch proved and settled holds the accounts in
most trouble; inside a batch the entries are put in strictly increasing id order, as the
circuit requires. A partial last batch is padded by the prover (its unused entries are 0).
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.batch_statement import BatchEntry, check_batch
from engine.errors import InputError
from engine.status import Status


def priority_key(entry: BatchEntry) -> tuple[int, int, int]:
    """Sort key of the liquidation priority: insolvent first, then shortfall descending, then id."""
    return (0 if entry.status == Status.INSOLVENT else 1, -entry.shortfall, entry.account_id)


def liquidation_batches(entries: Iterable[BatchEntry], size: int) -> list[list[BatchEntry]]:
    """The entries of status 2 or 3 in batches of at most ``size``, by priority; each batch
    in increasing id order. Healthy and restricted entries are left out."""
    if size < 1:
        raise InputError("batch size", f"must be positive, got {size}")
    due = sorted((e for e in entries if e.status >= Status.LIQUIDATABLE), key=priority_key)
    seen: set[int] = set()
    for e in due:
        if e.account_id in seen:
            raise InputError("entries", f"account {e.account_id} appears twice")
        seen.add(e.account_id)
    batches = [sorted(due[i : i + size], key=lambda e: e.account_id) for i in range(0, len(due), size)]
    for batch in batches:
        check_batch(batch, size)
    return batches

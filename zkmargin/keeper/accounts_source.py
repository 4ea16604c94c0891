"""The keeper's accounts: the accounts file read only when it changed, commitments cached.

Reconciling a snapshot needs every account's margin (a new market moves them all) but
not every account's commitment: a commitment depends on the account's state only (id,
nonce, salt, cash, slots), and in a crash most accounts do not change. So:

* **The same file** (its bytes' sha256 unchanged since the last snapshot of this run):
  the parsed accounts, their margin batch and their accounts tree are reused as they are.
  Only what the new market could change is checked again: every instrument held must
  still be listed (else the file is read afresh, which names the account and the field).
* **A changed file, or a restarted keeper**: the file is read and validated in full, and
  each account's commitment is looked up in the job log's ``commitments`` table by
  ``state_key(account)`` (sha256 of its state); only accounts whose state is new are
  hashed (native Poseidon, batched), and their commitments are added to the table.

A wrong cached commitment (a job log edited by hand) cannot make a false proof: the
circuit recomputes each commitment from the account and checks its path to the posted
accounts root, so the proof would fail to build; it would cost liveness, not soundness.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.accounts_tree import AccountsTree
from engine.commitments import commitments as commitments_of
from engine.errors import InputError
from engine.formats import LabeledAccount, load_accounts_bytes
from engine.formats.json_text import cyclic_gc_paused, in_file, read_file_bytes
from engine.margin_arrays import AccountBatch
from engine.model import Account, Market
from engine.pipeline import check_unique_ids
from engine.profiles import Profile
from zkmargin.keeper.job_log import JobLog

logger = logging.getLogger("zkmargin.keeper")

#: Versioned prefix of every state key: a change of what a commitment covers must change it.
STATE_TAG = b"zkmargin/account-state@1\n"


def state_key(account: Account) -> bytes:
    """sha256 of everything ``engine.commitments.commitment`` covers, in one canonical text
    (decimal integers, slots in canonical order): equal keys mean equal commitments."""
    text = f"{account.account_id},{account.nonce},{account.salt},{account.cash}" + "".join(
        f";{s.instrument_id},{s.q}" for s in account.slots
    )
    return hashlib.sha256(STATE_TAG + text.encode("ascii")).digest()


@dataclass(frozen=True)
class AccountsState:
    """One reading of the accounts file: its accounts, margin batch and accounts tree."""

    digest: str  # sha256 of the file's bytes
    profile: Profile
    accounts: list[LabeledAccount]
    batch: AccountBatch
    tree: AccountsTree
    held: frozenset[int]  # every instrument some account holds (q != 0)


@dataclass
class LoadStats:
    """How the last load went (for the log line and the reconcile benchmark)."""

    reused: bool = False
    accounts: int = 0
    hashed: int = 0  # commitments computed (not in the cache)
    seconds: float = 0.0


class AccountsSource:
    """The accounts file of a keeper run, with the job log's commitment cache."""

    def __init__(self, path: Path, log: JobLog, depth: int) -> None:
        self.path = path
        self.log = log
        self.depth = depth
        self._last: AccountsState | None = None
        self.stats = LoadStats()

    def load(self, market: Market) -> AccountsState:
        """The accounts checked against ``market``; an ``InputError`` names the file, the
        account and the field when one is not valid for it."""
        started = time.perf_counter()
        raw = _read(self.path)
        digest = hashlib.sha256(raw).hexdigest()
        last = self._last
        if (
            last is not None
            and last.digest == digest
            and last.profile == market.profile
            and last.held <= market.rows.keys()
        ):
            self.stats = LoadStats(True, len(last.accounts), 0, time.perf_counter() - started)
            return last
        with cyclic_gc_paused():  # millions of acyclic objects (engine.formats.json_text)
            accounts = load_accounts_bytes(raw, self.path, market)
            check_unique_ids(accounts)
            states = [a.account for a in accounts]
            tree, hashed = self._tree(states)
            batch = AccountBatch.from_accounts(states)
            held = frozenset(int(i) for i in np.unique(batch.ids[batch.q != 0]))
        self._last = AccountsState(digest, market.profile, accounts, batch, tree, held)
        self.stats = LoadStats(False, len(accounts), hashed, time.perf_counter() - started)
        return self._last

    def _tree(self, states: list[Account]) -> tuple[AccountsTree, int]:
        """The accounts tree, hashing only the states the cache does not hold."""
        keys = [state_key(a) for a in states]
        cached = self.log.commitments.all()
        missing = [i for i, k in enumerate(keys) if k not in cached]
        fresh = commitments_of([states[i] for i in missing])
        new = {keys[i]: c for i, c in zip(missing, fresh, strict=True)}
        self.log.commitments.add(list(new.items()), keys)
        values = {
            a.account_id: cached[k] if k in cached else new[k] for a, k in zip(states, keys, strict=True)
        }
        return AccountsTree(values, self.depth), len(missing)


def _read(path: Path) -> bytes:
    try:
        return read_file_bytes(path, "account")
    except InputError as err:
        raise in_file(err, path) from None

"""The keeper's accounts source: the file reused while unchanged, commitments cached in the
job log by account state, and the same tree as computing everything afresh."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.accounts_tree import AccountsTree
from engine.errors import InputError
from engine.fileio import write_json_atomic
from engine.fixedpoint import FIELD_P
from engine.formats import LabeledAccount, dump_accounts, load_accounts
from engine.model import Account, Market, Slot
from tests.keeper.keeper_env import PROFILE, write_scenario
from zkmargin.keeper.accounts_source import AccountsSource, state_key
from zkmargin.keeper.job_log import JobLog


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, Market, JobLog]:
    scenario = write_scenario(tmp_path / "scenario")
    log = JobLog(tmp_path / "jobs.sqlite")
    return scenario.accounts, scenario.markets()[0], log


def _fresh_root(path: Path, market: Market) -> int:
    accounts = [a.account for a in load_accounts(path, market)]
    return AccountsTree.of_accounts(accounts, PROFILE.accounts_depth).root


def _rewrite(path: Path, market: Market, change: dict[int, int]) -> None:
    """Rewrite the accounts file with the cash of some accounts changed (id -> new cash)."""
    accounts = load_accounts(path, market)
    out = [
        LabeledAccount(
            dataclasses.replace(a.account, cash=change.get(a.account.account_id, a.account.cash)), a.label
        )
        for a in accounts
    ]
    write_json_atomic(path, dump_accounts(out))


def _cache_rows(log: JobLog) -> int:
    with sqlite3.connect(log.path) as db:
        (n,) = db.execute("SELECT COUNT(*) FROM commitments").fetchone()
    return int(n)


def test_first_read_hashes_every_account_and_gives_the_fresh_tree(setup: tuple[Path, Market, JobLog]) -> None:
    path, market, log = setup
    source = AccountsSource(path, log, PROFILE.accounts_depth)
    state = source.load(market)
    assert not source.stats.reused
    assert source.stats.hashed == source.stats.accounts == len(state.accounts) == 9
    assert state.tree.root == _fresh_root(path, market)
    assert _cache_rows(log) == 9
    assert len(state.batch) == 9


def test_an_unchanged_file_is_reused_on_a_new_market(setup: tuple[Path, Market, JobLog]) -> None:
    path, market, log = setup
    source = AccountsSource(path, log, PROFILE.accounts_depth)
    first = source.load(market)
    again = source.load(dataclasses.replace(market, epoch=market.epoch + 1))
    assert again is first and source.stats.reused and source.stats.hashed == 0


def test_a_restarted_keeper_takes_every_commitment_from_the_cache(setup: tuple[Path, Market, JobLog]) -> None:
    path, market, log = setup
    root = AccountsSource(path, log, PROFILE.accounts_depth).load(market).tree.root
    log.close()
    reopened = JobLog(log.path)
    source = AccountsSource(path, reopened, PROFILE.accounts_depth)
    assert source.load(market).tree.root == root
    assert not source.stats.reused and source.stats.hashed == 0


def test_a_changed_account_is_hashed_alone(setup: tuple[Path, Market, JobLog]) -> None:
    path, market, log = setup
    source = AccountsSource(path, log, PROFILE.accounts_depth)
    before = source.load(market)
    some = before.accounts[4].account
    _rewrite(path, market, {some.account_id: some.cash + 1})
    after = source.load(market)
    assert not source.stats.reused and source.stats.hashed == 1
    assert after.tree.root == _fresh_root(path, market) != before.tree.root
    assert after.tree.commitments[some.account_id] != before.tree.commitments[some.account_id]


def test_the_cache_is_what_the_tree_is_built_from(setup: tuple[Path, Market, JobLog]) -> None:
    """A cached commitment is used as it is (here one edited by hand): the cache is not
    recomputed behind the keeper's back. Such a root would only make proofs fail to build
    (the circuit recomputes each commitment); see the module's docstring."""
    path, market, log = setup
    honest = AccountsSource(path, log, PROFILE.accounts_depth).load(market).tree.root
    with sqlite3.connect(log.path) as db:
        db.execute(
            "UPDATE commitments SET commitment = '12345' WHERE state = (SELECT MIN(state) FROM commitments)"
        )
    assert AccountsSource(path, log, PROFILE.accounts_depth).load(market).tree.root != honest


def test_the_cache_stays_the_size_of_the_venue(setup: tuple[Path, Market, JobLog]) -> None:
    path, market, log = setup
    source = AccountsSource(path, log, PROFILE.accounts_depth)
    ids = [a.account.account_id for a in source.load(market).accounts]
    for round_ in range(1, 12):
        _rewrite(path, market, {i: 10**9 + round_ * 1000 + n for n, i in enumerate(ids)})
        source.load(market)
        assert _cache_rows(log) <= 2 * len(ids) + len(ids)
    assert source.load(market).tree.root == _fresh_root(path, market)


def test_a_delisted_instrument_is_named_even_when_the_file_is_unchanged(
    setup: tuple[Path, Market, JobLog],
) -> None:
    path, market, log = setup
    source = AccountsSource(path, log, PROFILE.accounts_depth)
    source.load(market)
    delisted = dataclasses.replace(market, rows={i: r for i, r in market.rows.items() if i != 3})
    with pytest.raises(InputError) as err:
        source.load(delisted)
    assert "unknown instrument 3" in str(err.value) and path.name in str(err.value)


def test_a_missing_file_is_named(tmp_path: Path, setup: tuple[Path, Market, JobLog]) -> None:
    _, market, log = setup
    with pytest.raises(InputError) as err:
        AccountsSource(tmp_path / "nope.json", log, PROFILE.accounts_depth).load(market)
    assert "nope.json" in str(err.value)


_BASE = Account(7, 1, 99, -5, (Slot(1, 10), Slot(3, -2), Slot(0, 0), Slot(0, 0)))


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(["account_id", "nonce", "salt", "cash", "slot_id", "slot_q"]),
    value=st.integers(min_value=0, max_value=FIELD_P - 1),
)
def test_any_change_of_the_committed_state_changes_its_key(field: str, value: int) -> None:
    if field == "slot_id":
        changed = dataclasses.replace(_BASE, slots=(Slot(value, 10), *_BASE.slots[1:]))
    elif field == "slot_q":
        changed = dataclasses.replace(_BASE, slots=(Slot(1, value), *_BASE.slots[1:]))
    else:
        changed = dataclasses.replace(_BASE, **{field: value})
    assert (state_key(changed) == state_key(_BASE)) == (changed == _BASE)
    assert state_key(dataclasses.replace(changed)) == state_key(changed)

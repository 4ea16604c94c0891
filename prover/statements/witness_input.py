"""Engine objects -> the input JSON of ``MarginBatch(A, k, d, K, D)``
(circuits/margin_batch.circom), the statement on chain.

The circuit's input signals are exactly the keys produced here; docs/circuit.md lists
them. Every value is a decimal string of a BN254 field element: signed integers are
encoded as ``x mod p`` (``engine.fixedpoint.to_field``). The fields of one account
(:func:`account_fields`) and of the market and parameters (:func:`shared_fields`) are
the inputs of ``AccountMargin``, which the offline one-account ``MarginCheck`` takes too
(``prover.offline.witness_input``).

Hints (division quotients and remainders, the square root, the index of each
asset's worst scenario, one-hot selectors) are *not* inputs: the circuit computes
them itself with ``<--`` and constrains them.

Before anything is encoded, the market, the parameters and every account are checked
against spec sections 1 and 2 (``engine.validate``): a value past a bound or a
non-canonical slot list raises ``engine.errors.InputError`` naming the field, so no
witness is ever attempted on bad input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.accounts_tree import AccountsTree
from engine.batch_statement import BatchEntry, batch_entries, check_batch, pack_words
from engine.commitments import MarketCommitments, commitment, params_hash
from engine.errors import InputError
from engine.fixedpoint import N_SCENARIOS, to_field
from engine.model import Account, InstrumentRow, Market, RiskParams, Slot
from engine.validate import validate_account, validate_market, validate_params

CircuitInput = dict[str, Any]


_EMPTY_ROW = InstrumentRow(0, 0, 0, 0, (0,) * N_SCENARIOS, 0, 0)


def _f(x: int) -> str:
    return str(to_field(x))


def _fs(xs: Sequence[int]) -> list[str]:
    return [_f(x) for x in xs]


def validate_inputs(market: Market, params: RiskParams, account: Account) -> None:
    """Spec section 1 bounds and section 2 canonical form; ``InputError`` otherwise."""
    validate_market(market)
    validate_params(params, market.profile)
    validate_account(account, market)


def account_fields(market: Market, account: Account, commitments: MarketCommitments) -> CircuitInput:
    """The inputs of one account (:data:`PER_ACCOUNT_KEYS`, in that order): its fields,
    its slots' rows and their paths in the market tree (an empty slot's row and path 0)."""
    profile = market.profile
    k, depth = profile.slots, profile.depth
    if len(account.slots) != k:
        raise InputError("account.slots", f"must have exactly k = {k} slots, got {len(account.slots)}")
    rows: list[InstrumentRow] = []
    paths: list[list[list[str]]] = []
    for slot in account.slots:
        if slot.q == 0:
            # an empty slot needs no path: its row is multiplied by q = 0 everywhere
            rows.append(_EMPTY_ROW)
            paths.append([["0", "0", "0"] for _ in range(depth)])
            continue
        rows.append(market.rows[slot.instrument_id])
        path = commitments.path(slot.instrument_id)
        paths.append([_fs(sibs) for sibs in path.siblings])
    return {
        "account_id": _f(account.account_id),
        "nonce": _f(account.nonce),
        "salt": _f(account.salt),
        "cash": _f(account.cash),
        "slot_id": _fs([s.instrument_id for s in account.slots]),
        "slot_q": _fs([s.q for s in account.slots]),
        "row_asset": _fs([r.asset for r in rows]),
        "row_mark": _fs([r.mark for r in rows]),
        "row_delta": _fs([r.delta for r in rows]),
        "row_c_long": _fs([r.c_long for r in rows]),
        "row_c_short": _fs([r.c_short for r in rows]),
        "row_ra": [_fs(r.ra) for r in rows],
        "path": paths,
    }


def shared_fields(market: Market, params: RiskParams, commitments: MarketCommitments) -> CircuitInput:
    """The inputs of the market and the parameters, which MarginBatch takes once for the
    whole batch: spot, depth, tree_root, epoch, mm_factor, kappa, rho."""
    n_assets = market.profile.assets
    return {
        "spot": _fs([market.assets[a].spot for a in range(n_assets)]),
        "depth": _fs([market.assets[a].depth for a in range(n_assets)]),
        "tree_root": str(commitments.tree_root),
        "epoch": _f(market.epoch),
        "mm_factor": _f(params.mm_factor),
        "kappa": _fs(params.kappa),
        "rho": [_fs(row) for row in params.rho],
    }


#: Inputs of AccountMargin that MarginBatch takes once per entry (with a leading [K]).
PER_ACCOUNT_KEYS = (
    "account_id",
    "nonce",
    "salt",
    "cash",
    "slot_id",
    "slot_q",
    "row_asset",
    "row_mark",
    "row_delta",
    "row_c_long",
    "row_c_short",
    "row_ra",
    "path",
)


def padding_account(k: int) -> Account:
    """The witness of an unused batch entry: id 0, no cash, k empty slots (its entry is 0)."""
    return Account(0, 0, 0, 0, (Slot(0, 0),) * k)


def _check_accounts(
    entries: Sequence[BatchEntry], accounts: Sequence[Account], tree: AccountsTree, size: int
) -> None:
    """1..K entries of ``accounts`` in id order, each the state ``tree`` commits to."""
    check_batch(entries, size)
    if [e.account_id for e in entries] != [a.account_id for a in accounts]:
        raise InputError("batch", "the entries must name the accounts, in their order")
    for account in accounts:
        committed = tree.commitments.get(account.account_id)
        if committed is None:
            raise InputError("account_id", f"account {account.account_id} is not in the accounts tree")
        if commitment(account) != committed:
            raise InputError(f"account {account.account_id}", "is not the state the accounts tree commits to")


def build_batch_input(
    market: Market,
    params: RiskParams,
    accounts: Sequence[Account],
    tree: AccountsTree,
    commitments: MarketCommitments | None = None,
    *,
    entries: Sequence[BatchEntry] | None = None,
    size: int | None = None,
    validate: bool = True,
) -> CircuitInput:
    """The full input of ``MarginBatch(A, k, d, K, D)`` for 1..K accounts of ``tree``
    (K = ``size``, by default the profile's batch size).

    ``accounts`` must be in strictly increasing id order and each must be the state the
    tree commits to (its commitment is the tree's for its id). ``entries`` are the
    engine's entries of ``accounts`` (``engine.batch_statement.batch_entries``), computed
    here when not given. ``validate=False`` skips every check and is meant only for tests
    that build deliberately bad witnesses.
    """
    profile = market.profile
    size = profile.batch_size if size is None else size
    depth = profile.accounts_depth
    if tree.depth != depth:
        raise InputError(
            "accounts tree", f"has depth {tree.depth}, the profile {profile.name} needs D = {depth}"
        )
    mc = commitments if commitments is not None else MarketCommitments(market)
    entries = batch_entries(market, params, accounts) if entries is None else entries
    padding = padding_account(profile.slots)
    if validate:
        _check_accounts(entries, accounts, tree, size)
        validate_market(market)
        validate_params(params, profile)
        for account in (*accounts, padding):
            validate_account(account, market)
    per_account = [account_fields(market, a, mc) for a in accounts]
    per_account += [account_fields(market, padding, mc)] * (
        size - len(accounts)
    )  # one for every unused entry
    out: CircuitInput = {
        "accounts_root": str(tree.root),
        "market_root": str(mc.market_root),
        "params_hash": str(params_hash(params)),
        "count": str(len(accounts)),
        "words": [str(w) for w in pack_words([e.packed for e in entries] + [0] * (size - len(entries)))],
    }
    for key in PER_ACCOUNT_KEYS:
        out[key] = [one[key] for one in per_account]
    positions, paths = [], []
    for account in accounts:
        known = account.account_id in tree.position
        path = tree.path(account.account_id) if known or validate else tree.tree.path(0)
        positions.append(str(path.index))
        paths.append([_fs(sibs) for sibs in path.siblings])
    for _ in range(size - len(accounts)):
        positions.append("0")
        paths.append([["0", "0", "0"] for _ in range(depth)])
    out["account_position"] = positions
    out["account_path"] = paths
    out |= shared_fields(market, params, mc)
    return out

"""Hashes and commitments of ZKPM-2 (spec section 5), all with circomlib Poseidon.

Every value is mapped into the BN254 scalar field with ``to_field`` (``x mod p``)
before hashing, so a negative number ``-x`` is hashed as ``p - x``. Bounds are not
checked here (that is input validation's job); only shapes are.

* ``hash_list(xs)``: ``h = 0``; per chunk of 15 values (the last one zero padded)
  ``h = Poseidon16(h, chunk...)``. ``hash_list([]) == 0`` (no chunk, ``h`` stays 0).
* ``row_leaf``: ``Poseidon7(id, a, M, delta, c_long, c_short, Poseidon16(RA))``.
* ``InstrumentTree``: the 4-ary Merkle tree of ``engine.merkle`` (depth d, empty leaves
  0, node ``Poseidon4(c0, c1, c2, c3)``; ``MerklePath`` documents the path layout) over
  the rows, keyed by instrument id.
* ``asset_hash``, ``market_root``, ``params_hash``, ``positions_hash``, ``commitment``.
* ``MarketCommitments``: tree, roots and paths of one ``Market``, computed once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from engine.aggregation import MODEL_ID
from engine.errors import InputError
from engine.fixedpoint import N_SCENARIOS, to_field
from engine.merkle import ARITY, MerklePath, SparseTree
from engine.model import Account, AssetEntry, InstrumentRow, Market, RiskParams
from engine.poseidon import hash_list_native, hash_list_native_small, poseidon, poseidon_many

HASH_LIST_CHUNK = 15  # values absorbed per Poseidon16 call (the 16th input is the running h)


def _hash(values: Sequence[int]) -> int:
    """Poseidon of signed integers, each taken mod p."""
    return poseidon([to_field(v) for v in values])


def hash_list(xs: Sequence[int]) -> int:
    """Chained Poseidon16 over chunks of 15 values (spec section 5); 0 for an empty list."""
    h = 0
    for start in range(0, len(xs), HASH_LIST_CHUNK):
        chunk = [to_field(x) for x in xs[start : start + HASH_LIST_CHUNK]]
        chunk.extend([0] * (HASH_LIST_CHUNK - len(chunk)))
        h = poseidon([h, *chunk])
    return h


def ra_hash(ra: Sequence[int]) -> int:
    """Poseidon16 of the 16 scenario P&L values of a row."""
    if len(ra) != N_SCENARIOS:
        raise InputError("row.ra", f"must have {N_SCENARIOS} scenario values, got {len(ra)}")
    return _hash(ra)


def row_leaf(row: InstrumentRow) -> int:
    """Leaf of an instrument row: Poseidon7(id, a, M, delta, c_long, c_short, ra_hash)."""
    return _hash(
        (row.instrument_id, row.asset, row.mark, row.delta, row.c_long, row.c_short, ra_hash(row.ra))
    )


class InstrumentTree(SparseTree):
    """The instrument tree: leaf ``row_leaf(row)`` at index ``instrument_id``."""

    def __init__(self, rows: Mapping[int, InstrumentRow], depth: int) -> None:
        if depth < 1:
            raise InputError("depth", f"must be at least 1, got {depth}")
        self.capacity = ARITY**depth
        self.depth = depth
        self.noun = "instrument id"
        leaves: dict[int, int] = {}
        for key, row in rows.items():
            self._check_index(f"rows[{key}]", key)
            if row.instrument_id != key:
                raise InputError(
                    f"rows[{key}].instrument_id", f"must equal its key {key}, got {row.instrument_id}"
                )
            leaves[key] = row_leaf(row)
        super().__init__(leaves, depth, "instrument id")


def asset_hash(assets: Sequence[AssetEntry]) -> int:
    """hash_list([S_0, D_0, S_1, D_1, ...]) over the asset table."""
    return hash_list([v for entry in assets for v in (entry.spot, entry.depth)])


def _check_asset_count(market: Market) -> None:
    if len(market.assets) != market.profile.assets:
        raise InputError(
            "market.assets",
            f"must have A = {market.profile.assets} entries for profile {market.profile.name}, "
            f"got {len(market.assets)}",
        )


def market_root_of(tree_root: int, assets_digest: int, epoch: int) -> int:
    """Poseidon3(tree_root, asset_hash, epoch)."""
    return _hash((tree_root, assets_digest, epoch))


def market_root(market: Market) -> int:
    """The market commitment: Poseidon3(instrument tree root, asset_hash, epoch)."""
    return MarketCommitments(market).market_root


def params_hash(params: RiskParams) -> int:
    """hash_list([MODEL_ID, mm_factor, kappa_0..kappa_{A-1}, rho upper triangle row by row,
    diagonal included]): the model's number first, so a commitment to ZKPM-2 parameters
    can never be one to the same integers under another model."""
    n = len(params.kappa)
    if len(params.rho) != n or any(len(row) != n for row in params.rho):
        raise InputError("params.rho", f"must be {n} x {n} (one row and column per kappa entry)")
    upper = [params.rho[a][b] for a in range(n) for b in range(a, n)]
    return hash_list([MODEL_ID, params.mm_factor, *params.kappa, *upper])


def positions_hash(account: Account) -> int:
    """hash_list([id_0, q_0, ..., id_{k-1}, q_{k-1}]) over all k slots, empty ones included."""
    return hash_list([v for slot in account.slots for v in (slot.instrument_id, slot.q)])


def commitment(account: Account) -> int:
    """The account commitment: Poseidon5(account_id, nonce, salt, cash, positions_hash)."""
    return _hash((account.account_id, account.nonce, account.salt, account.cash, positions_hash(account)))


def commitments(accounts: Sequence[Account]) -> list[int]:
    """``commitment`` of every account, the same values, in two batched native calls
    (positions hashes, then the commitments; on every core) when the native module is
    built, else one by one."""
    if not accounts:
        return []
    small = _slot_values(accounts)
    if small is not None:
        hashes = hash_list_native_small(small, HASH_LIST_CHUNK)
    else:
        position_lists = [
            [to_field(v) for slot in a.slots for v in (slot.instrument_id, slot.q)] for a in accounts
        ]
        hashes = hash_list_native(position_lists, HASH_LIST_CHUNK)
    if hashes is None:
        return [commitment(a) for a in accounts]
    rows = [
        [to_field(a.account_id), to_field(a.nonce), to_field(a.salt), to_field(a.cash), ph]
        for a, ph in zip(accounts, hashes, strict=True)
    ]
    return poseidon_many(rows)


def _slot_values(accounts: Sequence[Account]) -> np.ndarray | None:
    """The positions-hash inputs ``[id_0, q_0, ...]`` of every account as an (n, 2k) int64
    array; None when the accounts have different slot counts or a value overflows int64
    (never for validated accounts; the general path then hashes Python ints)."""
    k = len(accounts[0].slots)
    if any(len(a.slots) != k for a in accounts):
        return None
    try:
        flat = np.fromiter(
            (v for a in accounts for slot in a.slots for v in (slot.instrument_id, slot.q)),
            np.int64,
            count=2 * k * len(accounts),
        )
    except OverflowError:
        return None
    return flat.reshape(len(accounts), 2 * k)


class MarketCommitments:
    """Everything hashed about one ``Market``, computed once: tree, asset hash, root.

    The prover asks for many paths of the same market; build this once and call
    ``path`` for each slot.
    """

    def __init__(self, market: Market) -> None:
        _check_asset_count(market)
        self.market = market
        self.tree = InstrumentTree(market.rows, market.profile.depth)
        self.tree_root = self.tree.root
        self.asset_hash = asset_hash(market.assets)
        self.market_root = market_root_of(self.tree_root, self.asset_hash, market.epoch)

    def leaf(self, instrument_id: int) -> int:
        """Leaf hash of ``instrument_id`` (0 if the market has no such row)."""
        return self.tree.leaf(instrument_id)

    def path(self, instrument_id: int) -> MerklePath:
        """Merkle path of ``instrument_id`` in this market's instrument tree."""
        return self.tree.path(instrument_id)

"""The statement of a batch proof (docs/margin-model.md section 6b): its entries, how each
is packed into one field element, and the public signals of ``MarginBatch``.

An entry names one account of the accounts tree and its proven margin:
``packed = account_id + 2**64 * status + 2**66 * shortfall``. With ``account_id < 2**64``,
``status <= 3`` and ``shortfall < 2**187`` the packed value is below ``2**253 < r``: it
never wraps in the field and the gate decodes it by shifts. The circuit proves
``shortfall < 2**(cmpBits + 1)`` and asserts at compile time that this fits the 187 bits.

A batch of size K holds 1..K entries with strictly increasing account ids (no account
twice); the public signals are ``[accounts_root, market_root, params_hash, count,
entries[0..K-1]]``, unused entries 0 (padding, which the gate ignores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import InputError
from engine.fixedpoint import FIELD_P, ID_LIMIT
from engine.margin import compute_margin
from engine.model import Account, Market, RiskParams

ENTRY_STATUS_SHIFT = 64
ENTRY_SHORTFALL_SHIFT = 66
ENTRY_BITS = 253
SHORTFALL_LIMIT = 1 << (ENTRY_BITS - ENTRY_SHORTFALL_SHIFT)  # 2**187
MAX_STATUS = 3


def _plain_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class BatchEntry:
    """One account's public entry in a batch proof."""

    account_id: int
    status: int
    shortfall: int

    def __post_init__(self) -> None:
        if not _plain_int(self.account_id) or not 0 <= self.account_id < ID_LIMIT:
            raise InputError("entry.account_id", f"must satisfy 0 <= id < 2**64, got {self.account_id!r}")
        if not _plain_int(self.status) or not 0 <= self.status <= MAX_STATUS:
            raise InputError("entry.status", f"must be one of 0..{MAX_STATUS}, got {self.status!r}")
        if not _plain_int(self.shortfall) or not 0 <= self.shortfall < SHORTFALL_LIMIT:
            raise InputError(
                "entry.shortfall", f"must satisfy 0 <= shortfall < 2**187, got {self.shortfall!r}"
            )

    @property
    def packed(self) -> int:
        """The entry as one field element (below 2**253)."""
        return (
            self.account_id + (self.status << ENTRY_STATUS_SHIFT) + (self.shortfall << ENTRY_SHORTFALL_SHIFT)
        )

    @classmethod
    def unpack(cls, value: int) -> BatchEntry:
        """The entry packed as ``value``; ``InputError`` unless ``0 <= value < 2**253``."""
        if not _plain_int(value) or not 0 <= value < 1 << ENTRY_BITS:
            raise InputError("entry", f"a packed entry must satisfy 0 <= entry < 2**253, got {value!r}")
        return cls(
            value & (ID_LIMIT - 1),
            (value >> ENTRY_STATUS_SHIFT) & MAX_STATUS,
            value >> ENTRY_SHORTFALL_SHIFT,
        )


def check_batch(entries: Sequence[BatchEntry], size: int) -> None:
    """1..``size`` entries with strictly increasing account ids; ``InputError`` otherwise."""
    if not 1 <= len(entries) <= size:
        raise InputError(
            "batch", f"must hold 1..{size} entries (the profile's batch size), got {len(entries)}"
        )
    for i in range(1, len(entries)):
        if entries[i].account_id <= entries[i - 1].account_id:
            raise InputError(
                f"batch[{i}].account_id",
                f"ids must strictly increase: {entries[i].account_id} after {entries[i - 1].account_id}",
            )


def padded_entries(entries: Sequence[BatchEntry], size: int) -> list[int]:
    """The K packed entries of a batch: the entries, then zeros."""
    check_batch(entries, size)
    return [e.packed for e in entries] + [0] * (size - len(entries))


def batch_public_signals(
    accounts_root: int, market_root: int, params_hash: int, entries: Sequence[BatchEntry], size: int
) -> list[int]:
    """``[accounts_root, market_root, params_hash, count, entries[0..K-1]]``."""
    for name, value in (
        ("accounts_root", accounts_root),
        ("market_root", market_root),
        ("params_hash", params_hash),
    ):
        if not _plain_int(value) or not 0 <= value < FIELD_P:
            raise InputError(name, f"must be a field element (0 <= x < p), got {value!r}")
    return [accounts_root, market_root, params_hash, len(entries), *padded_entries(entries, size)]


def batch_entries(market: Market, params: RiskParams, accounts: Sequence[Account]) -> list[BatchEntry]:
    """The entries the engine computes for ``accounts`` (spec section 3), in the given order."""
    entries = []
    for account in accounts:
        result = compute_margin(market, params, account)
        entries.append(BatchEntry(account.account_id, int(result.status), result.shortfall))
    return entries

"""The statement of a batch proof (docs/margin-model.md section 6b): its entries, how they
are packed two to a field element, and the public signals of ``MarginBatch``.

An entry names one account of the accounts tree and its proven margin:
``entry = account_id + 2**64 * status + 2**66 * min(shortfall, SHORTFALL_CAP)``, below
``2**126``. The shortfall is capped at ``2**60 - 1`` units (about 1.15 trillion at six
decimals): any larger shortfall is published as the cap, so an entry is 126 bits whatever
the profile's bounds, and two entries share one public signal,
``word = entry[2j] + 2**126 * entry[2j + 1] < 2**252 < r``. It never wraps in the field and
the gate decodes it by shifts. Each public signal costs the verifier one elliptic-curve
multiplication (about 6,250 gas): two entries per word halve that per account.

A batch of size K holds 1..K entries with strictly increasing account ids (no account
twice); the public signals are ``[accounts_root, market_root, params_hash, count,
words[0..W-1]]`` with ``W = ceil(K / 2)``, unused entries 0 (padding, which the gate
ignores).
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
SHORTFALL_BITS = 60
SHORTFALL_CAP = (1 << SHORTFALL_BITS) - 1
ENTRY_BITS = ENTRY_SHORTFALL_SHIFT + SHORTFALL_BITS  # 126: an entry is below 2**126
ENTRIES_PER_WORD = 2
WORD_BITS = ENTRIES_PER_WORD * ENTRY_BITS  # 252: a word is below 2**252 < r
MAX_STATUS = 3


def _plain_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def capped_shortfall(shortfall: int) -> int:
    """The shortfall an entry carries: ``min(shortfall, SHORTFALL_CAP)``."""
    return min(shortfall, SHORTFALL_CAP)


def word_count(size: int) -> int:
    """W, the number of public words of K = ``size`` entries: ``ceil(K / 2)``."""
    return -(-size // ENTRIES_PER_WORD)


@dataclass(frozen=True)
class BatchEntry:
    """One account's public entry in a batch proof (its shortfall already capped)."""

    account_id: int
    status: int
    shortfall: int

    def __post_init__(self) -> None:
        if not _plain_int(self.account_id) or not 0 <= self.account_id < ID_LIMIT:
            raise InputError("entry.account_id", f"must satisfy 0 <= id < 2**64, got {self.account_id!r}")
        if not _plain_int(self.status) or not 0 <= self.status <= MAX_STATUS:
            raise InputError("entry.status", f"must be one of 0..{MAX_STATUS}, got {self.status!r}")
        if not _plain_int(self.shortfall) or not 0 <= self.shortfall <= SHORTFALL_CAP:
            raise InputError(
                "entry.shortfall",
                f"must satisfy 0 <= shortfall <= 2**60 - 1 (the cap), got {self.shortfall!r}",
            )

    @property
    def packed(self) -> int:
        """The entry as one integer below 2**126."""
        return (
            self.account_id + (self.status << ENTRY_STATUS_SHIFT) + (self.shortfall << ENTRY_SHORTFALL_SHIFT)
        )

    @property
    def capped(self) -> bool:
        """True if the shortfall is the cap: the account's shortfall is at least that."""
        return self.shortfall == SHORTFALL_CAP

    @classmethod
    def unpack(cls, value: int) -> BatchEntry:
        """The entry packed as ``value``; ``InputError`` unless ``0 <= value < 2**126``."""
        if not _plain_int(value) or not 0 <= value < 1 << ENTRY_BITS:
            raise InputError("entry", f"a packed entry must satisfy 0 <= entry < 2**126, got {value!r}")
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


def pack_words(packed: Sequence[int]) -> list[int]:
    """Packed entries two to a word: ``word[j] = packed[2j] + 2**126 * packed[2j + 1]``
    (a last odd entry alone)."""
    return [
        sum(v << (ENTRY_BITS * h) for h, v in enumerate(packed[j : j + ENTRIES_PER_WORD]))
        for j in range(0, len(packed), ENTRIES_PER_WORD)
    ]


def split_words(words: Sequence[int], count: int) -> list[int]:
    """The first ``count`` packed entries of ``words``, split by shifts and not checked:
    the low half of a word is masked to 126 bits, the high half is the rest (so a value
    out of range stays out of range for whoever checks it)."""
    low = (1 << ENTRY_BITS) - 1
    return [
        words[i // ENTRIES_PER_WORD] & low
        if i % ENTRIES_PER_WORD == 0
        else words[i // ENTRIES_PER_WORD] >> ENTRY_BITS
        for i in range(count)
    ]


def batch_words(entries: Sequence[BatchEntry], size: int) -> list[int]:
    """The W public words of a batch of size K = ``size``."""
    return pack_words(padded_entries(entries, size))


def unpack_words(words: Sequence[int], count: int, size: int) -> list[BatchEntry]:
    """The ``count`` entries of the W = ``len(words)`` public words of a batch of size
    K = ``size``; ``InputError`` (naming the word) unless there are W words of K entries,
    each below 2**252, whose entries after the first ``count`` are 0 and whose ids strictly
    increase."""
    if len(words) != word_count(size):
        raise InputError("words", f"a batch of size {size} has {word_count(size)} words, got {len(words)}")
    if not _plain_int(count) or not 1 <= count <= size:
        raise InputError("count", f"must be in 1..{size}, got {count!r}")
    for j, word in enumerate(words):
        if not _plain_int(word) or not 0 <= word < 1 << WORD_BITS:
            raise InputError(f"words[{j}]", f"a word must satisfy 0 <= word < 2**252, got {word!r}")
    values = split_words(words, ENTRIES_PER_WORD * len(words))
    for i in range(count, len(values)):
        if values[i] != 0:
            raise InputError(
                f"words[{i // ENTRIES_PER_WORD}]", f"entry {i} is padding (count {count}) and must be 0"
            )
    entries = [BatchEntry.unpack(v) for v in values[:count]]
    check_batch(entries, size)
    return entries


def batch_public_signals(
    accounts_root: int, market_root: int, params_hash: int, entries: Sequence[BatchEntry], size: int
) -> list[int]:
    """``[accounts_root, market_root, params_hash, count, words[0..W-1]]``."""
    for name, value in (
        ("accounts_root", accounts_root),
        ("market_root", market_root),
        ("params_hash", params_hash),
    ):
        if not _plain_int(value) or not 0 <= value < FIELD_P:
            raise InputError(name, f"must be a field element (0 <= x < p), got {value!r}")
    return [accounts_root, market_root, params_hash, len(entries), *batch_words(entries, size)]


def batch_entries(market: Market, params: RiskParams, accounts: Sequence[Account]) -> list[BatchEntry]:
    """The entries the engine computes for ``accounts`` (spec section 3), in the given order."""
    entries = []
    for account in accounts:
        result = compute_margin(market, params, account)
        entries.append(BatchEntry(account.account_id, int(result.status), capped_shortfall(result.shortfall)))
    return entries

"""Typed wrappers around one deployed BatchGate (docs/margin-model.md sections 6b and 7b):
the operator posts accounts roots, anyone submits ``MarginBatch`` proofs of up to K
accounts with ``attestBatch`` or ``liquidateBatch``.

A batch proof's public signals are ``[accounts_root, market_root, params_hash, count,
words[0..W-1]]``, two entries per word; the gate takes the three roots, the ``count`` used
entries (it packs them into words itself) and the proof (its G2 pairs swapped into the
precompile order, as for every gate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.batch_statement import ENTRIES_PER_WORD, BatchEntry, split_words
from verifier_contracts.chain import Chain
from verifier_contracts.constants import DEFAULT_MAX_MARKET_AGE
from verifier_contracts.gate import (
    GateClient,
    ProofArgs,
    ProofBundleError,
    TxResult,
    _as_view,
    _field_int,
    proof_args,
)

#: Gas for the verifier (4 pairings, ceil(K / 2) + 4 public inputs) and K records, with room
#: to spare.
BATCH_GAS_BASE = 600_000
BATCH_GAS_PER_ENTRY = 45_000


#: Ids per ``statusesOf`` call (about 5k gas each: a few million gas of a view, well inside
#: any node's eth_call cap).
STATUS_CHUNK = 500


def batch_gas_limit(size: int) -> int:
    """An explicit gas limit for a batch of up to ``size`` entries (the snarkjs verifier
    returns false instead of reverting when a precompile runs out of gas)."""
    return BATCH_GAS_BASE + BATCH_GAS_PER_ENTRY * size


@dataclass(frozen=True)
class BatchCall:
    """What ``attestBatch`` / ``liquidateBatch`` take: the proof, the three roots, the entries."""

    proof: ProofArgs
    roots: list[int]
    entries: list[int]

    @property
    def decoded(self) -> list[BatchEntry]:
        return [BatchEntry.unpack(e) for e in self.entries]


def batch_calldata(proof: Mapping[str, Any], public_signals: Sequence[Any]) -> BatchCall:
    """The gate's arguments from a batch proof (snarkjs proof JSON and its public signals)."""
    try:
        points = proof["pi_a"], proof["pi_b"], proof["pi_c"]
    except (KeyError, TypeError) as exc:
        raise ProofBundleError(f"batch proof lacks {exc}: needs pi_a, pi_b, pi_c") from None
    signals = [_field_int(s, f"public_signals[{i}]") for i, s in enumerate(public_signals)]
    if len(signals) < 5:
        raise ProofBundleError(f"public_signals: a batch has at least 5 values, got {len(signals)}")
    count, words = signals[3], signals[4:]
    if not 1 <= count <= ENTRIES_PER_WORD * len(words):
        raise ProofBundleError(f"public_signals: count {count} is not in 1..{ENTRIES_PER_WORD * len(words)}")
    # the gate checks every entry's range and packs them into words again
    return BatchCall(proof_args(*points), signals[:3], split_words(words, count))


@dataclass(frozen=True)
class BatchAccountStatus:
    """BatchGate.AccountView as returned by ``statusOf``."""

    shortfall: int
    proven_epoch: int
    proven_at: int
    accounts_epoch: int
    params_version: int
    status: int
    current: bool
    liquidation_open: bool


class BatchGate(GateClient):
    """Typed wrappers around one deployed BatchGate."""

    CONTRACT = "BatchGate"
    _batch_size: int | None = None

    @classmethod
    def deploy(
        cls,
        chain: Chain,
        verifier: str,
        batch_size: int,
        max_market_age: int = DEFAULT_MAX_MARKET_AGE,
        sender: str | None = None,
    ) -> tuple[BatchGate, TxResult]:
        """Deploy a batch gate for ``verifier`` (of ``MarginBatch`` with K = ``batch_size``)."""
        return cls._deploy_gate(
            chain, sender, chain.w3.to_checksum_address(verifier), batch_size, max_market_age
        )

    # ------------------------------------------------------------------ transactions

    def post_accounts(self, root: int, epoch: int, sender: str | None = None) -> TxResult:
        """Operator: post the accounts root of ``epoch`` (strictly increasing)."""
        fn = self.contract.functions.postAccounts(root, epoch)
        return self._send(fn, sender or self.chain.roles.operator)

    def close_liquidation(self, account_id: int, sender: str | None = None) -> TxResult:
        fn = self.contract.functions.closeLiquidation(account_id)
        return self._send(fn, sender or self.chain.roles.operator)

    def attest_batch(self, call: BatchCall, sender: str | None = None, gas: int | None = None) -> TxResult:
        """Verify a batch proof and record every entry (anyone may call)."""
        fn = self.contract.functions.attestBatch(call.proof, call.roots, call.entries)
        return self._send(fn, sender or self.chain.roles.user, gas or batch_gas_limit(len(call.entries)))

    def liquidate_batch(self, call: BatchCall, sender: str | None = None, gas: int | None = None) -> TxResult:
        """Verify a batch proof, record every entry, open a case for each of status 2 or 3."""
        fn = self.contract.functions.liquidateBatch(call.proof, call.roots, call.entries)
        return self._send(
            fn, sender or self.chain.roles.liquidator, gas or batch_gas_limit(len(call.entries))
        )

    # ------------------------------------------------------------------ views

    def status_of(self, account_id: int) -> BatchAccountStatus:
        return self._account_view(BatchAccountStatus, account_id)

    def statuses_of(self, ids: Sequence[int]) -> dict[int, BatchAccountStatus]:
        """``statusOf`` of every id, read with ``statusesOf`` in calls of STATUS_CHUNK ids."""
        out: dict[int, BatchAccountStatus] = {}
        for start in range(0, len(ids), STATUS_CHUNK):
            chunk = [int(i) for i in ids[start : start + STATUS_CHUNK]]
            rows = self.contract.functions.statusesOf(chunk).call()
            out.update(zip(chunk, (_as_view(BatchAccountStatus, row) for row in rows), strict=True))
        return out

    def accounts_root(self) -> tuple[int, int]:
        """The latest accounts root and its epoch."""
        fns = self.contract.functions
        return int(fns.accountsRoot().call()), int(fns.accountsEpoch().call())

    def batch_size(self) -> int:
        """K, the gate's batch size (immutable: read once)."""
        if self._batch_size is None:
            self._batch_size = int(self.contract.functions.batchSize().call())
        return self._batch_size


def opened_ids(tx: TxResult) -> list[int]:
    """The ids whose liquidation case a ``liquidateBatch`` transaction opened, in order."""
    return [int(i) for name, args in tx.events if name == "LiquidationsOpened" for i in args["ids"]]


def skipped_ids(tx: TxResult) -> list[int]:
    """The ids a ``liquidateBatch`` transaction skipped (case open, or closed at these epochs)."""
    return [int(args["id"]) for name, args in tx.events if name == "LiquidationSkipped"]

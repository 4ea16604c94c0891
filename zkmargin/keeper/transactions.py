"""Durable transactions for the operator: simulate, sign, record, then broadcast.

The order is what makes a crash harmless:

1. **simulate** the call (``eth_call``): a revert is decoded into the gate's custom error
   and nothing is sent;
2. **sign** it, locally with the role's private key when one is given, else with the
   node (``eth_signTransaction``, for the node's unlocked role accounts): the
   transaction hash is ``keccak(raw)``, known before anything is sent;
3. **record** hash and signed bytes in the job log (the caller does this, then moves
   the job to ``submitted`` with the hash);
4. **broadcast** the recorded bytes (``eth_sendRawTransaction``).

After a crash anywhere in between, a recorded transaction is either mined (its receipt
says how it went), waiting in the node's pool, or unknown to the node; an unknown one
is broadcast again *unchanged*: the same bytes have the same hash and the same nonce,
so it can be included at most once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils import keccak
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from engine.errors import ZkmarginError
from verifier_contracts.chain import Chain
from verifier_contracts.gate import GateError, GateRevert, decode_revert
from zkmargin.keeper.tx_store import SignedTx

logger = logging.getLogger("zkmargin.keeper.transactions")

#: Node answers to a re-broadcast of a transaction it has already seen or mined.
_ALREADY_SEEN = ("already known", "nonce too low", "already imported", "known transaction")
#: How nodes refuse a transaction whose fee is too low for the next block (or to replace one).
_FEE_TOO_LOW = ("less than block base fee", "underpriced", "fee too low", "max fee per gas less than")
#: Seconds between broadcasts of a transaction at the fee cap that the node refused for its
#: fee: it goes out as soon as the base fee falls below the cap.
RETRY_AT_CAP_EVERY = 1.0


@dataclass(frozen=True)
class FeePolicy:
    """EIP-1559 fees of the keeper's liquidations when the chain is busy (a crash is when
    fees spike): a transaction not mined after ``replace_after`` seconds, or refused for its
    fee, is replaced (same nonce) with fees ``bump`` higher (at least the 10 % nodes ask
    for a replacement) and at least twice the pending base fee, up to ``max_fee_wei``."""

    bump: float = 0.125
    max_fee_wei: int = 1000 * 10**9
    replace_after: float = 12.0

    def next_fees(self, last: tuple[int, int] | None, base_fee: int | None) -> tuple[int, int] | None:
        """(maxFeePerGas, maxPriorityFeePerGas) of the next attempt, or None at the cap."""
        tip = max(10**9, round((last[1] if last else 10**9) * (1 + self.bump)))
        wanted = 2 * (base_fee or 0) + tip
        if last is not None:
            wanted = max(wanted, round(last[0] * (1 + self.bump)))
        fee = min(wanted, self.max_fee_wei)
        if last is not None and fee < last[0] * 1.1:
            return None  # no room for a replacement below the cap
        return fee, min(tip, fee)


class TxError(ZkmarginError):
    """A transaction could not be signed, sent or confirmed; the message says why."""


def _hex(value: Any) -> Any:
    return hex(value) if isinstance(value, int) and not isinstance(value, bool) else value


def revert_of(exc: ContractLogicError, abi: Sequence[Mapping[str, Any]], function: str) -> GateError:
    """The gate's custom error (name and arguments) behind a failed call."""
    data = exc.data if isinstance(exc.data, str) else None
    if data is None and isinstance(exc.message, str) and exc.message.startswith("0x"):
        data = exc.message
    if data and data.startswith("0x") and len(data) >= 10:
        return decode_revert(abi, data, function)
    return GateRevert("Revert", {"message": str(exc)}, function)


class DurableTxs:
    """Simulate / sign / broadcast / settle transactions on one chain."""

    def __init__(
        self,
        chain: Chain,
        abi: Sequence[Mapping[str, Any]],
        *,
        receipt_timeout: float = 120.0,
        poll: float = 0.05,
        keys: Sequence[LocalAccount] = (),
    ) -> None:
        self.chain = chain
        self.w3 = chain.w3
        self.abi = abi
        self.keys = {key.address: key for key in keys}
        self.receipt_timeout = receipt_timeout
        self.poll = poll
        # Simulate on the pending block (the next block's time). The embedded chain mines
        # every transaction at once and serves no pending block: its latest block is it.
        self.simulation_block = "latest" if chain.tester is not None else "pending"

    # ------------------------------------------------------------ before sending

    def simulate(self, fn: ContractFunction, sender: str, gas: int | None = None) -> int:
        """Run ``fn`` as an ``eth_call`` on the pending block (the next block's time: a market
        that is fresh in the latest block may be stale by then); return the gas estimate
        (or ``gas``). Raises :class:`GateRevert` naming the custom error if it would revert."""
        tx: dict[str, Any] = {"from": sender}
        try:
            if gas is not None:
                fn.call({**tx, "gas": gas}, block_identifier=self.simulation_block)  # type: ignore[arg-type]
                return gas
            return int(fn.estimate_gas(tx, block_identifier=self.simulation_block))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise revert_of(exc, self.abi, fn.fn_name) from None

    def sign(
        self,
        fn: ContractFunction,
        sender: str,
        gas: int,
        purpose: str,
        *,
        nonce: int | None = None,
        fees: tuple[int, int] | None = None,
        max_fee_wei: int | None = None,
    ) -> SignedTx:
        """Build and sign ``fn`` from ``sender`` with the next nonce (or ``nonce``, for a
        replacement) and the node's fees (or ``fees``: maxFeePerGas, maxPriorityFeePerGas),
        the node's held to ``max_fee_wei`` (the keeper's fee cap, the first attempt's too);
        nothing is sent."""
        if nonce is None:
            nonce = self.w3.eth.get_transaction_count(sender, "pending")  # type: ignore[arg-type]
        params: dict[str, Any] = {"from": sender, "nonce": nonce, "gas": gas}
        if fees is not None:
            params |= {"maxFeePerGas": fees[0], "maxPriorityFeePerGas": fees[1]}
        tx: dict[str, Any] = dict(fn.build_transaction(params))  # type: ignore[arg-type]
        if "maxFeePerGas" in tx:
            tx["type"] = 2
            if fees is None and max_fee_wei is not None and int(tx["maxFeePerGas"]) > max_fee_wei:
                tx["maxFeePerGas"] = max_fee_wei
                tx["maxPriorityFeePerGas"] = min(int(tx["maxPriorityFeePerGas"]), max_fee_wei)
        key = self.keys.get(self.w3.to_checksum_address(sender))
        if key is not None:
            raw = "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()
        else:
            raw = self._node_sign(tx, sender, purpose)
        tx_hash = "0x" + keccak(hexstr=raw).hex()
        return SignedTx(tx_hash=tx_hash, raw=raw, sender=sender, nonce=int(nonce), purpose=purpose)

    def _node_sign(self, tx: Mapping[str, Any], sender: str, purpose: str) -> str:
        response = self.w3.provider.make_request(
            "eth_signTransaction",  # type: ignore[arg-type]
            [{k: _hex(v) for k, v in tx.items()}],
        )
        if "error" in response:
            raise TxError(f"{purpose}: the node cannot sign for {sender}: {response['error']}")
        raw = response.get("result")
        if isinstance(raw, Mapping):  # geth-style answer {"raw": ..., "tx": ...}
            raw = raw.get("raw")
        if not isinstance(raw, str) or not raw.startswith("0x"):
            raise TxError(f"{purpose}: eth_signTransaction returned {raw!r:.80}")
        return raw

    # ------------------------------------------------------------------ sending

    def broadcast(self, tx: SignedTx) -> bool:
        """Send the recorded bytes; a node that already has them (or mined them) is fine.
        Returns False when the node refuses them for their fee (a replacement is due)."""
        try:
            self.w3.eth.send_raw_transaction(HexStr(tx.raw))
        except (Web3RPCError, ValueError) as exc:
            text = str(exc).lower()
            if any(marker in text for marker in _ALREADY_SEEN):
                return True
            if any(marker in text for marker in _FEE_TOO_LOW):
                return False
            raise TxError(f"{tx.purpose}: broadcast of {tx.tx_hash} failed: {exc}") from None
        return True

    def fees_of(self, tx: SignedTx) -> tuple[int, int] | None:
        """(maxFeePerGas, maxPriorityFeePerGas) of a recorded EIP-1559 transaction."""
        fields = _fields_of(tx)
        if fields is None or "maxFeePerGas" not in fields:
            return None
        return int(fields["maxFeePerGas"]), int(fields["maxPriorityFeePerGas"])

    def resign(self, last: SignedTx, fees: tuple[int, int], purpose: str) -> SignedTx:
        """The same call as the recorded ``last`` (recipient, data, gas, value, nonce), signed
        again with ``fees`` as an EIP-1559 replacement; nothing is sent."""
        fields = _fields_of(last)
        if fields is None:
            raise TxError(f"{purpose}: the recorded transaction {last.tx_hash} cannot be decoded")
        to = fields.get("to")
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": int(fields.get("chainId") or self.w3.eth.chain_id),
            "nonce": last.nonce,
            "to": self.w3.to_checksum_address(to) if to else None,
            "value": int(fields.get("value", 0)),
            "data": "0x" + bytes(fields.get("data", b"")).hex(),
            "gas": int(fields["gas"]),
            "maxFeePerGas": fees[0],
            "maxPriorityFeePerGas": fees[1],
        }
        key = self.keys.get(self.w3.to_checksum_address(last.sender))
        if key is not None:
            raw = "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()
        else:
            raw = self._node_sign({**tx, "from": last.sender}, last.sender, purpose)
        tx_hash = "0x" + keccak(hexstr=raw).hex()
        return SignedTx(tx_hash=tx_hash, raw=raw, sender=last.sender, nonce=last.nonce, purpose=purpose)

    def follow(
        self,
        attempts: Sequence[SignedTx],
        policy: FeePolicy,
        record: Callable[[SignedTx], None],
        *,
        sent: bool = True,
        report_every: float = 30.0,
    ) -> tuple[SignedTx, Mapping[str, Any]]:
        """Wait until one of ``attempts`` (a transaction and its replacements: one sender, one
        nonce, newest last) is mined, and return it with its receipt. The newest is sent
        again if the node lost it, and replaced with higher fees (``policy``; ``record`` is
        called with each replacement before it is sent) when it waited ``replace_after``
        seconds or the node refused its fee (``sent`` False); at the fee cap it waits for fees
        to fall (a warning every ``report_every`` seconds), sending a refused attempt again
        every ``RETRY_AT_CAP_EVERY`` seconds until the node takes it. A nonce taken by a transaction
        not among ``attempts`` raises :class:`TxError`."""
        family = list(attempts)
        newest = family[-1]
        since = (
            time.monotonic() - max(0.0, time.time() - newest.created_at)
            if newest.created_at
            else time.monotonic()
        )
        reported = retried = time.monotonic()
        while True:
            for tx in reversed(family):
                receipt = self.receipt(tx.tx_hash)
                if receipt is not None:
                    return tx, receipt
            if self.w3.eth.get_transaction_count(newest.sender) > newest.nonce:  # type: ignore[arg-type]
                time.sleep(self.poll)  # mined between the receipt look-ups and now?
                if any(self.receipt(tx.tx_hash) is not None for tx in family):
                    continue
                raise TxError(
                    f"{newest.purpose}: nonce {newest.nonce} of {newest.sender} went to another transaction"
                )
            if sent and not any(self.known(tx.tx_hash) for tx in family):
                sent = self.broadcast(newest)  # the node lost it (restart, reorg, eviction)
                if sent:  # out again: it waits replace_after from now before it is replaced
                    logger.info(
                        "%s: recorded tx %s sent again (the node had lost it)", newest.purpose, newest.tx_hash
                    )
                    since = time.monotonic()
                    time.sleep(self.poll)
                    continue
            if not sent or time.monotonic() - since > policy.replace_after:
                fees = policy.next_fees(self.fees_of(newest), self.pending_base_fee())
                if fees is not None:
                    newest = self.resign(
                        newest, fees, f"{attempts[0].purpose} (fee {fees[0] / 10**9:.3g} gwei)"
                    )
                    record(newest)
                    family.append(newest)
                    sent = self.broadcast(newest)
                    since = time.monotonic()
                    logger.info(
                        "%s: replacement tx %s at %.3g gwei %s",
                        attempts[0].purpose,
                        newest.tx_hash,
                        fees[0] / 10**9,
                        "sent" if sent else "refused for its fee too",
                    )
                    continue
                if not sent and time.monotonic() - retried >= RETRY_AT_CAP_EVERY:
                    # at the cap and refused: the same bytes again once the base fee fell
                    retried = time.monotonic()
                    sent = self.broadcast(newest)
                    if sent:
                        since = time.monotonic()
                        logger.info(
                            "%s: tx %s at the fee cap sent: the base fee fell",
                            attempts[0].purpose,
                            newest.tx_hash,
                        )
                        continue
                if time.monotonic() - reported > report_every:
                    reported = time.monotonic()
                    logger.warning(
                        "%s: waits: the fee cap (%d gwei) is reached",
                        attempts[0].purpose,
                        policy.max_fee_wei // 10**9,
                    )
            time.sleep(self.poll)

    def send_until_mined(
        self,
        fn: ContractFunction,
        sender: str,
        gas: int,
        purpose: str,
        policy: FeePolicy,
        record: Callable[[SignedTx], None],
    ) -> tuple[SignedTx, Mapping[str, Any]]:
        """Sign ``fn``, ``record`` it, send it, and :meth:`follow` it (fee replacements
        included) until one attempt is mined."""
        signed = replace(
            self.sign(fn, sender, gas, purpose, max_fee_wei=policy.max_fee_wei), created_at=time.time()
        )
        record(signed)
        return self.follow([signed], policy, record, sent=self.broadcast(signed))

    def pending_base_fee(self) -> int | None:
        """The base fee the next block charges, when the node says."""
        try:
            block = self.w3.eth.get_block("pending")
        except (Web3RPCError, ValueError):
            return None
        fee = block.get("baseFeePerGas")
        return None if fee is None else int(fee)

    # ---------------------------------------------------------------- settling

    def receipt(self, tx_hash: str) -> Mapping[str, Any] | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def known(self, tx_hash: str) -> bool:
        """True if the node has the transaction (pending or mined)."""
        try:
            self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        return True

    def wait(self, tx_hash: str, timeout: float | None = None) -> Mapping[str, Any] | None:
        """The receipt of ``tx_hash``, polling up to ``timeout`` seconds; ``None`` if none came."""
        deadline = time.monotonic() + (self.receipt_timeout if timeout is None else timeout)
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None or time.monotonic() >= deadline:
                return receipt
            time.sleep(self.poll)

    def failure_reason(self, receipt: Mapping[str, Any], function: str = "") -> str:
        """Why a mined transaction reverted: replay it on the state of its block (a reverted
        transaction changes no contract state) and decode the custom error."""
        tx = self.w3.eth.get_transaction(receipt["transactionHash"])
        call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}
        try:
            self.w3.eth.call(call, block_identifier=receipt["blockNumber"])  # type: ignore[arg-type]
        except ContractLogicError as exc:
            return str(revert_of(exc, self.abi, function))
        return f"transaction reverted (gas used {receipt['gasUsed']} of {tx['gas']})"

    def in_flight(self, sender: str) -> int:
        """How many of ``sender``'s transactions wait to be mined (the node's view)."""
        pending = self.w3.eth.get_transaction_count(sender, "pending")  # type: ignore[arg-type]
        return max(0, pending - self.w3.eth.get_transaction_count(sender, "latest"))  # type: ignore[arg-type]

    def idle(self, sender: str) -> bool:
        """True when none of ``sender``'s transactions is waiting to be mined."""
        pending = self.w3.eth.get_transaction_count(sender, "pending")  # type: ignore[arg-type]
        return pending == self.w3.eth.get_transaction_count(sender, "latest")  # type: ignore[arg-type]

    def wait_idle(self, sender: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (self.receipt_timeout if timeout is None else timeout)
        while not self.idle(sender):
            if time.monotonic() >= deadline:
                raise TxError(f"transactions of {sender} still pending after {self.receipt_timeout:g} s")
            time.sleep(self.poll)


def _fields_of(tx: SignedTx) -> dict[str, Any] | None:
    """The fields of a recorded signed transaction (typed or legacy), or None."""
    import rlp
    from eth_account.typed_transactions import TypedTransaction
    from hexbytes import HexBytes

    raw = HexBytes(tx.raw)
    try:
        if raw and raw[0] <= 0x7F:  # EIP-2718 typed transaction
            return dict(TypedTransaction.from_bytes(raw).as_dict())
        nonce, gas_price, gas, to, value, data, *_ = rlp.decode(bytes(raw))
    except (ValueError, TypeError, rlp.exceptions.DecodingError):
        return None
    big = int.from_bytes
    return {
        "nonce": big(nonce, "big"),
        "gasPrice": big(gas_price, "big"),
        "gas": big(gas, "big"),
        "to": "0x" + bytes(to).hex() if to else None,
        "value": big(value, "big"),
        "data": bytes(data),
    }

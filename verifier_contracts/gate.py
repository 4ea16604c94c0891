"""Deploy the verifier, and the typed Python wrappers every gate shares (``GateBase.sol``:
roles, markets, parameters, the proof checks); ``verifier_contracts.batch_gate`` adds
BatchGate's own calls.

:func:`proof_args` turns a snarkjs proof into the gate's ``Proof`` argument, swapping each
G2 coordinate pair of ``pi_b`` into the EVM precompile order [c1, c0].

Calls that reach the verifier carry an explicit gas limit (the snarkjs verifier returns
false, not a revert, when a precompile runs out of gas). Every transaction is simulated
first, so a revert surfaces as :class:`GateRevert` naming the contract's custom error and
its arguments; receipts are checked.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import Any, Self, TypeVar

from eth_abi import decode as abi_decode
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from eth_utils import keccak
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.types import TxParams

from engine.errors import ZkmarginError
from verifier_contracts.chain import Chain
from verifier_contracts.solc import Artifact, compile_gate, compile_verifier

DEPLOY_GAS_LIMIT = 6_000_000
ProofArgs = tuple[list[int], list[list[int]], list[int]]
V = TypeVar("V")


class Role(IntEnum):
    """GateBase.Role."""

    OWNER = 0
    GOVERNANCE = 1
    ORACLE = 2
    OPERATOR = 3


class GateError(ZkmarginError):
    """Base class for failures talking to the gate."""


class ProofBundleError(GateError, ValueError):
    """A proof bundle is malformed."""


class GateRevert(GateError):
    """The gate reverted; ``error`` names the custom error, ``args`` holds its arguments."""

    def __init__(
        self,
        error: str,
        args: Mapping[str, Any] | None = None,
        function: str = "",
        contract: str = "BatchGate",
    ) -> None:
        self.error = error
        self.error_args: dict[str, Any] = dict(args or {})
        self.function = function
        shown = ", ".join(f"{k}={v}" for k, v in self.error_args.items())
        where = f"{function}: " if function else ""
        super().__init__(f"{where}{contract} reverted with {error}({shown})")


class TransactionFailed(GateError):
    """A mined transaction has status 0 and no decodable reason."""


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction: hash, gas used, block, decoded events in log order."""

    tx_hash: str
    gas_used: int
    block_number: int
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def event_names(self) -> list[str]:
        return [name for name, _ in self.events]


#: ``ProofNotOnCurve``'s ``point`` (GateBase's POINT_A, POINT_B, POINT_C), as the snarkjs
#: proof names it.
PROOF_POINTS = ("pi_a", "pi_b", "pi_c")


@dataclass(frozen=True)
class MarketInfo:
    """The gate's latest market (``latestMarket``, ``marketExpiry``): fresh up to and
    including the block timestamp ``expires_at``, fixed when it was posted (its post time
    plus the maximum age in force then; a later ``setMaxMarketAge`` does not move it)."""

    root: int
    epoch: int
    posted_at: int
    fresh: bool
    expires_at: int


def _field_int(value: Any, what: str) -> int:
    try:
        number = int(str(value), 10)
    except (TypeError, ValueError):
        raise ProofBundleError(f"{what}: not a decimal integer: {value!r}") from None
    if number < 0:
        raise ProofBundleError(f"{what}: negative: {number}")
    return number


def proof_args(pi_a: Sequence[Any], pi_b: Sequence[Sequence[Any]], pi_c: Sequence[Any]) -> ProofArgs:
    """A snarkjs proof's points as the gate's ``Proof`` (each G2 pair swapped to [c1, c0])."""
    try:
        a = [_field_int(pi_a[i], f"pi_a[{i}]") for i in range(2)]
        b = [
            [_field_int(pi_b[j][1], f"pi_b[{j}][1]"), _field_int(pi_b[j][0], f"pi_b[{j}][0]")]
            for j in range(2)
        ]
        c = [_field_int(pi_c[i], f"pi_c[{i}]") for i in range(2)]
    except (IndexError, TypeError) as exc:
        raise ProofBundleError(f"proof points are malformed: {exc}") from None
    return a, b, c


def _error_table(abi: Sequence[Mapping[str, Any]]) -> dict[bytes, tuple[str, list[str], list[str]]]:
    table: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for entry in abi:
        if entry.get("type") != "error":
            continue
        types = [i["type"] for i in entry["inputs"]]
        names = [i["name"] or f"arg{n}" for n, i in enumerate(entry["inputs"])]
        selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
        table[selector] = (entry["name"], types, names)
    return table


def decode_revert(
    abi: Sequence[Mapping[str, Any]], data: str | bytes, function: str = "", contract: str = "BatchGate"
) -> GateRevert:
    """Turn revert data into a :class:`GateRevert` naming the custom error (or the raw data)."""
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
    known = _error_table(abi).get(raw[:4])
    if known is None:
        return GateRevert("UnknownRevert", {"data": "0x" + raw.hex()}, function, contract)
    name, types, names = known
    args = dict(zip(names, abi_decode(types, raw[4:]), strict=True))
    required = args.get("required")
    if name == "Unauthorized" and isinstance(required, int) and required in Role._value2member_map_:
        args["required"] = Role(required).name.lower()
    point = args.get("point")
    if name == "ProofNotOnCurve" and isinstance(point, int) and 0 <= point < len(PROOF_POINTS):
        args["point"] = PROOF_POINTS[point]
    return GateRevert(name, args, function, contract)


def _revert_data(exc: ContractLogicError) -> str | None:
    data = exc.data
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        return data
    if isinstance(exc, ContractCustomError) and isinstance(exc.message, str) and exc.message.startswith("0x"):
        return exc.message
    return None


def _tester_revert_data(exc: BaseException) -> bytes | None:
    """Revert bytes of an eth-tester failure: an inner exception carries them as ``bytes``,
    web3's wrapper as the text ``execution reverted: b'...'``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TesterTransactionFailed) and seen.args:
            reason = seen.args[0]
            if isinstance(reason, bytes):
                return reason
            prefix = "execution reverted: "
            if isinstance(reason, str) and reason.startswith(prefix + "b"):
                literal = ast.literal_eval(reason[len(prefix) :])
                if isinstance(literal, bytes):
                    return literal
        seen = seen.__cause__ or seen.__context__
    return None


def _translate(
    exc: Exception, abi: Sequence[Mapping[str, Any]], function: str, contract: str = "BatchGate"
) -> GateError:
    if isinstance(exc, ContractPanicError):
        return GateRevert("Panic", {"message": str(exc)}, function, contract)
    data: str | bytes | None = _revert_data(exc) if isinstance(exc, ContractLogicError) else None
    if data is None:
        data = _tester_revert_data(exc)
    if data:
        return decode_revert(abi, data, function, contract)
    return GateRevert("Revert", {"message": str(exc)}, function, contract)


def _deploy(chain: Chain, artifact: Artifact, sender: str, *args: Any) -> tuple[str, TxResult]:
    factory = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    constructor = factory.constructor(*args)
    try:
        constructor.estimate_gas({"from": sender})  # a reverting constructor surfaces here, decoded
        tx_hash = constructor.transact({"from": sender, "gas": DEPLOY_GAS_LIMIT})
    except (ContractLogicError, TesterTransactionFailed) as exc:
        raise _translate(exc, artifact.abi, f"deploy {artifact.name}", artifact.name) from exc
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1 or not receipt.get("contractAddress"):
        raise TransactionFailed(f"deploying {artifact.name} failed (tx {tx_hash.hex()})")
    result = TxResult(tx_hash.hex(), int(receipt["gasUsed"]), int(receipt["blockNumber"]))
    return str(receipt["contractAddress"]), result


def deploy_verifier(chain: Chain, verifier_sol: str, sender: str | None = None) -> tuple[str, TxResult]:
    """Compile and deploy a snarkjs Solidity verifier; return its address and the receipt summary."""
    return _deploy(chain, compile_verifier(verifier_sol), sender or chain.roles.owner)


def _as_view(view: type[V], raw: Sequence[Any]) -> V:
    """A struct returned by the gate as the dataclass ``view`` (its fields in the struct's order)."""
    names = [f.name for f in fields(view)]  # type: ignore[arg-type]
    if len(raw) != len(names):
        raise GateError(f"the gate returned {len(raw)} fields, expected {len(names)} ({view.__name__})")
    return view(**{n: (bool(v) if isinstance(v, bool) else int(v)) for n, v in zip(names, raw, strict=True)})


class GateClient:
    """Typed wrappers around one deployed gate: what every gate has (GateBase.sol)."""

    CONTRACT = "GateBase"

    def __init__(self, chain: Chain, address: str, artifact: Artifact | None = None) -> None:
        self.chain = chain
        self.artifact = artifact or compile_gate(self.CONTRACT)
        self.address = chain.w3.to_checksum_address(address)
        self.contract: Contract = chain.w3.eth.contract(address=self.address, abi=self.artifact.abi)
        self._event_topics = {
            keccak(text=f"{e['name']}({','.join(i['type'] for i in e['inputs'])})"): e["name"]
            for e in self.artifact.abi
            if e.get("type") == "event"
        }

    @classmethod
    def _deploy_gate(cls, chain: Chain, sender: str | None, *args: Any) -> tuple[Self, TxResult]:
        """Deploy ``CONTRACT`` with ``args`` then the chain's governance, oracle and operator
        (every gate's constructor ends with them); ``sender`` (default: owner) owns it."""
        artifact = compile_gate(cls.CONTRACT)
        roles = chain.roles
        address, result = _deploy(
            chain, artifact, sender or roles.owner, *args, roles.governance, roles.oracle, roles.operator
        )
        return cls(chain, address, artifact), result

    # ------------------------------------------------------------------ transactions

    def _send(self, fn: ContractFunction, sender: str, gas: int | None = None) -> TxResult:
        tx: TxParams = {"from": self.chain.w3.to_checksum_address(sender)}
        if gas is not None:
            tx["gas"] = gas
        name = fn.fn_name
        try:
            if gas is not None:
                # Simulate first: a call that would revert is refused here, with its decoded
                # custom error, instead of being mined as a reverted transaction.
                fn.call(tx)
            # Without an explicit gas limit web3 estimates gas, which surfaces a revert here.
            tx_hash = fn.transact(tx)
        except (ContractLogicError, TesterTransactionFailed) as exc:
            raise _translate(exc, self.artifact.abi, name, self.CONTRACT) from exc
        receipt = self.chain.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise self._explain_failure(fn, tx, receipt)
        return TxResult(
            tx_hash.hex(), int(receipt["gasUsed"]), int(receipt["blockNumber"]), self._events(receipt)
        )

    def _explain_failure(self, fn: ContractFunction, tx: TxParams, receipt: Mapping[str, Any]) -> GateError:
        """A mined revert carries no reason: replay the call on the state it ran against
        (a failed transaction changes no contract state) to decode the custom error."""
        name = fn.fn_name
        try:
            fn.call(tx, block_identifier=receipt["blockNumber"])
        except (ContractLogicError, TesterTransactionFailed) as exc:
            return _translate(exc, self.artifact.abi, name, self.CONTRACT)
        gas = f"gas used {receipt['gasUsed']} of {tx.get('gas', 'estimated')}"
        return TransactionFailed(f"{name}: transaction {receipt['transactionHash'].hex()} reverted ({gas})")

    def _events(self, receipt: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        for log in receipt["logs"]:
            if log["address"] != self.address or not log["topics"]:
                continue
            name = self._event_topics.get(bytes(log["topics"][0]))
            if name is not None:
                decoded = self.contract.events[name]().process_log(log)
                found.append((name, dict(decoded["args"])))
        return found

    def transfer_ownership(self, new_owner: str, sender: str | None = None) -> TxResult:
        return self._send(
            self.contract.functions.transferOwnership(new_owner), sender or self.chain.roles.owner
        )

    def accept_ownership(self, sender: str) -> TxResult:
        return self._send(self.contract.functions.acceptOwnership(), sender)

    def set_role(self, role: Role, account: str, sender: str | None = None) -> TxResult:
        return self._send(
            self.contract.functions.setRole(int(role), account), sender or self.chain.roles.owner
        )

    def post_market(self, root: int, epoch: int, sender: str | None = None) -> TxResult:
        """Oracle: post ``root`` for ``epoch`` (strictly increasing)."""
        return self._send(self.contract.functions.postMarket(root, epoch), sender or self.chain.roles.oracle)

    def set_max_market_age(self, seconds: int, sender: str | None = None) -> TxResult:
        fn = self.contract.functions.setMaxMarketAge(seconds)
        return self._send(fn, sender or self.chain.roles.governance)

    def set_params(self, params_hash: int, sender: str | None = None) -> TxResult:
        """Governance: set the risk-parameters hash."""
        return self._send(
            self.contract.functions.setParams(params_hash), sender or self.chain.roles.governance
        )

    # ------------------------------------------------------------------ views

    def _account_view(self, view: type[V], account_id: int) -> V:
        """``statusOf(id)`` as the dataclass ``view`` (its fields in the struct's order)."""
        return _as_view(view, self.contract.functions.statusOf(account_id).call())

    def is_liquidatable(self, account_id: int) -> bool:
        return bool(self.contract.functions.isLiquidatable(account_id).call())

    def latest_market(self) -> MarketInfo:
        fns = self.contract.functions
        for _ in range(3):  # two views: read again if a post came between them
            root, epoch, posted_at, fresh = fns.latestMarket().call()
            expiry_epoch, expires_at = fns.marketExpiry().call()
            if expiry_epoch == epoch:
                break
        return MarketInfo(int(root), int(epoch), int(posted_at), bool(fresh), int(expires_at))

    def params_hash(self) -> int:
        return int(self.contract.functions.paramsHash().call())

    def max_market_age(self) -> int:
        """Seconds a market posted from now on stays fresh (the latest market keeps the
        expiry it was posted with: ``latest_market().expires_at``)."""
        return int(self.contract.functions.maxMarketAge().call())

    def verifier(self) -> str:
        return str(self.contract.functions.verifier().call())

    def role_holders(self) -> dict[str, str]:
        fns = self.contract.functions
        return {
            "owner": fns.owner().call(),
            "pending_owner": fns.pendingOwner().call(),
            "governance": fns.governance().call(),
            "oracle": fns.oracle().call(),
            "operator": fns.operator().call(),
        }

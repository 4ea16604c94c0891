"""Where a gate was deployed: addresses and chain facts saved to, and read from, a JSON file;
:func:`open_gate` opens the gate of a deployment on a connected chain."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import InputError, ZkmarginError
from engine.fileio import write_json_atomic
from engine.formats.json_text import loads_json
from verifier_contracts.constants import THROWAWAY_CHAINS

if TYPE_CHECKING:
    from verifier_contracts.batch_gate import BatchGate
    from verifier_contracts.chain import Chain

DEFAULT_DEPLOYMENT_FILE = Path("deployment.json")
DEPLOYMENT_FORMAT = "zkmargin/deployment@1"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")


class DeploymentError(ZkmarginError):
    """A deployment file is missing, unreadable or malformed."""


class NoGate(DeploymentError):
    """The chain reached has no gate where the deployment (or the address given) says."""


class NotAGate(NoGate):
    """The contract where the deployment (or the address given) says is not a BatchGate."""


@dataclass(frozen=True)
class Deployment:
    """One gate deployment: chain, contract addresses, role accounts, settings."""

    chain_id: int
    chain: str  # "embedded", "anvil" or "rpc"
    gate: str
    verifier: str
    block_number: int
    max_market_age: int
    rpc_url: str | None = None
    profile: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    block_hash: str | None = None  # of block_number: a reset chain no longer has it

    def to_json(self) -> dict[str, Any]:
        return {"format": DEPLOYMENT_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        """A deployment from a file's JSON object, every field checked (the error names it
        and its bound): a file edited by hand or by someone else is refused with the reason
        before any command uses it."""
        from engine.profiles import PROFILES
        from verifier_contracts.chain import ROLE_NAMES

        if data.get("format") != DEPLOYMENT_FORMAT:
            raise DeploymentError(
                f"unsupported deployment format {data.get('format')!r} (expected {DEPLOYMENT_FORMAT!r})"
            )
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise _bad(str(unknown[0])[:60], f"unknown field; known: {', '.join(sorted(_FIELDS))}")
        chain = data.get("chain")
        if chain not in _CHAIN_KINDS:
            raise _bad("chain", f"must be one of {', '.join(_CHAIN_KINDS)}, got {_shown(chain)}")
        rpc_url = data.get("rpc_url")
        if rpc_url is not None and not (isinstance(rpc_url, str) and _URL.match(rpc_url)):
            raise _bad("rpc_url", f"must be an http:// or https:// URL or null, got {_shown(rpc_url)}")
        profile = data.get("profile")
        if profile is not None and profile not in PROFILES:
            raise _bad(
                "profile", f"must be one of {', '.join(sorted(PROFILES))} or null, got {_shown(profile)}"
            )
        roles = data.get("roles") or {}
        if not isinstance(roles, dict):
            raise _bad("roles", f"must be an object of role name to address, got {_shown(roles)}")
        for role, address in roles.items():
            if role not in ROLE_NAMES:
                raise _bad(f"roles.{str(role)[:60]}", f"unknown role; known: {', '.join(ROLE_NAMES)}")
            check_address(f"deployment file: roles.{role}", address)
        block_hash = data.get("block_hash")
        if block_hash is not None and not (isinstance(block_hash, str) and _HASH.match(block_hash)):
            raise _bad("block_hash", f"must be 0x and 64 hex digits or null, got {_shown(block_hash)}")
        for name in ("gate", "verifier"):
            if name not in data:
                raise _bad(name, "required (the contract's address)")
            check_address(f"deployment file: {name}", data[name])
        return cls(
            chain_id=_int_field(data, "chain_id", 1, 2**64, "1 <= x < 2**64"),
            chain=chain,
            gate=data["gate"],
            verifier=data["verifier"],
            block_number=_int_field(data, "block_number", 0, 2**64, "0 <= x < 2**64"),
            max_market_age=_int_field(data, "max_market_age", 1, 2**64, "1 <= x < 2**64 seconds"),
            rpc_url=rpc_url,
            profile=profile,
            roles=dict(roles),
            block_hash=block_hash,
        )


_FIELDS = frozenset(
    {"format", "chain_id", "chain", "gate", "verifier", "block_number", "max_market_age"}
    | {"rpc_url", "profile", "roles", "block_hash"}
)
_CHAIN_KINDS = (*THROWAWAY_CHAINS, "rpc")
_URL = re.compile(r"https?://\S+\Z")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}\Z")


def _shown(value: Any) -> str:
    """A field's value in an error message, cut short."""
    return repr(value)[:60]


def _bad(field_name: str, problem: str) -> DeploymentError:
    return DeploymentError(f"deployment file: {field_name}: {problem}")


def _int_field(data: dict[str, Any], name: str, low: int, high: int, bound: str) -> int:
    """``data[name]``, a JSON integer with ``low <= x < high``."""
    if name not in data:
        raise _bad(name, f"required (an integer, {bound})")
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
        raise _bad(name, f"must be an integer with {bound}, got {_shown(value)}")
    return value


def check_address(what: str, value: str) -> str:
    """``value`` must be an address: 0x and 40 hex digits (checksum case is not required)."""
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise DeploymentError(f"{what}: not an address (0x and 40 hex digits): {str(value)[:60]!r}")
    return value


def save_deployment(deployment: Deployment, path: str | Path = DEFAULT_DEPLOYMENT_FILE) -> Path:
    """Write ``deployment`` to ``path`` atomically; return the path."""
    target = Path(path)
    write_json_atomic(target, deployment.to_json())
    return target


def load_deployment(path: str | Path = DEFAULT_DEPLOYMENT_FILE) -> Deployment:
    """Read a deployment file written by :func:`save_deployment`."""
    source = Path(path)
    try:
        data = loads_json(source.read_text(encoding="utf-8"), f"deployment file {source}")
    except FileNotFoundError:
        raise DeploymentError(f"no deployment file at {source}: run `zkmargin chain deploy` first") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeploymentError(f"cannot read deployment file {source}: {exc}") from None
    except InputError as exc:
        raise DeploymentError(f"cannot read deployment file {source}: {exc.message}") from None
    if not isinstance(data, dict):
        raise DeploymentError(f"deployment file {source} does not hold a JSON object")
    return Deployment.from_json(data)


def open_gate(chain: Chain, gate: Deployment | str) -> BatchGate:
    """The BatchGate of a deployment (or at an address) on ``chain``, once the chain is the
    deployment's (its chain id), holds a contract there, and that contract answers as a
    BatchGate does; else :class:`NoGate` (:class:`NotAGate` for a contract that is some
    other one, such as the verifier), naming where it looked (and, for a gate deployed on a
    throwaway chain, why it is gone)."""
    from verifier_contracts.batch_gate import BatchGate

    address = gate.gate if isinstance(gate, Deployment) else check_address("gate", gate)
    chain_id = chain.w3.eth.chain_id
    where = f"{chain.rpc_url or chain.kind} (chain id {chain_id})"
    same_chain = not isinstance(gate, Deployment) or chain_id == gate.chain_id
    if not same_chain or not chain.w3.eth.get_code(chain.w3.to_checksum_address(address)):
        hint = (
            " (it was deployed on a chain that lived only inside the deploying process)"
            if isinstance(gate, Deployment) and gate.chain in THROWAWAY_CHAINS
            else ""
        )
        raise NoGate(f"no gate at {address} on {where}{hint}")
    opened = BatchGate(chain, address)
    problem = _not_a_batch_gate(opened)
    if problem:
        raise NotAGate(f"the contract at {address} on {where} is not a BatchGate: {problem}")
    return opened


#: Views every BatchGate answers; a contract that fails one of them is another contract.
_GATE_VIEWS = ("batchSize", "accountsEpoch", "verifier")


def _not_a_batch_gate(gate: BatchGate) -> str | None:
    """Why the contract at ``gate.address`` is not a BatchGate (a view of the interface
    reverts or returns what the interface does not), or None when it answers as one."""
    from eth_abi.exceptions import DecodingError
    from eth_tester.exceptions import TransactionFailed  # a revert on the embedded chain
    from web3.exceptions import BadFunctionCallOutput, ContractLogicError, Web3ValueError

    for name in _GATE_VIEWS:
        try:
            getattr(gate.contract.functions, name)().call()
        except (ContractLogicError, TransactionFailed):
            return f"its {name}() reverts"
        except (BadFunctionCallOutput, DecodingError, Web3ValueError, OverflowError):
            return f"its {name}() returns no BatchGate answer"
    return None

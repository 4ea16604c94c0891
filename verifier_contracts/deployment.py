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
        if data.get("format") != DEPLOYMENT_FORMAT:
            raise DeploymentError(
                f"unsupported deployment format {data.get('format')!r} (expected {DEPLOYMENT_FORMAT!r})"
            )
        try:
            deployment = cls(
                chain_id=int(data["chain_id"]),
                chain=str(data["chain"]),
                gate=str(data["gate"]),
                verifier=str(data["verifier"]),
                block_number=int(data["block_number"]),
                max_market_age=int(data["max_market_age"]),
                rpc_url=data.get("rpc_url"),
                profile=data.get("profile"),
                roles={str(k): str(v) for k, v in (data.get("roles") or {}).items()},
                block_hash=data.get("block_hash"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DeploymentError(f"deployment file lacks or has a bad field: {exc}") from None
        for name in ("gate", "verifier"):
            check_address(f"deployment file: {name}", getattr(deployment, name))
        return deployment


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
    deployment's (its chain id) and holds a contract there; else :class:`NoGate`, naming
    where it looked (and, for a gate deployed on a throwaway chain, why it is gone)."""
    from verifier_contracts.batch_gate import BatchGate

    address = gate.gate if isinstance(gate, Deployment) else check_address("gate", gate)
    chain_id = chain.w3.eth.chain_id
    same_chain = not isinstance(gate, Deployment) or chain_id == gate.chain_id
    if not same_chain or not chain.w3.eth.get_code(chain.w3.to_checksum_address(address)):
        hint = (
            " (it was deployed on a chain that lived only inside the deploying process)"
            if isinstance(gate, Deployment) and gate.chain in THROWAWAY_CHAINS
            else ""
        )
        raise NoGate(f"no gate at {address} on {chain.rpc_url or chain.kind} (chain id {chain_id}){hint}")
    return BatchGate(chain, address)

"""Where a gate was deployed: addresses and chain facts saved to, and read from, a JSON file."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InputError, ZkmarginError
from engine.fileio import write_json_atomic
from engine.formats.json_text import loads_json

DEFAULT_DEPLOYMENT_FILE = Path("deployment.json")
DEPLOYMENT_FORMAT = "zkmargin/deployment@1"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")


class DeploymentError(ZkmarginError):
    """A deployment file is missing, unreadable or malformed."""


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

"""Where a gate was deployed: addresses and chain facts saved to, and read from, a JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ZkmarginError
from engine.fileio import write_json_atomic

DEFAULT_DEPLOYMENT_FILE = Path("deployment.json")
DEPLOYMENT_FORMAT = "zkmargin/deployment@1"


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

    def to_json(self) -> dict[str, Any]:
        return {"format": DEPLOYMENT_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        if data.get("format") != DEPLOYMENT_FORMAT:
            raise DeploymentError(
                f"unsupported deployment format {data.get('format')!r} (expected {DEPLOYMENT_FORMAT!r})"
            )
        try:
            return cls(
                chain_id=int(data["chain_id"]),
                chain=str(data["chain"]),
                gate=str(data["gate"]),
                verifier=str(data["verifier"]),
                block_number=int(data["block_number"]),
                max_market_age=int(data["max_market_age"]),
                rpc_url=data.get("rpc_url"),
                profile=data.get("profile"),
                roles={str(k): str(v) for k, v in (data.get("roles") or {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DeploymentError(f"deployment file lacks or has a bad field: {exc}") from None


def save_deployment(deployment: Deployment, path: str | Path = DEFAULT_DEPLOYMENT_FILE) -> Path:
    """Write ``deployment`` to ``path`` atomically; return the path."""
    target = Path(path)
    write_json_atomic(target, deployment.to_json())
    return target


def load_deployment(path: str | Path = DEFAULT_DEPLOYMENT_FILE) -> Deployment:
    """Read a deployment file written by :func:`save_deployment`."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeploymentError(f"no deployment file at {source}: run `zkmargin chain deploy` first") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DeploymentError(f"cannot read deployment file {source}: {exc}") from None
    if not isinstance(data, dict):
        raise DeploymentError(f"deployment file {source} does not hold a JSON object")
    return Deployment.from_json(data)

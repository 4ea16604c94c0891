"""Verification-key files: load one and compute its identifying digest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from engine.formats.json_text import loads_json
from prover.errors import ProverError


def canonical_json(data: Any) -> bytes:
    """Key-sorted, whitespace-free JSON: the bytes a digest is taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def vkey_sha256(vkey: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a verification key (insensitive to formatting)."""
    return hashlib.sha256(canonical_json(vkey)).hexdigest()


def load_vkey(path: Path) -> dict[str, Any]:
    """Read a snarkjs verification key JSON file."""
    try:
        data = loads_json(Path(path).read_text(encoding="utf-8"), f"verification key {path}")
    except OSError as exc:
        raise ProverError(f"verification key {path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise ProverError(f"verification key {path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("protocol") != "groth16":
        raise ProverError(f"verification key {path}: not a groth16 verification key")
    return data

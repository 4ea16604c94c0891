"""The one-account proof bundle (offline: nothing on chain takes it), as one JSON file.

    {
      "format": "zkmargin/proof@1",
      "profile": "test",
      "proof": {"pi_a": [...], "pi_b": [...], "pi_c": [...], "protocol": "groth16", "curve": "bn128"},
      "public_signals": ["<status>", "<shortfall>", "<commitment>", "<market_root>", "<params_hash>"],
      "vkey_sha256": "<hex digest of the canonical verification key JSON>",
      "market_epoch": 7,
      "created_at": "2026-11-21T06:00:00+00:00"
    }

Public signals are decimal strings below the BN254 scalar field order, in the
order of spec section 6. Loading validates shape and ranges; it does not verify
the proof (``prover.verification.verify_py`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.fileio import write_json_atomic
from engine.signals import PUBLIC_SIGNALS
from prover.curve import SCALAR_FIELD as R
from prover.statements.batch_bundle import BATCH_BUNDLE_FORMAT, BatchBundle
from prover.statements.bundle_file import (
    HEX64,
    check_decimal,
    is_zoned_time,
    read_bundle_json,
    validate_proof_points,
)
from prover.statements.bundle_file import fail as _fail

BUNDLE_FORMAT = "zkmargin/proof@1"
PUBLIC_SIGNAL_NAMES = PUBLIC_SIGNALS


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ProofBundle:
    profile: str
    proof: dict[str, Any]
    public_signals: list[str]
    vkey_sha256: str
    market_epoch: int
    created_at: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        validate(self.to_dict())

    # -- named public signals ---------------------------------------------
    def signal(self, name: str) -> int:
        return int(self.public_signals[PUBLIC_SIGNAL_NAMES.index(name)])

    @property
    def status(self) -> int:
        return self.signal("status")

    @property
    def shortfall(self) -> int:
        return self.signal("shortfall")

    @property
    def commitment(self) -> int:
        return self.signal("commitment")

    @property
    def market_root(self) -> int:
        return self.signal("market_root")

    @property
    def params_hash(self) -> int:
        return self.signal("params_hash")

    # -- (de)serialisation -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": BUNDLE_FORMAT,
            "profile": self.profile,
            "proof": self.proof,
            "public_signals": list(self.public_signals),
            "vkey_sha256": self.vkey_sha256,
            "market_epoch": self.market_epoch,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ProofBundle:
        validate(data)
        return cls(
            profile=data["profile"],
            proof=data["proof"],
            public_signals=list(data["public_signals"]),
            vkey_sha256=data["vkey_sha256"],
            market_epoch=data["market_epoch"],
            created_at=data["created_at"],
        )

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> ProofBundle:
        return cls.from_dict(read_bundle_json(path, "proof bundle"))


def validate(data: Any) -> None:
    """Raise BundleError unless ``data`` is a well-formed bundle dict."""
    if not isinstance(data, dict):
        _fail("top level", "expected a JSON object")
    if data.get("format") != BUNDLE_FORMAT:
        _fail("format", f"expected {BUNDLE_FORMAT!r}, got {data.get('format')!r}")
    for key in ("profile", "proof", "public_signals", "vkey_sha256", "market_epoch", "created_at"):
        if key not in data:
            _fail(key, "missing")
    if not isinstance(data["profile"], str) or not data["profile"]:
        _fail("profile", "expected a non-empty string")
    validate_proof_points(data["proof"])
    signals = data["public_signals"]
    if not isinstance(signals, list) or len(signals) != len(PUBLIC_SIGNAL_NAMES):
        _fail("public_signals", f"expected {len(PUBLIC_SIGNAL_NAMES)}: {', '.join(PUBLIC_SIGNAL_NAMES)}")
    for name, value in zip(PUBLIC_SIGNAL_NAMES, signals, strict=True):
        check_decimal(value, f"public_signals.{name}", R)
    if not isinstance(data["vkey_sha256"], str) or not HEX64.match(data["vkey_sha256"]):
        _fail("vkey_sha256", "expected 64 lowercase hex digits")
    epoch = data["market_epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        _fail("market_epoch", "expected a non-negative integer")
    if not is_zoned_time(data["created_at"]):
        _fail("created_at", "expected an ISO 8601 time with a time zone")


def load_any_bundle(path: Path) -> ProofBundle | BatchBundle:
    """A proof bundle of either format, by its ``format`` field (errors as each reader's)."""
    data = read_bundle_json(path, "proof bundle")
    if isinstance(data, dict) and data.get("format") == BATCH_BUNDLE_FORMAT:
        return BatchBundle.from_dict(data)
    return ProofBundle.from_dict(data)

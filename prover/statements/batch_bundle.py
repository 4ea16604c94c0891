"""The batch proof bundle: one ``MarginBatch`` proof as one JSON file, with each named
account's path in the accounts tree, so that every user it names can audit it alone.

    {
      "format": "zkmargin/batch-proof@1",
      "profile": "test",
      "batch_size": 4,
      "proof": {...snarkjs Groth16 proof...},
      "public_signals": ["<accounts_root>", "<market_root>", "<params_hash>", "<count>", "<word>", ...],
      "vkey_sha256": "<hex digest of the batch circuit's verification key>",
      "market_epoch": 2,
      "accounts_epoch": 1,
      "paths": {"<account id>": {"position": 5, "siblings": [["<s0>", "<s1>", "<s2>"], ...]}},
      "created_at": "2026-12-02T06:00:00+00:00"
    }

``public_signals`` has ``4 + ceil(batch_size / 2)`` decimal strings below r; word ``j``
holds entries ``2j`` and ``2j + 1`` as ``entry[2j] + 2**126 entry[2j + 1]``, entry ``i``
is ``id + 2**64 status + 2**66 min(shortfall, 2**60 - 1)`` for ``i < count`` and 0 after
(section 6b).
Loading validates every field; it does not verify the proof (``prover.verification.verify_py`` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.batch_statement import BatchEntry, unpack_words, word_count
from engine.errors import InputError
from engine.fileio import write_json_atomic
from engine.merkle import MerklePath
from engine.profiles import get_profile
from prover.curve import SCALAR_FIELD as R
from prover.statements.bundle_file import (
    HEX64,
    BundleError,
    check_decimal,
    is_zoned_time,
    read_bundle_json,
    validate_proof_points,
)
from prover.statements.prove_batch import BatchProof

BATCH_BUNDLE_FORMAT = "zkmargin/batch-proof@1"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fail(where: str, message: str) -> None:
    raise BundleError(f"batch proof bundle: {where}: {message}")


@dataclass(frozen=True)
class BatchBundle:
    profile: str
    batch_size: int
    proof: dict[str, Any]
    public_signals: list[str]
    vkey_sha256: str
    market_epoch: int
    accounts_epoch: int
    paths: dict[str, dict[str, Any]]
    created_at: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        validate_batch(self.to_dict())

    # -- the statement ------------------------------------------------------
    @property
    def accounts_root(self) -> int:
        return int(self.public_signals[0])

    @property
    def market_root(self) -> int:
        return int(self.public_signals[1])

    @property
    def params_hash(self) -> int:
        return int(self.public_signals[2])

    @property
    def entries(self) -> list[BatchEntry]:
        words = [int(v) for v in self.public_signals[4:]]
        return unpack_words(words, int(self.public_signals[3]), self.batch_size)

    def entry_of(self, account_id: int) -> BatchEntry | None:
        """The entry that names ``account_id``, or None."""
        return next((e for e in self.entries if e.account_id == account_id), None)

    def path_of(self, account_id: int) -> MerklePath | None:
        """The bundle's accounts-tree path of ``account_id`` (its leaf left as 0), or None."""
        raw = self.paths.get(str(account_id))
        if raw is None:
            return None
        position = int(raw["position"])
        siblings = tuple(tuple(int(s) for s in level) for level in raw["siblings"])
        digits = tuple((position >> (2 * level)) & 3 for level in range(len(siblings)))
        return MerklePath(position, 0, digits, siblings)  # type: ignore[arg-type]

    # -- (de)serialisation ----------------------------------------------------
    @classmethod
    def of(cls, proof: BatchProof, paths: dict[int, MerklePath], accounts_epoch: int) -> BatchBundle:
        """The bundle of a new batch proof with the paths of its accounts."""
        return cls(
            profile=proof.profile,
            batch_size=proof.batch_size,
            proof=proof.proof.proof,
            public_signals=list(proof.public_signals),
            vkey_sha256=proof.vkey_sha256,
            market_epoch=proof.market_epoch,
            accounts_epoch=accounts_epoch,
            paths={
                str(e.account_id): {
                    "position": paths[e.account_id].index,
                    "siblings": [[str(s) for s in level] for level in paths[e.account_id].siblings],
                }
                for e in proof.entries
            },
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": BATCH_BUNDLE_FORMAT,
            "profile": self.profile,
            "batch_size": self.batch_size,
            "proof": self.proof,
            "public_signals": list(self.public_signals),
            "vkey_sha256": self.vkey_sha256,
            "market_epoch": self.market_epoch,
            "accounts_epoch": self.accounts_epoch,
            "paths": self.paths,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> BatchBundle:
        validate_batch(data)
        return cls(**{k: data[k] for k in _KEYS})

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> BatchBundle:
        return cls.from_dict(read_bundle_json(path, "batch proof bundle"))


_KEYS = (
    "profile",
    "batch_size",
    "proof",
    "public_signals",
    "vkey_sha256",
    "market_epoch",
    "accounts_epoch",
    "paths",
    "created_at",
)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _fail(where, "expected a non-negative integer")
    return int(value)


def validate_batch(data: Any) -> None:
    """Raise BundleError unless ``data`` is a well-formed batch bundle dict."""
    if not isinstance(data, dict):
        _fail("top level", "expected a JSON object")
    if data.get("format") != BATCH_BUNDLE_FORMAT:
        _fail("format", f"expected {BATCH_BUNDLE_FORMAT!r}, got {data.get('format')!r}")
    for key in _KEYS:
        if key not in data:
            _fail(key, "missing")
    try:
        profile = get_profile(data["profile"]) if isinstance(data["profile"], str) else None
    except InputError:
        profile = None
    if profile is None:
        _fail("profile", f"not a known profile: {data['profile']!r:.40}")
    assert profile is not None
    size = _count(data["batch_size"], "batch_size")
    if size < 1:
        _fail("batch_size", "must be at least 1")
    validate_proof_points(data["proof"])
    signals = data["public_signals"]
    width = word_count(size)
    if not isinstance(signals, list) or len(signals) != width + 4:
        _fail("public_signals", f"expected 4 + ceil(batch_size / 2) = {width + 4} values")
    for i, value in enumerate(signals):
        check_decimal(value, f"public_signals[{i}]", R)
    count = int(signals[3])
    if not 1 <= count <= size:
        _fail("public_signals[3]", f"count must be in 1..{size}, got {count}")
    try:
        ids = [e.account_id for e in unpack_words([int(v) for v in signals[4:]], count, size)]
    except InputError as exc:
        word = re.fullmatch(r"words\[(\d+)\]", exc.field)
        _fail(f"public_signals[{4 + int(word[1])}]" if word else "public_signals", exc.message)
    if not isinstance(data["vkey_sha256"], str) or not HEX64.match(data["vkey_sha256"]):
        _fail("vkey_sha256", "expected 64 lowercase hex digits")
    _count(data["market_epoch"], "market_epoch")
    _count(data["accounts_epoch"], "accounts_epoch")
    paths = data["paths"]
    if not isinstance(paths, dict) or sorted(paths) != sorted(str(i) for i in ids):
        _fail("paths", "expected one path per entry, keyed by account id")
    for key, raw in paths.items():
        where = f"paths[{key}]"
        if not isinstance(raw, dict) or set(raw) != {"position", "siblings"}:
            _fail(where, "expected position and siblings")
        position = _count(raw["position"], f"{where}.position")
        if position >= profile.accounts_capacity:
            _fail(f"{where}.position", f"must be below 4**{profile.accounts_depth}")
        levels = raw["siblings"]
        if not isinstance(levels, list) or len(levels) != profile.accounts_depth:
            _fail(f"{where}.siblings", f"expected {profile.accounts_depth} levels of 3 siblings")
        for n, level in enumerate(levels):
            if not isinstance(level, list) or len(level) != 3:
                _fail(f"{where}.siblings[{n}]", "expected 3 siblings")
            for m, s in enumerate(level):
                check_decimal(s, f"{where}.siblings[{n}][{m}]", R)
    if not is_zoned_time(data["created_at"]):
        _fail("created_at", "expected an ISO 8601 time with a time zone")

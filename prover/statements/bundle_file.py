"""What every proof bundle file shares: reading its JSON, and the checks of its proof points,
decimal field elements, key digest and time stamp.

Both formats use it: the batch bundle (``prover.statements.batch_bundle``, the gate's) and
the offline one-account bundle (``prover.offline.bundle``). Every error is a
:class:`BundleError` naming the field; the messages start ``proof bundle:`` for both.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from engine.formats.json_text import loads_json
from prover.curve import BASE_FIELD as P
from prover.errors import ProverError

HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BundleError(ProverError):
    """A proof bundle that is malformed; the message names the offending field."""


def fail(where: str, message: str) -> NoReturn:
    """Raise ``BundleError("proof bundle: <where>: <message>")``."""
    raise BundleError(f"proof bundle: {where}: {message}")


def read_bundle_json(path: Path, what: str) -> Any:
    """The JSON of a bundle file; ``BundleError`` (naming ``what`` and the file) otherwise."""
    try:
        return loads_json(Path(path).read_text(encoding="utf-8"), f"{what} {path}")
    except OSError as exc:
        raise BundleError(f"{what} {path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise BundleError(f"{what} {path}: not JSON ({exc})") from None


def is_zoned_time(value: Any) -> bool:
    """True for an ISO 8601 time with a time zone (a bundle's ``created_at``)."""
    try:
        stamp = datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return stamp.tzinfo is not None


def check_decimal(value: Any, where: str, bound: int) -> None:
    """A canonical decimal string (no sign, no leading zero) below ``bound``."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        fail(where, f"expected a decimal string, got {value!r:.40}")
    if value != "0" and value.startswith("0"):
        fail(where, "leading zeros are not allowed")
    if int(value) >= bound:
        fail(where, "not below the field modulus")


def validate_proof_points(proof: Any) -> None:
    """A snarkjs Groth16 proof over bn128: ``pi_a``, ``pi_c`` of 3 and ``pi_b`` of 3 pairs."""
    if not isinstance(proof, dict):
        fail("proof", "expected an object")
    if proof.get("protocol") != "groth16" or proof.get("curve") != "bn128":
        fail("proof", "protocol must be groth16 and curve bn128")
    for name in ("pi_a", "pi_c"):
        point = proof.get(name)
        if not isinstance(point, list) or len(point) != 3:
            fail(f"proof.{name}", "expected 3 coordinates")
        for i, c in enumerate(point):
            check_decimal(c, f"proof.{name}[{i}]", P)
    pi_b = proof.get("pi_b")
    if not isinstance(pi_b, list) or len(pi_b) != 3:
        fail("proof.pi_b", "expected 3 coordinate pairs")
    for i, pair in enumerate(pi_b):
        if not isinstance(pair, list) or len(pair) != 2:
            fail(f"proof.pi_b[{i}]", "expected a pair")
        for j, c in enumerate(pair):
            check_decimal(c, f"proof.pi_b[{i}][{j}]", P)

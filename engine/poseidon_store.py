"""The derived Poseidon schedules, kept on disk between processes.

Deriving the optimised schedule of one width (the Grain LFSR's round constants, the MDS
matrix, the sparse factorisation: ``engine.poseidon``) takes up to 0.2 s in Python, and a
command that reads a market needs four widths: more than half a second of every
`zkmargin prove`, `margin` or `audit` before anything else. A schedule is a pure function
of the two modules that derive it, so it is stored once under
``<cache>/poseidon/schedule-t<T>-<digest>.json`` (``engine.paths.cache_root``), keyed by
the sha256 of those modules' source: a changed derivation is derived again, never read
from an older file.

The store only saves time. A file that cannot be read, does not parse, fails its own
sha256 or has the wrong shape is ignored (and derived again); a cache that cannot be
written is left alone. ``$ZKMARGIN_NATIVE=0`` or not, hashes are the same: tests compare
the stored schedule with the derived one and the hashes with circomlibjs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from engine.fileio import write_atomic
from engine.paths import cache_root

_SOURCES = ("poseidon.py", "poseidon_constants.py", "poseidon_store.py")
STORE_FORMAT = "zkmargin/poseidon-schedule@1"


@cache
def source_digest() -> str:
    """sha256 of the modules that derive and store a schedule."""
    h = hashlib.sha256()
    for name in _SOURCES:
        h.update((Path(__file__).with_name(name)).read_bytes())
    return h.hexdigest()


def schedule_path(width: int) -> Path:
    return cache_root() / "poseidon" / f"schedule-t{width}-{source_digest()[:16]}.json"


def _payload_digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def load_schedule(width: int) -> dict[str, Any] | None:
    """The stored fields of width ``width``'s schedule, or None when there is no good file."""
    try:
        doc = json.loads(schedule_path(width).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != STORE_FORMAT or doc.get("width") != width:
        return None
    fields = doc.get("fields")
    if not isinstance(fields, dict) or doc.get("sha256") != _payload_digest(fields):
        return None
    return fields


def store_schedule(width: int, fields: dict[str, Any]) -> None:
    """Keep ``fields`` (lists of ints) for the next process; a cache that cannot be written is
    left alone."""
    doc = {"format": STORE_FORMAT, "width": width, "sha256": _payload_digest(fields), "fields": fields}
    with contextlib.suppress(OSError):
        write_atomic(schedule_path(width), json.dumps(doc))

"""Generate a local powers-of-tau file with snarkjs, showing progress.

Steps: ``powersoftau new`` -> one ``contribute`` with fresh entropy -> ``beacon``
-> ``prepare phase2``. The result is single-party: whoever ran it could keep the
toxic waste, so it serves development and tests only, never production keys.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from prover.toolchain.steps import StepRunner
from prover.toolchain.tools import Toolchain

BEACON_ITERATIONS_EXP = 10
# Whole generations measured on this project's 2-core machines (prepare phase2
# dominates): 2^12 ~60 s, 2^14 ~220 s, 2^15 850 s (764 s of it prepare phase2),
# 2^16 1,004 s. Below 2^12 and above 2^16 the time is taken to double per power.
_MEASURED_SECONDS = {12: 60.0, 13: 120.0, 14: 220.0, 15: 850.0, 16: 1004.0}


def estimate_seconds(power: int) -> float:
    """Rough wall time of a whole generation at ``power`` on 2 cores."""
    if power in _MEASURED_SECONDS:
        return _MEASURED_SECONDS[power]
    if power < 12:
        return max(5.0, _MEASURED_SECONDS[12] * 2.0 ** (power - 12))
    return _MEASURED_SECONDS[16] * 2.0 ** (power - 16)


@dataclass(frozen=True)
class Step:
    name: str
    args: tuple[str, ...]
    weight: float  # share of the total time, for the overall bar


def plan(power: int, folder: Path, final: Path) -> list[Step]:
    """The four snarkjs invocations that make ``final``."""
    p0, p1, pb = (folder / n for n in ("pot_0000.ptau", "pot_0001.ptau", "pot_beacon.ptau"))
    entropy = secrets.token_hex(32)
    beacon = secrets.token_hex(32)
    return [
        Step("new", ("powersoftau", "new", "bn128", str(power), str(p0), "-v"), 0.02),
        Step(
            "contribute",
            (
                "powersoftau",
                "contribute",
                str(p0),
                str(p1),
                "--name=zkmargin local dev",
                f"-e={entropy}",
                "-v",
            ),
            0.07,
        ),
        Step(
            "beacon",
            (
                "powersoftau",
                "beacon",
                str(p1),
                str(pb),
                beacon,
                str(BEACON_ITERATIONS_EXP),
                "-n=zkmargin dev beacon",
                "-v",
            ),
            0.07,
        ),
        Step("prepare phase2", ("powersoftau", "prepare", "phase2", str(pb), str(final), "-v"), 0.84),
    ]


def generate_ptau(
    power: int, final: Path, tools: Toolchain, console: Console | None = None
) -> dict[str, object]:
    """Make a prepared ptau of ``power`` at ``final`` (written in a temp folder, then renamed).

    Returns a record (power, per-step seconds, sha256) also saved as ``final`` + ``.json``.
    """
    staging = final.parent / f".tmp-pot{power}-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    out = staging / final.name
    try:
        steps = plan(power, staging, out)
        title = f"ptau 2^{power} (single-party, dev only; ~{estimate_seconds(power):.0f} s)"
        with StepRunner(title, 1.0, console, str(tools.root)) as runner:
            for step in steps:
                runner.run(step.name, tools.snarkjs_cmd(*step.args), step.weight)
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        out.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    record: dict[str, object] = {
        "format": "zkmargin/ptau-record@1",
        "power": power,
        "single_party": True,
        "note": "locally generated, single-party: development only",
        "seconds": runner.seconds,
        "sha256": digest,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    final.with_name(final.name + ".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record

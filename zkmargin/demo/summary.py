"""What the demo did: its summary (``summary.json``), the tables it prints at the end, and
the few phrases its steps print."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from engine.fileio import write_json_atomic
from engine.status import Status
from verifier_contracts.gate import TxResult
from zkmargin.text import status_text


@dataclass
class DemoSummary:
    """What the demo did, with its figures (written to ``summary.json``)."""

    profile: str
    chain: str
    constraints: int = 0
    statuses_before: dict[str, int] = field(default_factory=dict)
    statuses_after: dict[str, int] = field(default_factory=dict)
    proofs: int = 0
    prover: str = ""  # the Groth16 backend that made the proofs
    proof_seconds: list[float] = field(default_factory=list)
    gas: dict[str, list[int]] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    liquidatable_before: list[int] = field(default_factory=list)
    liquidatable_after: list[int] = field(default_factory=list)
    liquidated: list[int] = field(default_factory=list)
    attested: list[int] = field(default_factory=list)
    batch_size: int = 0
    batch_constraints: int = 0
    batches: list[dict[str, Any]] = field(default_factory=list)
    audit_ok: bool = False
    gate: str = ""  # the BatchGate's address (a user's on-chain audit reads it)

    def record_gas(self, call: str, tx: TxResult) -> None:
        self.gas.setdefault(call, []).append(tx.gas_used)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "zkmargin/demo-summary@1",
            "profile": self.profile,
            "chain": self.chain,
            "prover": self.prover,
            "constraints": self.constraints,
            "statuses_before": self.statuses_before,
            "statuses_after": self.statuses_after,
            "proofs": self.proofs,
            "proof_seconds": self.proof_seconds,
            "gas": self.gas,
            "steps_seconds": self.steps,
            "liquidatable_before": self.liquidatable_before,
            "liquidatable_after": self.liquidatable_after,
            "liquidated": self.liquidated,
            "attested": self.attested,
            "batch_size": self.batch_size,
            "batch_constraints": self.batch_constraints,
            "batches": self.batches,
            "audit_ok": self.audit_ok,
            "gate": self.gate,
        }


def print_summary(s: DemoSummary, console: Console, out: Path) -> None:
    """The summary's tables and figures; ``summary.json`` written into ``out``."""
    console.rule("[bold]summary")
    table = Table(title="accounts by status", box=box.SIMPLE_HEAD)
    table.add_column("status")
    table.add_column("epoch 1", justify="right")
    table.add_column("after the shock", justify="right")
    for status in Status:
        table.add_row(
            status_text(status),
            str(s.statuses_before.get(status.label, 0)),
            str(s.statuses_after.get(status.label, 0)),
        )
    console.print(table)
    gas = Table(title="gas per call", box=box.SIMPLE_HEAD)
    for col in ("call", "calls", "gas (mean)", "gas (max)"):
        gas.add_column(col, justify="right" if col != "call" else "left")
    for call, used in s.gas.items():
        gas.add_row(call, str(len(used)), f"{sum(used) // len(used):,}", f"{max(used):,}")
    console.print(gas)
    steps = Table(title="time per step", box=box.SIMPLE_HEAD)
    steps.add_column("step")
    steps.add_column("seconds", justify="right")
    for name, seconds in s.steps.items():
        steps.add_row(name, f"{seconds:.1f}")
    console.print(steps)
    if s.batches:
        settled = sum(len(b["accounts"]) for b in s.batches)
        per_account = sum(b["gas"] for b in s.batches) / settled
        console.print(
            f"batches: {settled} liquidations in {len(s.batches)} proof(s) of up to {s.batch_size} accounts "
            f"(MarginBatch, {s.batch_constraints:,} constraints): {per_account:,.0f} gas per liquidated "
            "account"
        )
    mean = sum(s.proof_seconds) / max(len(s.proof_seconds), 1)
    console.print(
        f"profile {s.profile} ({s.constraints:,} constraints); {s.proofs} proofs, {mean:.2f} s each; "
        f"{len(s.liquidated)} liquidations on chain; audit {'passed' if s.audit_ok else 'FAILED'}"
    )
    write_json_atomic(out / "summary.json", s.to_dict())
    console.print(f"figures written to {out / 'summary.json'}")


def count_statuses(statuses: list[int]) -> dict[str, int]:
    counts = Counter(statuses)
    return {s.label: counts.get(s, 0) for s in Status}


def statuses_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items())


def liquidation_text(below: float | None, above: float | None) -> str:
    parts = []
    if below is not None:
        parts.append(f"liquidatable below {below:,.2f}")
    if above is not None:
        parts.append(f"above {above:,.2f}")
    return " and ".join(parts) if parts else "no liquidation price within 0.01x-100x spot"

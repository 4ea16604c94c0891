"""Text for people, shared by the CLI, the demo and the logs: the consoles, statuses in
their style, amounts and seconds, a proof's outputs, an audit's check list.

Below the CLI (``zkmargin.cli.render`` builds its tables on these), so that the demo and
the keeper's logging show the same text without importing the CLI. Amounts go through
:mod:`engine.money`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.money import money
from engine.status import Status

if TYPE_CHECKING:
    from engine.margin import MarginResult
    from zkmargin.audit import Check

#: Output to a file or a pipe is laid out 120 columns wide (rich would assume 80), so that
#: tables of amounts are never squeezed there; a terminal uses its own width.
PIPE_WIDTH = 120


def _console(stderr: bool = False) -> Console:
    found = Console(stderr=stderr)
    return found if found.is_terminal else Console(stderr=stderr, width=max(found.width, PIPE_WIDTH))


console = _console()
err_console = _console(stderr=True)


def status_text(status: int) -> str:
    """A status as rich markup in its style: ``[red]liquidatable[/]``."""
    try:
        s = Status(status)
    except ValueError:
        return "unknown"
    return f"[{s.style}]{s.label}[/]"


def ratio_text(result: MarginResult) -> str:
    return "inf" if result.MM == 0 else f"{result.E / result.MM:.3f}"


def spot_text(value: float | None) -> str:
    """A liquidation spot; "-" when there is none in the searched range."""
    return "-" if value is None else f"{value:,.6g}"


def format_seconds(seconds: float) -> str:
    """12 s, 3 min 04 s, 2 h 05 min."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def proof_outputs_text(status: int, shortfall: int, epoch: int) -> str:
    """The public outputs of a proof for people: status, shortfall in money, epoch."""
    return f"status {status} ({status_text(status)}), shortfall {money(shortfall)}, epoch {epoch}"


def print_checks(title: str, checks: Sequence[Check], out: Console | None = None) -> None:
    """An audit's check list: name, ok or FAILED, what was compared."""
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for col in ("check", "result", "detail"):
        table.add_column(col)
    for c in checks:
        table.add_row(c.name, "[green]ok[/green]" if c.ok else "[red]FAILED[/red]", escape(c.detail))
    (out or console).print(table)

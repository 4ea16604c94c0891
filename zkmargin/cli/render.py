"""Everything the CLI shows people: tables of markets, margins, calibrations, explanations
and job logs.

Every command, the demo and the audit show the same figure for the same account (amounts
through :mod:`engine.money`). The consoles and the text the demo shares with the CLI
(statuses, spots, seconds, a proof's outputs, the check list) live below both, in
:mod:`zkmargin.text`, and are named here too. Raw x10^6 integers appear only in
``--json`` output.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.errors import ZkmarginError
from engine.fixedpoint import SCALE
from engine.money import QUOTE_CURRENCY, money_amount
from engine.status import Status
from zkmargin.text import PIPE_WIDTH as PIPE_WIDTH
from zkmargin.text import console, format_seconds, ratio_text, spot_text, status_text
from zkmargin.text import err_console as err_console
from zkmargin.text import print_checks as print_checks
from zkmargin.text import proof_outputs_text as proof_outputs_text

if TYPE_CHECKING:
    from engine.calibration.calibrate import Calibration
    from engine.formats import LabeledAccount, MarketFile
    from engine.margin import MarginResult
    from engine.model import RiskParams


class CliError(ZkmarginError):
    """A failure found by the CLI itself (conflicting options, a missing file): exit code 2."""


def print_market(mf: MarketFile, params: RiskParams, params_hash: int, cal: Calibration | None) -> None:
    m = mf.market
    table = Table(title=f"market epoch {m.epoch} ({m.profile.name}, as of {mf.as_of.isoformat()})")
    for col in (
        "asset",
        f"spot ({QUOTE_CURRENCY})",
        f"depth ({QUOTE_CURRENCY})",
        "instruments",
        "vol forecast",
        "kappa",
    ):
        table.add_column(col, justify="left" if col == "asset" else "right")
    for a, name in enumerate(m.asset_names):
        n_rows = sum(1 for row in m.rows.values() if row.asset == a)
        forecast = mf.config.forecast.get(name)
        table.add_row(
            escape(name),
            money_amount(m.assets[a].spot),
            money_amount(m.assets[a].depth),
            str(n_rows),
            "-" if forecast is None else f"{forecast:.1%}",
            f"{params.kappa[a] / SCALE:g}",
        )
    console.print(table)
    console.print(
        f"correlation: {'calibrated from history' if cal else 'none given (rho = 1, no cross-asset credit)'}"
    )
    console.print(f"market_root {mf.market_root}", soft_wrap=True)
    console.print(f"params_hash {params_hash}", soft_wrap=True)


#: ``margin`` shows every account up to this many; beyond, a summary (counts by status and
#: the accounts in most trouble), the full list being in ``--out`` / ``--json``.
MARGIN_TABLE_ROWS = 200


class MarginTable:
    """The margin table of any number of accounts, fed piece by piece: all of them when
    they are at most ``MARGIN_TABLE_ROWS``, else the counts by status and the accounts in
    most trouble (by status, then shortfall, then file order), kept in a bounded heap."""

    def __init__(self, rows: int = MARGIN_TABLE_ROWS) -> None:
        self.rows = rows
        self.total = 0
        self.counts = {s: 0 for s in Status}
        self._first: list[tuple[LabeledAccount, MarginResult]] = []
        self._worst: list[tuple[int, int, int, LabeledAccount, MarginResult]] = []

    def add(self, accounts: Sequence[LabeledAccount], results: Sequence[MarginResult]) -> None:
        for acc, r in zip(accounts, results, strict=True):
            self.counts[Status(r.status)] += 1
            if len(self._first) <= self.rows:
                self._first.append((acc, r))
            heapq.heappush(self._worst, (r.status, r.shortfall, -self.total, acc, r))
            if len(self._worst) > self.rows:
                heapq.heappop(self._worst)
            self.total += 1

    def print(self) -> None:
        shown = self._first
        title = f"margin ({QUOTE_CURRENCY}, rounded down to the cent)"
        if self.total > self.rows:
            console.print(
                f"{self.total:,} accounts: "
                + ", ".join(f"{n:,} {s.label}" for s, n in self.counts.items())
                + " (every account: --out FILE or --json)",
                highlight=False,
            )
            shown = [(acc, r) for *_, acc, r in sorted(self._worst, key=lambda e: (-e[0], -e[1], -e[2]))]
            title = f"the {self.rows} accounts in most trouble, {title}"
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
        # Amounts never wrap or truncate; a long account name folds when the terminal is narrow.
        table.add_column("account", overflow="fold")
        table.add_column("status", no_wrap=True)
        for col in ("equity", "IM", "MM", "shortfall", "E/MM"):
            table.add_column(col, justify="right", no_wrap=True)
        for acc, r in shown:
            table.add_row(
                escape(acc.display_name),
                status_text(r.status),
                money_amount(r.E),
                money_amount(r.IM),
                money_amount(r.MM),
                money_amount(r.shortfall),
                ratio_text(r),
            )
        console.print(table)


def print_calibration(cal: Calibration) -> None:
    table = Table(title=f"volatility forecasts (each asset's own closes; correlation: {cal.n_closes} common)")
    for col in ("asset", "closes", "EWMA", "GARCH", "forecast", "alpha", "beta"):
        table.add_column(col, justify="left" if col == "asset" else "right")
    for name in cal.assets:
        fit = cal.garch[name]
        table.add_row(
            escape(name),
            str(cal.closes.get(name, cal.n_closes)),
            f"{cal.ewma[name]:.1%}",
            f"{fit.forecast:.1%}",
            f"{cal.forecast[name]:.1%}",
            f"{fit.alpha:.3f}",
            f"{fit.beta:.3f}",
        )
    console.print(table)
    corr = Table(title="correlation (EWMA, nearest correlation matrix)")
    corr.add_column("")
    for name in cal.assets:
        corr.add_column(escape(name), justify="right")
    for i, name in enumerate(cal.assets):
        corr.add_row(escape(name), *(f"{cal.correlation[i][j]:.3f}" for j in range(len(cal.assets))))
    console.print(corr)


def print_explanation(doc: Mapping[str, Any], out: Console | None = None) -> None:
    """The explanation document as rich tables."""
    out = out or console
    name = doc["label"] or f"#{doc['account_id']}"
    ratio = "inf" if doc["ratio"] is None else f"{doc['ratio']:.3f}"
    out.print(f"account [bold]{escape(name)}[/bold]: {status_text(doc['status'])}  E/MM {ratio}")
    summary = Table(title=f"margin ({QUOTE_CURRENCY})", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("equity", "IM", "MM", "shortfall", "R (scenarios)", "of it correlated", "SC (static)"):
        summary.add_column(col, justify="right", no_wrap=True)
    summary.add_row(
        *(money_amount(int(doc[k])) for k in ("equity", "im", "mm", "shortfall", "r", "r_directional", "sc"))
    )
    out.print(summary)
    parts = Table(title="per asset", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in (
        "asset",
        "worst loss",
        "directional",
        "non-dir.",
        "scenario",
        "LQ",
        "liq. below",
        "liq. above",
    ):
        parts.add_column(col, justify="left" if col in ("asset", "scenario") else "right")
    for a in doc["assets"]:
        if not a["held"]:
            continue
        scenario = f"{a['worst_scenario']}: {a['scenario']}" if int(a["worst_loss"]) else "no loss"
        now = a["liquidatable_now"]
        parts.add_row(
            escape(a["name"]),
            money_amount(int(a["worst_loss"])),
            money_amount(int(a["directional"])),
            money_amount(int(a["non_directional"])),
            escape(scenario),
            money_amount(int(a["liquidity_addon"])),
            "now" if now else spot_text(a["liquidation_below"]),
            "now" if now else spot_text(a["liquidation_above"]),
        )
    out.print(parts)
    if doc["what_if"] is not None:
        _print_what_if(doc["what_if"], out)


def _print_what_if(doc: Mapping[str, Any], out: Console) -> None:
    trades = ", ".join(f"{t['instrument_id']}:{t['q']}" for t in doc["trades"])
    table = Table(title=f"what if {escape(trades)} (at the mark)", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("", "status", "equity", "IM", "MM", "shortfall"):
        table.add_column(col, justify="left" if col in ("", "status") else "right", no_wrap=True)
    for when in ("before", "after"):
        r = doc[when]
        table.add_row(
            when,
            status_text(r["status"]),
            *(money_amount(int(r[k])) for k in ("equity", "im", "mm", "shortfall")),
        )
    out.print(table)


def progress_table(progress: Mapping[str, Any], job_states: Sequence[str]) -> Table:
    """Jobs by state, proofs/s, workers and ETA: ``operator status`` and the live display."""
    table = Table(title="proving", title_justify="left")
    for state in job_states:
        table.add_column(state, justify="right")
    for col in ("proofs/s", "workers", "ETA"):
        table.add_column(col, justify="right")
    counts = progress["jobs"]
    eta = progress["eta_seconds"]
    table.add_row(
        *(str(counts.get(s, 0)) for s in job_states),
        f"{progress['proofs_per_second']:.3f}",
        str(len(progress["workers"])),
        "-" if eta is None else format_seconds(eta),
    )
    return table


def print_job_log(data: Mapping[str, Any], job_states: Sequence[str]) -> None:
    """`operator status`: snapshots, jobs by state, the failed ones with their reasons."""
    table = Table(title="snapshots", title_justify="left")
    for col in ("source", "id", "epoch", "state", "accounts", "jobs"):
        table.add_column(col, no_wrap=col != "source", overflow="fold")
    for snap in data["snapshots"]:
        jobs = ", ".join(f"{n} {s}" for s, n in snap["jobs"].items()) or "-"
        table.add_row(
            PurePath(snap["source"]).name,
            snap["snapshot_id"][:12],
            str(snap["epoch"]),
            snap["state"],
            str(snap["accounts"]),
            jobs,
        )
    console.print(table)
    for snap in data["snapshots"]:
        if snap["reason"]:
            console.print(
                f"  {snap['state']}: {PurePath(snap['source']).name}: {snap['reason']}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    counts = data["jobs"]
    console.print("jobs: " + ", ".join(f"{counts[s]} {s}" for s in job_states))
    if "progress" in data:
        console.print(progress_table(data["progress"], job_states))
    for job in data["failed_jobs"]:
        console.print(
            f"  failed{' (retryable: the next run tries again)' if job.get('retryable') else ''}: "
            f"batch {job['batch']} (accounts {', '.join(str(i) for i in job['account_ids'])}; "
            f"{job['snapshot_id'][:12]}): {job['reason']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

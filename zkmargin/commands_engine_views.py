"""Helpers of the engine CLI commands: calibration choice, margin runs and rich output.

Kept apart from ``zkmargin.commands_engine`` (which only wires click options to
these functions) so the commands stay short.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from rich import box
from rich.markup import escape
from rich.table import Table

from engine.commitments import params_hash as _params_hash
from engine.errors import InputError
from engine.fixedpoint import SCALE
from engine.formats import LabeledAccount, MarketFile, QuotesFile
from engine.margin import MarginResult, compute_margin
from engine.model import Account, Market, RiskParams, RowConfig
from zkmargin.cli_support import console

if TYPE_CHECKING:
    from engine.calibration import Calibration

STATUS_STYLE = {0: "green", 1: "yellow", 2: "red", 3: "bold red"}
_CENT = Decimal("0.01")


def money(x: int) -> str:
    """A fixed-point amount for people: 2 decimals (rounded down), thousands separators."""
    return f"{(Decimal(x) / SCALE).quantize(_CENT, rounding=ROUND_FLOOR):,}"


def whole(x: int) -> str:
    """A fixed-point amount in whole units (rounded down), for narrow tables."""
    return f"{x // SCALE:,}"


def ratio_text(result: MarginResult) -> str:
    return "inf" if result.MM == 0 else f"{result.E / result.MM:.3f}"


def params_hash(params: RiskParams) -> int:
    return _params_hash(params)


# ---------------------------------------------------------------------- build


def check_config_assets(config: RowConfig, names: Sequence[str]) -> None:
    """Per-asset row settings may only name quoted assets."""
    for key in ("haircut", "borrow", "forecast"):
        mapping: Mapping[str, float] = getattr(config, key)
        for asset in mapping:
            if asset not in names:
                raise InputError(
                    f"params.row_config.{key}.{asset}",
                    f"unknown asset {asset!r}; quoted assets: {', '.join(names)}",
                )


def calibration_for(quotes: QuotesFile, closes: Mapping[str, Sequence[float]] | None) -> Calibration | None:
    """Calibrate from the history CSV when given, else from the quotes' own histories
    when every asset has one of the same length; ``None`` without history."""
    from engine.calibration import calibrate

    if closes is not None:
        return calibrate(closes)
    lengths = {len(q.history) for q in quotes.assets}
    if len(lengths) == 1 and lengths.pop() > 0:
        return calibrate({q.name: list(q.history) for q in quotes.assets})
    return None


def print_market(mf: MarketFile, params: RiskParams, cal: Calibration | None) -> None:
    m = mf.market
    table = Table(title=f"market epoch {m.epoch} ({m.profile.name}, as of {mf.as_of.isoformat()})")
    for col in ("asset", "spot", "depth", "instruments", "vol forecast", "kappa"):
        table.add_column(col, justify="left" if col == "asset" else "right")
    for a, name in enumerate(m.asset_names):
        n_rows = sum(1 for row in m.rows.values() if row.asset == a)
        forecast = mf.config.forecast.get(name)
        table.add_row(
            escape(name),
            money(m.assets[a].spot),
            money(m.assets[a].depth),
            str(n_rows),
            "-" if forecast is None else f"{forecast:.1%}",
            f"{params.kappa[a] / SCALE:g}",
        )
    console.print(table)
    console.print(
        f"correlation: {'calibrated from history' if cal else 'none given (rho = 1, no cross-asset credit)'}"
    )
    console.print(f"market_root {mf.market_root}", soft_wrap=True)
    console.print(f"params_hash {params_hash(params)}", soft_wrap=True)


# ---------------------------------------------------------------------- margin


def compute_all(
    market: Market, params: RiskParams, accounts: Sequence[LabeledAccount], batch_threshold: int
) -> list[MarginResult]:
    """Section-3 results for every account; the vectorised path for many accounts."""
    if len(accounts) < batch_threshold:
        return [compute_margin(market, params, a.account) for a in accounts]
    from engine.margin_batch import AccountBatch, compute_margins

    batch = compute_margins(market, params, AccountBatch.from_accounts([a.account for a in accounts]))
    return [batch.row(i) for i in range(len(accounts))]


def status_cell(result: MarginResult) -> str:
    return f"[{STATUS_STYLE[result.status]}]{result.status_name}[/]"


def print_margin_table(accounts: Sequence[LabeledAccount], results: Sequence[MarginResult]) -> None:
    table = Table(
        title="margin (quote units, rounded down)", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    for col in ("account", "status", "equity", "IM", "MM", "shortfall", "E/MM"):
        table.add_column(col, justify="left" if col in ("account", "status") else "right", no_wrap=True)
    for acc, r in zip(accounts, results, strict=True):
        table.add_row(
            escape(acc.display_name),
            status_cell(r),
            whole(r.E),
            whole(r.IM),
            whole(r.MM),
            whole(r.shortfall),
            ratio_text(r),
        )
    console.print(table)


# ---------------------------------------------------------------------- calibrate


def print_calibration(cal: Calibration) -> None:
    table = Table(title=f"volatility forecasts ({cal.n_closes} closes)")
    for col in ("asset", "EWMA", "GARCH", "forecast", "alpha", "beta"):
        table.add_column(col, justify="left" if col == "asset" else "right")
    for name in cal.assets:
        fit = cal.garch[name]
        table.add_row(
            escape(name),
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


# ---------------------------------------------------------------------- explain


def with_trades(account: Account, trades: Sequence[tuple[int, int]], market: Market) -> Account:
    """``account`` after the hypothetical trades (instrument id, signed size)."""
    from dataclasses import replace

    from engine.validate import canonicalize_positions, validate_account

    sizes = {s.instrument_id: s.q for s in account.positions()}
    for i, (iid, q) in enumerate(trades):
        if iid not in market.rows:
            raise InputError(f"--trade[{i}]", f"unknown instrument {iid}: not listed in the market")
        sizes[iid] = sizes.get(iid, 0) + q
    slots = canonicalize_positions(
        list(sizes.items()), market.profile.slots, field="--trade (resulting positions)"
    )
    after = replace(account, slots=slots)
    validate_account(after, market, field="--trade (resulting account)")
    return after

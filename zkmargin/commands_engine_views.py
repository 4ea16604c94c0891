"""Helpers of the engine CLI commands: calibration choice, margin runs and rich output.

Kept apart from ``zkmargin.commands_engine`` (which only wires click options to
these functions) so the commands stay short.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from rich import box
from rich.markup import escape
from rich.table import Table

from engine.commitments import params_hash as _params_hash
from engine.errors import InputError
from engine.fixedpoint import Q_LIMIT, SCALE, fdiv
from engine.formats import LabeledAccount, MarketFile, QuotesFile, dump_explanation
from engine.margin import MarginResult, compute_margin
from engine.model import Market, RiskParams, RowConfig, Slot
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
        try:
            return calibrate({q.name: list(q.history) for q in quotes.assets})
        except InputError as err:
            raise InputError(
                "quotes.assets[].history", f"cannot calibrate from the quoted histories: {err}"
            ) from None
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


def trade_slots(trades: Sequence[tuple[int, int]], market: Market) -> list[Slot]:
    """Hypothetical trades as slots; every instrument must be listed and |q| < 2**48."""
    out = []
    for i, (iid, q) in enumerate(trades):
        if iid not in market.rows:
            raise InputError(f"--trade[{i}]", f"unknown instrument {iid}: not listed in the market")
        if not -Q_LIMIT < q < Q_LIMIT:
            raise InputError(f"--trade[{i}]", f"|q| must be < 2**48, got {q}")
        out.append(Slot(iid, q))
    return out


def explain_account(
    mf: MarketFile, params: RiskParams, acc: LabeledAccount, trades: Sequence[tuple[int, int]]
) -> dict[str, Any]:
    """The explanation document of one account (see ``dump_explanation``).

    Trades are done at the mark: cash changes by ``-floor(sum q * M / SCALE)``.
    """
    from engine.report import explain, liquidation_prices, what_if

    market = mf.market
    slots = trade_slots(trades, market)
    liquidation = liquidation_prices(
        market, params, acc.account, mf.source.assets, mf.source.instruments, mf.config, mf.as_of
    )
    explanation = explain(market, params, acc.account, liquidation)
    scenario = None
    if slots:
        cost = fdiv(sum(s.q * market.rows[s.instrument_id].mark for s in slots), SCALE)
        before, after = what_if(market, params, acc.account, slots, cash_delta=-cost)
        scenario = (list(trades), before, after)
    return dump_explanation(acc, explanation, scenario)


def _liq(value: float | None) -> str:
    """A liquidation spot; "-" when there is none in the searched range."""
    return "-" if value is None else f"{value:,.6g}"


def select_account(accounts: Sequence[LabeledAccount], select: str | None) -> LabeledAccount:
    """The one account of a file, or the one whose label or account id is ``select``."""
    if select is None:
        if len(accounts) != 1:
            raise InputError(
                "--select", f"the file holds {len(accounts)} accounts; pick one by label or account id"
            )
        return accounts[0]
    found = [a for a in accounts if select in (a.label, str(a.account.account_id))]
    if len(found) != 1:
        known = ", ".join(a.display_name for a in accounts)
        raise InputError("--select", f"must name exactly one account of the file ({known}), got {select!r}")
    return found[0]


def print_explanation(doc: Mapping[str, Any]) -> None:
    """The explanation document as rich tables."""
    name = doc["label"] or f"#{doc['account_id']}"
    style = STATUS_STYLE[doc["status"]]
    ratio = "inf" if doc["ratio"] is None else f"{doc['ratio']:.3f}"
    console.print(f"account [bold]{escape(name)}[/bold]: [{style}]{doc['status_name']}[/]  E/MM {ratio}")
    summary = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("equity", "IM", "MM", "shortfall", "R (scenarios)", "SC (static)"):
        summary.add_column(col, justify="right", no_wrap=True)
    summary.add_row(*(money(int(doc[k])) for k in ("equity", "im", "mm", "shortfall", "r", "sc")))
    console.print(summary)
    parts = Table(title="per asset", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("asset", "worst loss", "scenario", "LQ", "liq. below", "liq. above"):
        parts.add_column(col, justify="left" if col in ("asset", "scenario") else "right")
    for a in doc["assets"]:
        if not a["held"]:
            continue
        scenario = f"{a['worst_scenario']}: {a['scenario']}" if int(a["worst_loss"]) else "no loss"
        now = a["liquidatable_now"]
        parts.add_row(
            escape(a["name"]),
            money(int(a["worst_loss"])),
            escape(scenario),
            money(int(a["liquidity_addon"])),
            "now" if now else _liq(a["liquidation_below"]),
            "now" if now else _liq(a["liquidation_above"]),
        )
    console.print(parts)
    if doc["what_if"] is not None:
        _print_what_if(doc["what_if"])


def _print_what_if(doc: Mapping[str, Any]) -> None:
    trades = ", ".join(f"{t['instrument_id']}:{t['q']}" for t in doc["trades"])
    table = Table(title=f"what if {escape(trades)} (at the mark)", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("", "status", "equity", "IM", "MM", "shortfall"):
        table.add_column(col, justify="left" if col in ("", "status") else "right", no_wrap=True)
    for when in ("before", "after"):
        r = doc[when]
        table.add_row(
            when,
            f"[{STATUS_STYLE[r['status']]}]{r['status_name']}[/]",
            *(money(int(r[k])) for k in ("equity", "im", "mm", "shortfall")),
        )
    console.print(table)

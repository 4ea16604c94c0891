"""The one pipeline from inputs to margins, used by the CLI, the keeper and the demo:

quotes (+ history) -> calibration -> instrument rows -> market file -> resolved risk
parameters -> margins of accounts -> an account's explanation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.calibration.apc import ApcConfig
from engine.errors import InputError
from engine.fixedpoint import Q_LIMIT, SCALE, fdiv
from engine.formats import LabeledAccount, MarketFile, QuotesFile, dump_explanation, make_market_file
from engine.formats.params import ParamsFile
from engine.margin import MarginResult, compute_margin
from engine.model import Market, RiskParams, RowConfig, Slot
from engine.profiles import Profile

if TYPE_CHECKING:
    from engine.calibration.calibrate import Calibration, OwnCloses

#: From this many accounts on, margins use the vectorised batch path.
BATCH_THRESHOLD = 8


@dataclass(frozen=True)
class PricedMarket:
    """A market built from quotes: the market file, the resolved parameters, the calibration."""

    file: MarketFile
    risk: RiskParams
    calibration: Calibration | None

    @property
    def market(self) -> Market:
        return self.file.market


def price_market(
    quotes: QuotesFile,
    params: ParamsFile,
    profile: Profile,
    epoch: int,
    closes: Mapping[str, Sequence[float]] | None = None,
    day_gaps: Sequence[int] | None = None,
    own: Mapping[str, OwnCloses] | None = None,
) -> PricedMarket:
    """Calibrate (from ``closes``, with their ``day_gaps``, each asset's forecast from its
    own closes ``own`` when given; or from the quotes' histories), build
    the rows, resolve params. The market file records every volatility forecast used, also
    those fitted to a single quote's history (``with_forecasts``)."""
    from engine.market_builder import build_market, with_forecasts

    check_config_assets(params.row_config, quotes.asset_names)
    cal = calibration_for(quotes, closes, day_gaps, params.row_config.apc, own)
    config = with_forecasts(quotes.assets, cal.row_config(params.row_config) if cal else params.row_config)
    market = build_market(profile, epoch, quotes.assets, quotes.instruments, config, quotes.as_of)
    rho = cal.rho_for(quotes.asset_names, profile.assets) if cal else None
    mf = make_market_file(market, quotes, config, rho)
    return PricedMarket(mf, params.resolve(quotes.asset_names, profile, rho), cal)


def check_config_assets(config: RowConfig, names: Sequence[str]) -> None:
    """Per-asset row settings may only name quoted assets."""
    for key in ("haircut", "borrow", "forecast", "scan_vol"):
        mapping: Mapping[str, float] = getattr(config, key)
        for asset in mapping:
            if asset not in names:
                raise InputError(
                    f"params.row_config.{key}.{asset}",
                    f"unknown asset {asset!r}; quoted assets: {', '.join(names)}",
                )


def calibration_for(
    quotes: QuotesFile,
    closes: Mapping[str, Sequence[float]] | None,
    day_gaps: Sequence[int] | None = None,
    apc: ApcConfig | None = None,
    own: Mapping[str, OwnCloses] | None = None,
) -> Calibration | None:
    """Calibrate from the history CSV when given, else from the quotes' own histories
    when every asset has one of the same length; ``None`` without history."""
    from engine.calibration.calibrate import calibrate

    implied = {q.name: q.vol for q in quotes.assets}
    if closes is not None:
        return calibrate(closes, day_gaps=day_gaps, apc=apc, own=own, implied=implied)
    lengths = {len(q.history) for q in quotes.assets}
    if len(lengths) == 1 and lengths.pop() > 0:
        try:
            return calibrate({q.name: list(q.history) for q in quotes.assets}, apc=apc, implied=implied)
        except InputError as err:
            raise InputError(
                "quotes.assets[].history", f"cannot calibrate from the quoted histories: {err}"
            ) from None
    return None


class UniqueIds:
    """Each account id once, over accounts seen piece by piece (``accounts[i]`` counts
    every account given so far): two states of one account would hide which one is
    committed."""

    def __init__(self, field: str = "accounts") -> None:
        self.field = field
        self._seen: dict[int, int] = {}

    def add(self, accounts: Sequence[LabeledAccount]) -> None:
        seen, field = self._seen, self.field
        for acc in accounts:
            i = len(seen)
            account_id = acc.account.account_id
            if account_id in seen:
                raise InputError(
                    f"{field}[{i}].account_id",
                    f"account id {account_id} appears twice (also {field}[{seen[account_id]}], {acc.display_name})",
                )
            seen[account_id] = i


def check_unique_ids(accounts: Sequence[LabeledAccount], field: str = "accounts") -> None:
    """Each account id once (:class:`UniqueIds` over one list)."""
    UniqueIds(field).add(accounts)


def margins(
    market: Market,
    params: RiskParams,
    accounts: Sequence[LabeledAccount],
    batch_threshold: int = BATCH_THRESHOLD,
) -> list[MarginResult]:
    """Section-3 results for every account; the vectorised path for many accounts."""
    if len(accounts) < batch_threshold:
        return [compute_margin(market, params, a.account) for a in accounts]
    from engine.margin_arrays import AccountBatch
    from engine.margin_batch import compute_margins

    batch = compute_margins(market, params, AccountBatch.from_accounts([a.account for a in accounts]))
    return batch.rows()


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

"""Instrument rows and the asset table from oracle quotes (spec section 4).

The engine derives every public integer of a market here: for each instrument its
mark ``M``, delta, the 16 scenario value changes ``RA[s]`` and the static charges,
and for each asset its spot and depth. Computation is in float64, vectorised over
all instruments x 16 scenarios; the results are rounded to ``int`` x ``SCALE``.

Rounding: every value ``x`` becomes ``round(x * SCALE)`` where ``x * SCALE`` is the
float64 product and the rounding is half-to-even (Python ``round`` on a float and
``numpy.rint`` both round ties to the even integer). ``RA[s]`` is rounded from the
float value change, not taken as a difference of rounded values.

Choices the spec leaves open (see also :mod:`engine.scenarios`):

* Asset index = position in ``quotes``; unused asset slots are
  ``AssetEntry(spot=0, depth=1)``.
* Spot: value = spot. Perp: value = its mark (default the spot); in a scenario the
  perp moves by the same absolute amount as the spot, ``mark + (S' - S)``, so its
  ``RA`` equals the spot's and is consistent with delta 1.
* Options: Black-76, forward = spot, zero rate, ``T = days / 365`` (ACT/365) from
  ``as_of`` to expiry, implied vol = the instrument's ``vol`` or the asset's ATM vol.
  ``T <= 0`` (expired, or expiring on ``as_of``) is valued at intrinsic value, also in
  every scenario. The vol-shock ``t`` is the whole number of days to expiry.
* Scan range: ``sigma_eff = max(sigma_a, forecast_a)`` where ``forecast_a`` is
  ``config.forecast[name]`` when given, else :func:`engine.calibration.forecast.asset_forecast`
  of the quote's ``history`` when it has one (at least 30 closes), else absent; with
  anti-procyclicality tools (``config.apc``) the charged ``config.scan_vol[name]``
  replaces ``sigma_eff`` (given, or from the quote's history).
* Static charges per unit, as fractions of the asset's spot: spot long
  ``config.haircut[name]`` (default 0.02), spot short ``config.borrow[name]``
  (default 0.02), perp long and short ``perp_charge``, option long 0, option short
  ``short_option_min``. Every fraction must lie in [0, 1].
* ``epoch`` must be an integer in ``0 <= epoch < 2**64``.
* The returned ``rows`` mapping is ordered by ``instrument_id``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.black76 import DAYS_PER_YEAR, black76_delta, black76_price
from engine.calibration.forecast import AssetForecast, asset_forecast
from engine.errors import InputError
from engine.fixedpoint import (
    DELTA_MAX,
    ID_LIMIT,
    SCALE,
    VALUE_LIMIT,
)
from engine.model import AssetEntry, AssetQuote, InstrumentRow, InstrumentSpec, Market, RowConfig
from engine.profiles import Profile
from engine.scenarios import scan_range, scenario_spots, scenario_vols, scenario_weights
from engine.validate import validate_quotes, validate_row_config

FloatArray = NDArray[np.float64]
DEFAULT_HAIRCUT = 0.02
DEFAULT_BORROW = 0.02
KINDS = ("spot", "perp", "call", "put")
_SPOT, _PERP, _CALL, _PUT = range(4)


# ------------------------------------------------------------------ rounding


def to_fixed(x: float) -> int:
    """``round(x * SCALE)``, half-to-even on the float64 product."""
    return round(x * SCALE)


def _rint(x: FloatArray) -> FloatArray:
    """Array version of :func:`to_fixed`, still as floats (exact integers below 2**53)."""
    return np.asarray(np.rint(x * SCALE), dtype=np.float64)


# ------------------------------------------------------------- asset inputs


def _history_fit(quote: AssetQuote, config: RowConfig, field: str) -> AssetForecast:
    try:
        return asset_forecast(quote.history, apc=config.apc, implied=quote.vol, field="history")
    except InputError as err:
        raise InputError(f"{field}.{err.field}", err.message) from None


def effective_vol(quote: AssetQuote, config: RowConfig, field: str = "quote") -> float:
    """The scan volatility charged: ``config.scan_vol[name]`` when given (the value after
    the anti-procyclicality tools), else ``sigma_eff = max(sigma_a, forecast_a)`` (see
    the module docstring)."""
    charged = config.scan_vol.get(quote.name)
    if charged is not None:
        return float(charged)
    forecast = config.forecast.get(quote.name)
    if forecast is None and quote.history:
        fit = _history_fit(quote, config, field)
        if fit.charged is not None:
            return fit.charged
        forecast = fit.forecast
    return quote.vol if forecast is None else max(quote.vol, float(forecast))


def with_forecasts(quotes: Sequence[AssetQuote], config: RowConfig) -> RowConfig:
    """``config`` with a forecast (and, with anti-procyclicality tools, the charged scan
    volatility) for every quote that has a price history and no forecast yet: the ones
    :func:`effective_vol` fits to it (the same rows follow). A market file written with the
    result states every volatility its scan ranges used, so its rows can be recomputed
    from the file alone (``zkmargin market check``, the browser audit)."""
    fits = {
        q.name: _history_fit(q, config, f"quotes[{a}]")
        for a, q in enumerate(quotes)
        if q.history and q.name not in config.forecast and q.name not in config.scan_vol
    }
    if not fits:
        return config
    charged = {n: f.charged for n, f in fits.items() if f.charged is not None}
    return replace(
        config,
        forecast={**config.forecast, **{n: f.forecast for n, f in fits.items()}},
        scan_vol={**config.scan_vol, **charged},
    )


def asset_scan_ranges(quotes: Sequence[AssetQuote], config: RowConfig) -> tuple[float, ...]:
    """Scan range ``m_a`` of every quoted asset, in quote order."""
    return tuple(scan_range(effective_vol(q, config, f"quotes[{a}]"), config) for a, q in enumerate(quotes))


# -------------------------------------------------------- instrument arrays


@dataclass(frozen=True)
class _Instruments:
    """Validated instruments as parallel arrays (one entry per instrument)."""

    ids: tuple[int, ...]
    asset: NDArray[np.int64]
    kind: NDArray[np.int64]
    spot: FloatArray
    strike: FloatArray  # options; the spot elsewhere (unused)
    t_years: FloatArray  # options; 0 elsewhere (unused)
    days: FloatArray  # options; 0 elsewhere (unused)
    vol: FloatArray  # options; 0 elsewhere (unused)
    mark: FloatArray  # perp mark; the spot elsewhere


def _kind_and_expiry(spec: InstrumentSpec) -> tuple[int, dt.date | None]:
    """Kind code and expiry of a validated instrument."""
    kind = KINDS.index(spec.kind)
    if kind not in (_CALL, _PUT) or spec.expiry is None:
        return kind, None
    return kind, spec.expiry.date() if isinstance(spec.expiry, dt.datetime) else spec.expiry


def _instrument_arrays(
    quotes: Sequence[AssetQuote],
    index: Mapping[str, int],
    instruments: Sequence[InstrumentSpec],
    as_of: dt.date,
) -> _Instruments:
    """Parallel arrays of instruments already checked by :func:`engine.validate.validate_quotes`."""
    n = len(instruments)
    asset = np.zeros(n, dtype=np.int64)
    kind = np.zeros(n, dtype=np.int64)
    strike, t_years, days, vol, mark = (np.zeros(n) for _ in range(5))
    seen: dict[int, int] = {}
    for i, spec in enumerate(instruments):
        a = index[spec.asset]
        k, expiry = _kind_and_expiry(spec)
        seen[spec.instrument_id] = i
        q = quotes[a]
        asset[i], kind[i] = a, k
        strike[i] = q.spot if spec.strike is None else spec.strike
        mark[i] = q.spot if spec.mark is None else spec.mark
        if expiry is not None:
            d = (expiry - as_of).days
            days[i] = max(d, 0)
            t_years[i] = d / DAYS_PER_YEAR
            vol[i] = q.vol if spec.vol is None else spec.vol
    spots = np.array([q.spot for q in quotes], dtype=np.float64)
    return _Instruments(
        ids=tuple(seen),
        asset=asset,
        kind=kind,
        spot=spots[asset] if n else np.zeros(0),
        strike=strike,
        t_years=t_years,
        days=days,
        vol=vol,
        mark=mark,
    )


# ---------------------------------------------------------------- valuation


def _values(
    kind: ArrayLike,
    base_spot: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol: ArrayLike,
    mark: ArrayLike,
) -> FloatArray:
    """Value of one unit at ``spot``/``vol`` (all arguments broadcast together)."""
    k = np.asarray(kind)
    option = black76_price(spot, strike, t_years, vol, k == _CALL)
    linear = np.where(k == _PERP, np.asarray(mark) + (np.asarray(spot) - np.asarray(base_spot)), spot)
    return np.asarray(np.where((k == _CALL) | (k == _PUT), option, linear), dtype=np.float64)


def _float_rows(
    ins: _Instruments, m: FloatArray, haircut: FloatArray, borrow: FloatArray, config: RowConfig
) -> dict[str, FloatArray]:
    """Real-valued mark, delta, RA (n x 16) and charges of every instrument.

    ``m``, ``haircut`` and ``borrow`` are per asset index.
    """
    k2, s2, x2, t2 = ins.kind[:, None], ins.spot[:, None], ins.strike[:, None], ins.t_years[:, None]
    base = _values(ins.kind, ins.spot, ins.spot, ins.strike, ins.t_years, ins.vol, ins.mark)
    shocked_spot = scenario_spots(ins.spot, m[ins.asset])
    shocked_vol = scenario_vols(ins.vol, ins.days, config)
    shocked = _values(k2, s2, shocked_spot, x2, t2, shocked_vol, ins.mark[:, None])
    ra = (shocked - base[:, None]) * scenario_weights(config.w_ext)
    is_option = (ins.kind == _CALL) | (ins.kind == _PUT)
    option_delta = black76_delta(ins.spot, ins.strike, ins.t_years, ins.vol, ins.kind == _CALL)
    long_frac = np.select(
        [ins.kind == _SPOT, ins.kind == _PERP], [haircut[ins.asset], config.perp_charge], 0.0
    )
    short_frac = np.select(
        [ins.kind == _SPOT, ins.kind == _PERP],
        [borrow[ins.asset], config.perp_charge],
        config.short_option_min,
    )
    return {
        "mark": base,
        "delta": np.where(is_option, option_delta, 1.0),
        "ra": ra,
        "c_long": ins.spot * long_frac,
        "c_short": ins.spot * short_frac,
    }


_LIMITS: dict[str, tuple[float, str]] = {
    # name: (exclusive limit on |x| of the rounded integer, text); delta is inclusive.
    "mark": (VALUE_LIMIT, "|M| x SCALE < 2**48"),
    "ra": (VALUE_LIMIT, "|RA[s]| x SCALE < 2**48"),
    "c_long": (VALUE_LIMIT, "0 <= c_long x SCALE < 2**48"),
    "c_short": (VALUE_LIMIT, "0 <= c_short x SCALE < 2**48"),
    "delta": (DELTA_MAX + 1, "|delta| <= 16 x SCALE"),
}


def _round_checked(values: dict[str, FloatArray]) -> dict[str, NDArray[np.int64]]:
    """Round every array half-to-even x SCALE; InputError on the first value out of bounds."""
    out: dict[str, NDArray[np.int64]] = {}
    for name, (limit, text) in _LIMITS.items():
        r = _rint(values[name])
        bad = ~np.isfinite(r) | (np.abs(r) >= limit)
        if bad.any():
            i, *rest = np.argwhere(bad)[0]
            field = f"instruments[{i}].{name}" + (f"[{rest[0]}]" if rest else "")
            raise InputError(field, f"must satisfy {text}, got {values[name][tuple(np.argwhere(bad)[0])]!r}")
        out[name] = r.astype(np.int64)
    return out


def _asset_tables(
    quotes: Sequence[AssetQuote], config: RowConfig
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per asset index: scan range, haircut, borrow."""
    m = np.array(asset_scan_ranges(quotes, config), dtype=np.float64)
    haircut = np.array([config.haircut.get(q.name, DEFAULT_HAIRCUT) for q in quotes], dtype=np.float64)
    borrow = np.array([config.borrow.get(q.name, DEFAULT_BORROW) for q in quotes], dtype=np.float64)
    return m, haircut, borrow


def validate_inputs(
    profile: Profile,
    quotes: Sequence[AssetQuote],
    instruments: Sequence[InstrumentSpec],
    config: RowConfig,
    as_of: dt.date,
) -> None:
    """The rules every quotes file obeys (:func:`engine.validate.validate_quotes`, naming
    the builder's arguments ``quotes[i]`` and ``instruments[j]``), except that an option
    already expired may be valued (at intrinsic); then the row settings."""
    validate_quotes(
        as_of,
        quotes,
        instruments,
        profile,
        assets_at="quotes",
        instruments_at="instruments",
        id_key="instrument_id",
        allow_expired=True,
    )
    validate_row_config(config, "config")


def _asset_index(quotes: Sequence[AssetQuote]) -> dict[str, int]:
    return {q.name: a for a, q in enumerate(quotes)}


def build_rows(
    profile: Profile,
    quotes: Sequence[AssetQuote],
    instruments: Sequence[InstrumentSpec],
    config: RowConfig,
    as_of: dt.date,
) -> dict[int, InstrumentRow]:
    """Instrument rows (spec section 2) keyed and ordered by ``instrument_id``.

    Validates quotes, config and instruments first (:func:`validate_inputs`: InputError
    naming the field and the bound), then reprices every instrument in all 16 scenarios at once.
    """
    validate_inputs(profile, quotes, instruments, config, as_of)
    ins = _instrument_arrays(quotes, _asset_index(quotes), instruments, as_of)
    m, haircut, borrow = _asset_tables(quotes, config)
    if not ins.ids:
        return {}
    fixed = _round_checked(_float_rows(ins, m, haircut, borrow, config))
    ra = fixed["ra"].tolist()
    marks, deltas = fixed["mark"].tolist(), fixed["delta"].tolist()
    c_long, c_short = fixed["c_long"].tolist(), fixed["c_short"].tolist()
    assets = ins.asset.tolist()
    rows = {
        iid: InstrumentRow(
            instrument_id=iid,
            asset=assets[i],
            mark=marks[i],
            delta=deltas[i],
            ra=tuple(ra[i]),
            c_long=c_long[i],
            c_short=c_short[i],
        )
        for i, iid in enumerate(ins.ids)
    }
    return dict(sorted(rows.items()))


def build_asset_table(profile: Profile, quotes: Sequence[AssetQuote]) -> tuple[AssetEntry, ...]:
    """The asset table of validated quotes, in order, then ``AssetEntry(0, 1)`` up to A."""
    used = [AssetEntry(spot=to_fixed(q.spot), depth=to_fixed(q.depth)) for q in quotes]
    return tuple(used + [AssetEntry(spot=0, depth=1)] * (profile.assets - len(quotes)))


def build_market(
    profile: Profile,
    epoch: int,
    quotes: Sequence[AssetQuote],
    instruments: Sequence[InstrumentSpec],
    config: RowConfig,
    as_of: dt.date,
) -> Market:
    """A complete market snapshot for ``epoch`` (spec sections 2 and 4)."""
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < ID_LIMIT:
        raise InputError("epoch", f"must be an integer with 0 <= epoch < 2**64, got {epoch!r}")
    rows = build_rows(profile, quotes, instruments, config, as_of)
    return Market(
        profile=profile,
        epoch=epoch,
        assets=build_asset_table(profile, quotes),
        rows=rows,
        asset_names=tuple(q.name for q in quotes),
        instrument_names={
            spec.instrument_id: spec.name for spec in sorted(instruments, key=lambda s: s.instrument_id)
        },
    )


def value_at_spots(spec: InstrumentSpec, quote: AssetQuote, as_of: dt.date, spots: ArrayLike) -> FloatArray:
    """Value of one unit of ``spec`` if its asset's spot were ``spots`` (vol unchanged).

    Full repricing with the same rules as the rows (for liquidation prices and
    what-if checks); ``spots`` must be positive.
    """
    ins = _instrument_arrays([quote], _asset_index([quote]), [spec], as_of)
    s = np.asarray(spots, dtype=np.float64)
    if np.any(~np.isfinite(s) | (s <= 0.0)):
        raise InputError("spots", "every spot must be finite and > 0")
    return _values(ins.kind[0], ins.spot[0], s, ins.strike[0], ins.t_years[0], ins.vol[0], ins.mark[0])

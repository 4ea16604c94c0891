"""Calibration from daily closes: volatility forecasts and the correlation matrix.

:func:`load_histories` reads each asset's own closes (its forecast) and the dates on
which every chosen asset has a close (the correlation); :func:`calibrate_histories`
calibrates from them.

:func:`load_closes_csv` reads the project's price-history CSV format: a header
``date,<asset>,<asset>,...``, then one row per day with an ISO date (strictly
increasing) and a close per asset, the cell empty before the asset was listed.
Only dates on which every chosen asset has a close are kept, so the series come
back aligned.

:func:`calibrate` turns closes into what section 4 of the spec needs: per asset the
EWMA and GARCH(1,1) forecasts and their maximum (the scan-range forecast) from the
asset's own history, and the EWMA correlation of the common dates' log returns
projected to the nearest correlation matrix, also as integers ``rho x SCALE``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from engine.calibration.apc import ApcConfig
from engine.calibration.correlation import FixedRho, ewma_correlation, nearest_correlation, to_fixed_rho
from engine.calibration.forecast import AssetForecast, asset_forecast
from engine.calibration.volatility import GARCH_MIN_CLOSES, GarchFit, log_returns
from engine.errors import InputError
from engine.fixedpoint import SCALE, SPOT_LIMIT
from engine.model import RowConfig


@dataclass(frozen=True)
class Calibration:
    """Forecasts and correlations for ``assets`` (in that order).

    Each asset's forecast is from its own history (:func:`engine.calibration.forecast.asset_forecast`;
    ``closes[a]`` closes); the correlation from the ``n_closes`` dates on which every asset
    has a close. ``correlation_ewma`` is the raw EWMA estimate, ``correlation`` its nearest
    correlation matrix, ``rho`` the latter as integers x SCALE (not padded). With
    anti-procyclicality tools, ``charged`` holds each asset's charged scan volatility;
    ``lookback_years`` says how much of the tools' ten-year look-back each asset's history
    holds (less than 10 where it is shorter).
    """

    assets: tuple[str, ...]
    n_closes: int
    ewma: Mapping[str, float]
    garch: Mapping[str, GarchFit]
    forecast: Mapping[str, float]
    correlation_ewma: NDArray[np.float64]
    correlation: NDArray[np.float64]
    rho: FixedRho
    closes: Mapping[str, int] = dataclasses.field(default_factory=dict)
    charged: Mapping[str, float] = dataclasses.field(default_factory=dict)
    lookback_years: Mapping[str, float] = dataclasses.field(default_factory=dict)
    apc: ApcConfig | None = None

    def rho_for(self, names: Sequence[str], size: int) -> FixedRho:
        """``rho x SCALE`` for the assets ``names`` in that order (e.g. quote order),
        padded with identity to ``size`` (the profile's A)."""
        missing = [n for n in names if n not in self.assets]
        if missing:
            raise InputError("names", f"not calibrated: {', '.join(missing)}")
        idx = [self.assets.index(n) for n in names]
        return to_fixed_rho(self.correlation[np.ix_(idx, idx)], size)

    def row_config(self, base: RowConfig | None = None) -> RowConfig:
        """``base`` (default ``RowConfig()``) with ``forecast`` (and, with the tools,
        ``scan_vol``) set from this calibration."""
        base = RowConfig() if base is None else base
        return dataclasses.replace(
            base,
            forecast={**base.forecast, **self.forecast},
            scan_vol={**base.scan_vol, **self.charged},
        )


@dataclass(frozen=True)
class OwnCloses:
    """One asset's own closes (oldest first) and the days between them."""

    closes: Sequence[float]
    day_gaps: Sequence[int] | None = None


def calibrate(
    closes_by_asset: Mapping[str, Sequence[float]],
    lam: float = 0.94,
    day_gaps: Sequence[int] | None = None,
    apc: ApcConfig | None = None,
    own: Mapping[str, OwnCloses] | None = None,
    implied: Mapping[str, float] | None = None,
) -> Calibration:
    """Calibrate from aligned daily closes (oldest first, same dates for every asset; the
    correlation's) and, per asset, its own history ``own`` (default: its aligned closes),
    from which its forecast comes; ``day_gaps`` (:attr:`ClosesTable.day_gaps`) scales
    returns over gaps to one day. With ``apc`` and an ``implied`` volatility per asset
    (the quotes'), the charged scan volatility after the tools is computed too."""
    if not closes_by_asset:
        raise InputError("closes_by_asset", "needs at least one asset")
    names = tuple(closes_by_asset)
    lengths = {len(closes_by_asset[n]) for n in names}
    if len(lengths) != 1:
        raise InputError(
            "closes_by_asset", f"series must be aligned (same length), got lengths {sorted(lengths)}"
        )
    n_closes = lengths.pop()
    if n_closes < GARCH_MIN_CLOSES:
        raise InputError(
            "closes_by_asset", f"needs at least {GARCH_MIN_CLOSES} closes per asset, got {n_closes}"
        )
    returns = []
    fits: dict[str, AssetForecast] = {}
    for name in names:
        where = f"closes_by_asset[{name}]"
        series = own[name] if own is not None and name in own else OwnCloses(closes_by_asset[name], day_gaps)
        returns.append(log_returns(closes_by_asset[name], field=where, day_gaps=day_gaps))
        vol = None if implied is None else implied.get(name)
        fits[name] = asset_forecast(series.closes, series.day_gaps, apc, vol, field=where)
    raw = ewma_correlation(np.column_stack(returns), lam)
    corr = nearest_correlation(raw)
    return Calibration(
        assets=names,
        n_closes=n_closes,
        ewma={n: f.ewma for n, f in fits.items()},
        garch={n: f.garch for n, f in fits.items()},
        forecast={n: f.forecast for n, f in fits.items()},
        correlation_ewma=raw,
        correlation=corr,
        rho=to_fixed_rho(corr),
        closes={n: f.n_closes for n, f in fits.items()},
        charged={n: f.charged for n, f in fits.items() if f.charged is not None},
        lookback_years={n: f.lookback_years for n, f in fits.items()},
        apc=apc,
    )


def calibrate_histories(
    histories: Histories, apc: ApcConfig | None = None, implied: Mapping[str, float] | None = None
) -> Calibration:
    """:func:`calibrate` with each asset's forecast from its own closes and the correlation
    from the common dates (:func:`load_histories`)."""
    own = {name: OwnCloses(t.closes[name], t.day_gaps) for name, t in histories.own.items()}
    return calibrate(
        histories.common.closes, day_gaps=histories.common.day_gaps, apc=apc, own=own, implied=implied
    )


# ---------------------------------------------------------------------- CSV


@dataclass(frozen=True)
class ClosesTable:
    """Aligned closes: ``dates`` and, per asset, one close per date."""

    dates: tuple[dt.date, ...]
    closes: Mapping[str, list[float]]

    @property
    def day_gaps(self) -> tuple[int, ...]:
        """Days between consecutive dates (1 on a complete daily series)."""
        return tuple((b - a).days for a, b in zip(self.dates, self.dates[1:], strict=False))


def _parse_close(where: str, cell: str) -> float | None:
    cell = cell.strip()
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        raise InputError(where, f"close must be a number or empty, got {cell!r}") from None
    if not (math.isfinite(value) and value > 0.0):
        raise InputError(where, f"close must be finite and > 0, got {cell!r}")
    if not value * SCALE < SPOT_LIMIT:
        raise InputError(
            where, f"close must be < {SPOT_LIMIT / SCALE:.4g} (a spot x 10**6 must be < 2**48), got {cell!r}"
        )
    return value


#: Largest plausible move between two consecutive closes of one asset (x5 up or down).
#: The real 2017-2022 history's largest is 1.75 (AVAX, Feb 2021); a larger one is a typo
#: (a close in the wrong unit, a missing decimal point), not a crash.
MAX_CLOSE_JUMP = 5.0


def _check_jump(where: str, day: dt.date, asset: str, before: float, after: float, limit: float) -> None:
    factor = max(after / before, before / after)
    if factor > limit:
        raise InputError(
            where,
            f"{asset} moves from {before:g} to {after:g} on {day.isoformat()} (x{factor:.3g}); "
            f"a move beyond x{limit:g} between two closes is not plausible: check the value",
        )


def _header(
    path: Path, header: list[str] | None, assets: Sequence[str] | None
) -> tuple[list[str], list[int]]:
    """Column names and the indices of the chosen assets."""
    if not header:
        raise InputError(str(path), "empty file: expected a header 'date,<asset>,...'")
    cols = [h.strip() for h in header]
    if cols[0].lower() != "date" or len(cols) < 2:
        raise InputError(f"{path}[line 1]", f"header must be 'date,<asset>,...', got {','.join(cols)!r}")
    if any(not c for c in cols[1:]) or len(set(cols[1:])) != len(cols) - 1:
        raise InputError(f"{path}[line 1]", "asset names must be non-empty and unique")
    chosen = list(cols[1:]) if assets is None else list(assets)
    unknown = [a for a in chosen if a not in cols[1:]]
    if unknown or not chosen:
        raise InputError("assets", f"not in {path}: {', '.join(unknown) or '(none chosen)'}")
    return cols, [cols.index(a) for a in chosen]


def load_closes_table(
    path: str | Path,
    assets: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    max_jump: float = MAX_CLOSE_JUMP,
) -> ClosesTable:
    """Read the closes CSV; keep dates in ``[start, end]`` where all ``assets`` have a close.

    Every close must be finite, positive, below the spot bound, and within ``max_jump``
    (a factor) of the asset's previous close in the file."""
    path = Path(path)
    try:
        with path.open(newline="") as fh:
            reader = csv.reader(fh)
            cols, idx = _header(path, next(reader, None), assets)
            dates: list[dt.date] = []
            kept: list[list[float]] = []
            previous: dt.date | None = None
            last: dict[str, float] = {}
            for lineno, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != len(cols):
                    raise InputError(f"{path}[line {lineno}]", f"expected {len(cols)} cells, got {len(row)}")
                try:
                    day = dt.date.fromisoformat(row[0].strip())
                except ValueError:
                    raise InputError(f"{path}[line {lineno}].date", f"not an ISO date: {row[0]!r}") from None
                if previous is not None and day <= previous:
                    raise InputError(
                        f"{path}[line {lineno}].date",
                        f"dates must increase strictly ({day} after {previous})",
                    )
                previous = day
                values = [_parse_close(f"{path}[line {lineno}].{cols[j]}", row[j]) for j in idx]
                for j, value in zip(idx, values, strict=True):
                    if value is not None:
                        if cols[j] in last:
                            _check_jump(
                                f"{path}[line {lineno}].{cols[j]}",
                                day,
                                cols[j],
                                last[cols[j]],
                                value,
                                max_jump,
                            )
                        last[cols[j]] = value
                in_window = (start is None or day >= start) and (end is None or day <= end)
                if in_window and all(v is not None for v in values):
                    dates.append(day)
                    kept.append([v for v in values if v is not None])
    except OSError as err:
        raise InputError(str(path), f"cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise InputError(str(path), "not a UTF-8 text file") from None
    if not dates:
        raise InputError(str(path), "no date with a close for every chosen asset")
    columns = list(zip(*kept, strict=True))
    return ClosesTable(dates=tuple(dates), closes={cols[j]: list(columns[n]) for n, j in enumerate(idx)})


def load_closes_csv(
    path: str | Path,
    assets: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[str, list[float]]:
    """Aligned closes per asset (oldest first) from the CSV; see :func:`load_closes_table`."""
    return dict(load_closes_table(path, assets, start, end).closes)


@dataclass(frozen=True)
class Histories:
    """The closes a calibration needs: each asset on its own dates (its forecast), and the
    dates on which every asset has a close (the correlation)."""

    own: Mapping[str, ClosesTable]
    common: ClosesTable


def load_histories(
    path: str | Path, assets: Sequence[str] | None = None, end: dt.date | None = None
) -> Histories:
    """:func:`load_closes_table` once per asset (its own dates) and once for the common
    dates, every close up to ``end``."""
    common = load_closes_table(path, assets, end=end)
    own = {name: load_closes_table(path, [name], end=end) for name in common.closes}
    return Histories(own=own, common=common)

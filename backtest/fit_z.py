"""Fitting ``z``, the scan range's standard deviations, on the in-sample window only.

``fit_z`` walks the default model over the in-sample days once per ``z`` of a grid and
picks the smallest ``z`` at which every portfolio has at least 99 % coverage over the
window at its liquidity horizon and at MPOR 1 and 2 (the MPORs the targets name, where
the walk margins them). Only the days whose loss is realised within the window count (a
day ``t`` at horizon ``h`` needs ``t + h`` in the window), so no out-of-sample close
enters the choice. Each portfolio's worst calendar year (a first year shorter than
``MIN_PERIOD_DAYS`` joins the next) is reported beside it as evidence, not as a
criterion: a year holds about 360 days, so 99 % allows 3 breaches, and a model whose
true breach rate is exactly 1 % has 4 or more in about a quarter of its years. The
evidence (coverage, breaches and Kupiec p per ``z`` and portfolio at its horizon, and
each portfolio's worst year) goes into ``figures.json`` (``z_fit``) and the report, with
the chosen ``z``'s figures on the out-of-sample window beside it (evaluated, never
fitted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from backtest.stats import kupiec_pof
from backtest.validation import DEFAULT_MODEL, IN_SAMPLE, OUT_OF_SAMPLE
from backtest.walk import Walk

Z_GRID = (2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5)
TARGET_COVERAGE = 0.99
#: The MPORs the fit covers besides each portfolio's liquidity horizon (the targets' MPORs).
FIT_MPORS = (1, 2)
#: A first calendar year shorter than this joins the next one in the worst-year evidence.
MIN_PERIOD_DAYS = 180


def fit_periods(window: tuple[dt.date, dt.date]) -> list[tuple[dt.date, dt.date]]:
    """The window's calendar years, a short first one joined to the next."""
    periods = []
    start = window[0]
    while start <= window[1]:
        end = min(dt.date(start.year, 12, 31), window[1])
        periods.append((start, end))
        start = end + dt.timedelta(days=1)
    if len(periods) > 1 and (periods[0][1] - periods[0][0]).days + 1 < MIN_PERIOD_DAYS:
        periods[:2] = [(periods[0][0], periods[1][1])]
    return periods


def _coverage(
    dates: Sequence[dt.date], im: np.ndarray, loss: np.ndarray, h: int, period: tuple[dt.date, dt.date]
) -> tuple[int, int]:
    """Breaches and days of ``period`` whose loss ends within it."""
    keep = np.array([period[0] <= d and d + dt.timedelta(days=h) <= period[1] for d in dates], dtype=bool)
    return int(np.sum(loss[keep] > im[keep])), int(keep.sum())


def _evaluate(
    walk: Walk,
    z: float,
    horizons: Mapping[str, int],
    model: str,
    window: tuple[dt.date, dt.date],
    progress: Callable[[int], None] | None,
    periods: Sequence[tuple[dt.date, dt.date]] | None = None,
) -> dict[str, Any]:
    """Coverage, breaches and Kupiec p per portfolio at ``z`` on ``window`` at its horizon,
    counting only the days whose loss ends within it, its lowest coverage over the MPORs
    the fit covers, and with ``periods`` its worst period (evidence only)."""
    original = walk.params
    try:
        walk.params = dataclasses.replace(original, row_config=dataclasses.replace(original.row_config, z=z))
        series = walk.run(window[0], window[1], progress=progress)
    finally:
        walk.params = original
    coverage: dict[str, float | None] = {}
    breaches: dict[str, int] = {}
    kupiec: dict[str, float | None] = {}
    worst: dict[str, dict[str, Any]] = {}
    lowest: dict[str, float | None] = {}
    for p in walk.file.portfolios:
        s = series[(model, p.name)]
        h = horizons[p.name]
        dates, im, _, loss = s.arrays(h)
        x, n = _coverage(dates, im, loss, h, window)
        covered: list[float] = []
        if n == 0:
            coverage[p.name], kupiec[p.name], breaches[p.name] = None, None, 0
        else:
            coverage[p.name], breaches[p.name] = 1.0 - x / n, x
            kupiec[p.name] = kupiec_pof(x, n).p_value
            covered.append(1.0 - x / n)
        for mpor in sorted({h, *(m for m in FIT_MPORS if m in walk.mpors)}):
            dates, im, _, loss = s.arrays(mpor)
            x, n = _coverage(dates, im, loss, mpor, window)
            if n:
                covered.append(1.0 - x / n)
            for period in periods or ():
                x, n = _coverage(dates, im, loss, mpor, period)
                if n and (p.name not in worst or 1.0 - x / n < worst[p.name]["coverage"]):
                    worst[p.name] = {
                        "coverage": 1.0 - x / n,
                        "breaches": x,
                        "days": n,
                        "mpor": mpor,
                        "period": [period[0].isoformat(), period[1].isoformat()],
                    }
        lowest[p.name] = min(covered) if covered else None
    ok = all(c is not None and c >= TARGET_COVERAGE for c in lowest.values())
    out: dict[str, Any] = {
        "z": z,
        "coverage": coverage,
        "breaches": breaches,
        "kupiec_p": kupiec,
        "lowest_coverage_any_mpor": lowest,
    }
    if periods:
        out["worst_period"] = worst
    out["all_at_least_99"] = ok
    return out


def fit_z(
    walk: Walk,
    horizons: Mapping[str, int],
    grid: Sequence[float] = Z_GRID,
    model: str = DEFAULT_MODEL,
    window: tuple[dt.date, dt.date] = IN_SAMPLE,
    evaluate: tuple[dt.date, dt.date] | None = OUT_OF_SAMPLE,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The smallest ``z`` of ``grid`` with every portfolio at >= 99 % coverage on ``window``
    at its horizon and at MPOR 1 and 2, and the table behind
    it; then, when ``evaluate`` names a window, the chosen ``z``'s figures there
    (evaluation only: they choose nothing). ``walk`` must margin ``model`` at every
    horizon; its params are left as they were."""
    if model not in walk.models or not set(horizons.values()) <= set(walk.mpors):
        raise ValueError(f"fit_z: the walk must margin {model} at MPOR {sorted(set(horizons.values()))}")
    periods = fit_periods(window)
    table = [_evaluate(walk, z, horizons, model, window, progress, periods) for z in sorted(grid)]
    chosen = next((row["z"] for row in table if row["all_at_least_99"]), None)
    out: dict[str, Any] = {
        "model": model,
        "window": [window[0].isoformat(), window[1].isoformat()],
        "periods": [[a.isoformat(), b.isoformat()] for a, b in periods],
        "grid": [float(z) for z in sorted(grid)],
        "rule": (
            "smallest z with every portfolio at >= 99% coverage over the in-sample window, at its "
            "liquidity horizon and at MPOR 1 and 2"
        ),
        "horizons": dict(horizons),
        "chosen": chosen,
        "table": table,
    }
    if evaluate is not None and chosen is not None:
        out["evaluation_window"] = [evaluate[0].isoformat(), evaluate[1].isoformat()]
        out["evaluation"] = _evaluate(walk, chosen, horizons, model, evaluate, progress)
    return out

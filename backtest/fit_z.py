"""Fitting ``z``, the scan range's standard deviations, on the in-sample window only.

``fit_z`` walks the default model over the in-sample days once per ``z`` of a grid and
picks the smallest ``z`` at which every portfolio has at least 99 % coverage at its
liquidity horizon. Only the days whose loss is realised within the window count (a day
``t`` at horizon ``h`` needs ``t + h`` in the window), so no out-of-sample close enters
the choice. The evidence (coverage, breaches and Kupiec p per ``z`` and portfolio) goes
into ``figures.json`` (``z_fit``) and the report, with the chosen ``z``'s figures on the
out-of-sample window beside it (evaluated, never fitted).
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


def _evaluate(
    walk: Walk,
    z: float,
    horizons: Mapping[str, int],
    model: str,
    window: tuple[dt.date, dt.date],
    progress: Callable[[int], None] | None,
) -> dict[str, Any]:
    """Coverage, breaches and Kupiec p per portfolio at ``z`` on ``window``, counting only
    the days whose loss ends within it."""
    original = walk.params
    try:
        walk.params = dataclasses.replace(original, row_config=dataclasses.replace(original.row_config, z=z))
        series = walk.run(window[0], window[1], progress=progress)
    finally:
        walk.params = original
    coverage: dict[str, float | None] = {}
    breaches: dict[str, int] = {}
    kupiec: dict[str, float | None] = {}
    for p in walk.file.portfolios:
        h = horizons[p.name]
        dates, im, _, loss = series[(model, p.name)].arrays(h)
        keep = np.array([d + dt.timedelta(days=h) <= window[1] for d in dates], dtype=bool)
        if not keep.any():
            coverage[p.name], kupiec[p.name], breaches[p.name] = None, None, 0
            continue
        x, n = int(np.sum(loss[keep] > im[keep])), int(keep.sum())
        coverage[p.name], breaches[p.name] = 1.0 - x / n, x
        kupiec[p.name] = kupiec_pof(x, n).p_value
    ok = all(c is not None and c >= TARGET_COVERAGE for c in coverage.values())
    return {"z": z, "coverage": coverage, "breaches": breaches, "kupiec_p": kupiec, "all_at_least_99": ok}


def fit_z(
    walk: Walk,
    horizons: Mapping[str, int],
    grid: Sequence[float] = Z_GRID,
    model: str = DEFAULT_MODEL,
    window: tuple[dt.date, dt.date] = IN_SAMPLE,
    evaluate: tuple[dt.date, dt.date] | None = OUT_OF_SAMPLE,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The smallest ``z`` of ``grid`` with every portfolio at >= 99 % coverage at its
    horizon on ``window``, and the table behind it; then, when ``evaluate`` names a
    window, the chosen ``z``'s figures there (evaluation only: they choose nothing).
    ``walk`` must margin ``model`` at every horizon; its params are left as they were."""
    if model not in walk.models or not set(horizons.values()) <= set(walk.mpors):
        raise ValueError(f"fit_z: the walk must margin {model} at MPOR {sorted(set(horizons.values()))}")
    table = [_evaluate(walk, z, horizons, model, window, progress) for z in sorted(grid)]
    chosen = next((row["z"] for row in table if row["all_at_least_99"]), None)
    out: dict[str, Any] = {
        "model": model,
        "window": [window[0].isoformat(), window[1].isoformat()],
        "grid": [float(z) for z in sorted(grid)],
        "rule": "smallest z with every portfolio at >= 99% coverage at its liquidity horizon, in sample only",
        "horizons": dict(horizons),
        "chosen": chosen,
        "table": table,
    }
    if evaluate is not None and chosen is not None:
        out["evaluation_window"] = [evaluate[0].isoformat(), evaluate[1].isoformat()]
        out["evaluation"] = _evaluate(walk, chosen, horizons, model, evaluate, progress)
    return out

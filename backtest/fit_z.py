"""Fitting ``z``, the scan range's standard deviations, on the in-sample window only.

``fit_z`` walks the default model over the in-sample days once per ``z`` of a grid and
picks the smallest ``z`` at which every portfolio has at least 99 % coverage at its
liquidity horizon. Only the days whose loss is realised within the window count (a day
``t`` at horizon ``h`` needs ``t + h`` in the window), so no out-of-sample close enters
the choice. The evidence (coverage per ``z`` and portfolio) goes into ``figures.json``
(``z_fit``) and the report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from backtest.validation import DEFAULT_MODEL, IN_SAMPLE
from backtest.walk import Walk

Z_GRID = (2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5)
TARGET_COVERAGE = 0.99


def fit_z(
    walk: Walk,
    horizons: Mapping[str, int],
    grid: Sequence[float] = Z_GRID,
    model: str = DEFAULT_MODEL,
    window: tuple[dt.date, dt.date] = IN_SAMPLE,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The smallest ``z`` of ``grid`` with every portfolio at >= 99 % coverage at its
    horizon on ``window``, and the table behind it. ``walk`` must margin ``model`` at every
    horizon; its params are restored afterwards."""
    if model not in walk.models or not set(horizons.values()) <= set(walk.mpors):
        raise ValueError(f"fit_z: the walk must margin {model} at MPOR {sorted(set(horizons.values()))}")
    original = walk.params
    table = []
    try:
        for z in sorted(grid):
            walk.params = dataclasses.replace(
                original, row_config=dataclasses.replace(original.row_config, z=z)
            )
            series = walk.run(window[0], window[1], progress=progress)
            coverage: dict[str, float | None] = {}
            for p in walk.file.portfolios:
                h = horizons[p.name]
                dates, im, _, loss = series[(model, p.name)].arrays(h)
                keep = np.array([d + dt.timedelta(days=h) <= window[1] for d in dates], dtype=bool)
                coverage[p.name] = 1.0 - float(np.mean(loss[keep] > im[keep])) if keep.any() else None
            ok = all(c is not None and c >= TARGET_COVERAGE for c in coverage.values())
            table.append({"z": z, "coverage": coverage, "all_at_least_99": ok})
    finally:
        walk.params = original
    chosen = next((row["z"] for row in table if row["all_at_least_99"]), None)
    return {
        "model": model,
        "window": [window[0].isoformat(), window[1].isoformat()],
        "grid": [float(z) for z in sorted(grid)],
        "rule": "smallest z with every portfolio at >= 99% coverage at its liquidity horizon, in sample only",
        "horizons": dict(horizons),
        "chosen": chosen,
        "table": table,
    }

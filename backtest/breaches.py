"""``breaches.csv``: one row per margined day, model, portfolio and MPOR with the loss, the
IM and whether the loss breached it, so an auditor can recompute every coverage statistic
with their own tools. Columns ``date,model,portfolio,mpor,loss,im,breach``; loss and IM in
quote units as plain decimals (the shortest text that reads back as the same float, never
an exponent); ``breach`` is 1 when loss > IM, else 0."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from backtest.walk import BacktestRun

COLUMNS = ("date", "model", "portfolio", "mpor", "loss", "im", "breach")


def decimal(x: float) -> str:
    """A float as a plain decimal that reads back exactly (``1e-07`` -> ``0.0000001``)."""
    return np.format_float_positional(x, trim="-", unique=True)


def write_breaches(run: BacktestRun, path: Path) -> int:
    """Write the file; returns the number of rows."""
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for m in run.models:
            for p in run.portfolios:
                for h in run.mpors:
                    dates, im, _, loss = run.series[(m, p.name)].arrays(h)
                    for d, i, x in zip(dates, im.tolist(), loss.tolist(), strict=True):
                        w.writerow((d.isoformat(), m, p.name, h, decimal(x), decimal(i), int(x > i)))
                        rows += 1
    return rows

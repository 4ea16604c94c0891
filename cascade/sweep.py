"""The grid of cascade runs: windows x models x sweep points, on one population per window.

The default sweep moves one parameter at a time away from the base point (the CLI's
settings): the book depth (x0.25, x0.5, x2), the impact half-life (1 h, 24 h), the
keeper's latency (30 s, 60 s) and its batch size (K = 1, 32, at the same proving cost per
account: proofs/s x K held), the share of accounts that top up (0 and 0.6), and instant
settlement (the reference against which the proof-gated keeper's cost is read). ``base``
runs the base point and the instant reference only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from backtest.history import AssetHistory
from backtest.stats import CRASHES
from backtest.walk import WARMUP_CLOSES, Walk
from cascade.population import Population, generate, load_population
from cascade.prices import PricePath, crash_path
from cascade.simulate import CascadeParams, RunResult, simulate
from engine.errors import InputError

SHOCK = "shock"


@dataclass(frozen=True)
class Point:
    name: str
    changes: dict[str, Any]

    def apply(self, base: CascadeParams) -> CascadeParams:
        changes = dict(self.changes)
        if "k" in changes:  # the same proving cost per account
            changes["proofs_per_s"] = base.proofs_per_s * base.k / changes["k"]
        if "depth_factor" in changes:
            changes["depth_factor"] = base.depth_factor * changes["depth_factor"]
        return replace(base, **changes)


BASE = Point("base", {})
INSTANT = Point("instant", {"instant": True})
DEFAULT_SWEEP: tuple[Point, ...] = (
    BASE,
    INSTANT,
    Point("depth x0.25", {"depth_factor": 0.25}),
    Point("depth x0.5", {"depth_factor": 0.5}),
    Point("depth x2", {"depth_factor": 2.0}),
    Point("half-life 1 h", {"half_life_h": 1.0}),
    Point("half-life 24 h", {"half_life_h": 24.0}),
    Point("latency 30 s", {"latency_s": 30.0}),
    Point("latency 60 s", {"latency_s": 60.0}),
    Point("K 1", {"k": 1}),
    Point("K 32", {"k": 32}),
    Point("top-up 0", {"topup_share": 0.0}),
    Point("top-up 0.6", {"topup_share": 0.6}),
)
SWEEPS: dict[str, tuple[Point, ...]] = {"base": (BASE, INSTANT), "default": DEFAULT_SWEEP}


def window_assets(walk: Walk, first: dt.date, last: dt.date) -> tuple[str, ...]:
    """The assets margined on every day of the window (enough history, every forecast)."""
    days = [d for d in walk.calendar(first, last)]
    names = [a for a in walk.asset_order if days and all(a in walk.active(d) for d in days)]
    if not names:
        raise InputError(
            "--windows", f"no asset has {WARMUP_CLOSES} closes and every forecast on all of {first}..{last}"
        )
    return tuple(names)


def window_path(
    walk: Walk,
    history: dict[str, AssetHistory],
    name: str,
    first: dt.date,
    last: dt.date,
    steps_per_day: int,
    bridge_vol: float,
    seed: int,
) -> PricePath:
    return crash_path(
        history, window_assets(walk, first, last), name, first, last, steps_per_day, bridge_vol, seed
    )


def known_windows() -> tuple[str, ...]:
    return (*CRASHES, SHOCK)


def run_grid(
    walk: Walk,
    paths: Sequence[PricePath],
    populations: dict[str, Population],
    models: Sequence[str],
    points: Sequence[Point],
    base: CascadeParams,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[str, RunResult]]:
    """Every (window, model, point) run; ``progress`` is told after each."""
    out: list[tuple[str, RunResult]] = []
    for path in paths:
        pop = populations[path.window]
        for model in models:
            for point in points:
                params = point.apply(dataclasses.replace(base, model=model))
                out.append((point.name, simulate(walk, path, pop, params)))
                if progress is not None:
                    progress(1)
    return out


def populations_for(
    paths: Sequence[PricePath], count: int, seed: int, median_notional: float, file: Path | None
) -> dict[str, Population]:
    """One population per window: the file's (its legs on the window's assets), or generated
    with ``seed`` on the window's assets."""
    return {
        path.window: generate(count, path.assets, seed, median_notional)
        if file is None
        else load_population(file, path.assets, seed)
        for path in paths
    }

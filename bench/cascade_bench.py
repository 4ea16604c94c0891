"""Liquidation cascades, timed: every crash window x every model x a sweep on 10,000
accounts, and one run on 100,000 accounts.

    python -m bench.cascade_bench [--accounts 10000] [--sweep default] [--big 100000]
        [--report build/cascade-bench] [--out bench/results/cascade.json]

The forecast paths are fitted once (timed apart, as ``zkmargin stress cascade`` does);
every run is then the simulation of ``cascade.simulate`` with the CLI's defaults. The
targets (issue 30): the grid in at most 5 minutes, the 100,000-account run in at most 2
minutes, on this 2-core machine. Figures go to ``--out``; the report of the grid to
``--report``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

from backtest.history import load_history
from backtest.portfolios import load_portfolios
from backtest.stats import CRASHES
from backtest.walk import Walk
from cascade.population import generate
from cascade.report import write_report
from cascade.simulate import CascadeParams, simulate
from cascade.sweep import SWEEPS, run_grid, window_path
from engine.calibration.procyclicality import ApcConfig
from engine.fileio import write_json_atomic
from engine.formats import load_params

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "cascade.json"
TARGETS = {"grid_seconds": 300.0, "big_run_seconds": 120.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--sweep", choices=sorted(SWEEPS), default="default")
    ap.add_argument("--big", type=int, default=100_000, help="accounts of the single large run (0: none)")
    ap.add_argument("--report", type=Path, default=ROOT / "build" / "cascade-bench")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    portfolios = load_portfolios(ROOT / "examples" / "backtest" / "portfolios.json")
    params = load_params(ROOT / "examples" / "backtest" / "params.json")
    history = load_history(ROOT / "examples" / "data" / "crypto-daily-closes.csv", list(portfolios.assets))
    began = time.perf_counter()
    walk = Walk(history, portfolios, params, params.row_config.apc or ApcConfig(), (1,))
    fit_s = time.perf_counter() - began
    print(f"forecast paths fitted in {fit_s:.1f} s")
    paths = [window_path(walk, history, w, a, b, 24, 0.0, 1) for w, (a, b) in CRASHES.items()]
    pops = {p.window: generate(args.accounts, p.assets, 1) for p in paths}
    models = ("fixed", "trailing30", "ewma", "garch", "garch_apc", "garch_emir")
    points = SWEEPS[args.sweep]
    done = [0]

    def tick(_: int) -> None:
        done[0] += 1
        if done[0] % 12 == 0:
            print(f"  {done[0]} runs, {time.perf_counter() - grid_began:.0f} s", flush=True)

    grid_began = time.perf_counter()
    runs = run_grid(walk, paths, pops, models, points, CascadeParams(), progress=tick)
    grid_s = time.perf_counter() - grid_began
    print(f"grid: {len(runs)} runs of {args.accounts} accounts in {grid_s:.0f} s")
    setup = {"accounts": args.accounts, "sweep": args.sweep, "steps_per_day": 24, "seconds": round(grid_s, 1)}
    write_report(runs, setup, args.report)
    base = [r.figures for p, r in runs if p in ("base", "instant")]
    for f in base:
        print(
            f"{f['window']:<13} {f['model']:<11} {'instant' if f['instant'] else 'gated':<8} "
            f"liquidated {f['liquidated_accounts']:>5} notional {f['liquidated_notional']:>13,.0f} "
            f"bad debt {f['bad_debt']:>11,.0f} amplification {f['amplification'] or 1.0:.4f} ({f['seconds']:.1f} s)"
        )
    big: dict[str, Any] | None = None
    if args.big:
        path = paths[2]  # the LUNA window
        pop = generate(args.big, path.assets, 1)
        t = time.perf_counter()
        result = simulate(walk, path, pop, CascadeParams())
        big = {**result.figures, "wall_s": round(time.perf_counter() - t, 1)}
        print(f"{args.big} accounts, {path.window}, garch_apc: {big['wall_s']} s")
    doc = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "fit_seconds": round(fit_s, 1),
        "grid": {
            "accounts": args.accounts,
            "sweep": args.sweep,
            "runs": len(runs),
            "seconds": round(grid_s, 1),
            "seconds_per_run": round(grid_s / max(1, len(runs)), 2),
        },
        "big_run": big,
        "targets": TARGETS,
        "met": {
            "grid_seconds": grid_s <= TARGETS["grid_seconds"],
            "big_run_seconds": None if big is None else big["wall_s"] <= TARGETS["big_run_seconds"],
        },
        "runs": [{"point": p, **r.figures} for p, r in runs],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out, doc)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

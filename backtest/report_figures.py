"""The backtest's statistics by sample, MPOR, model and portfolio, the headline at each
portfolio's liquidity horizon, the issue's target checks, and ``figures.json``."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from backtest.stats import CRASHES, Summary, summarise, too_many, window_breaches
from backtest.validation import (
    DEEP_DEPTH,
    DEFAULT_MODEL,
    MEDIUM_DEPTH,
    SAMPLES,
    sample_mask,
)
from backtest.walk import BacktestRun
from engine.calibration.apc import LOOKBACK_RETURNS

Stats = dict[int, dict[str, dict[str, Summary]]]  # MPOR -> model -> portfolio
PAIR = "btc-eth-pair"
TARGET_MPORS = (1, 2)
TARGET_SECONDS = 120.0
#: Kupiec must not reject on at least this share of the portfolios (the issue: 6 of 8).
KUPIEC_SHARE = 0.75


def summaries(run: BacktestRun, window: Any = None) -> Stats:
    """Every model's statistics per portfolio and MPOR on the days margined in ``window``
    (None: all of them)."""
    out: Stats = {}
    for h in run.mpors:
        out[h] = {}
        for m in run.models:
            out[h][m] = {}
            for p in run.portfolios:
                dates, im, mm, loss = run.series[(m, p.name)].arrays(h)
                keep = np.asarray(sample_mask(dates, window), dtype=bool)
                if keep.any():
                    chosen = [d for d, k in zip(dates, keep, strict=True) if k]
                    out[h][m][p.name] = summarise(chosen, im[keep], mm[keep], loss[keep])
    return out


def sample_summaries(run: BacktestRun) -> dict[str, Stats]:
    return {name: summaries(run, window) for name, window in SAMPLES.items()}


def headline(run: BacktestRun, stats: Stats) -> dict[str, dict[str, Summary]]:
    """model -> portfolio -> statistics at the portfolio's liquidity horizon."""
    out: dict[str, dict[str, Summary]] = {}
    for m in run.models:
        out[m] = {}
        for p in run.portfolios:
            h = run.horizons.get(p.name)
            s = stats.get(h, {}).get(m, {}).get(p.name) if h is not None else None
            if s is not None:
                out[m][p.name] = s
    return out


def aggregate(items: Sequence[Summary]) -> dict[str, Any]:
    if not items:
        return {}
    return {
        "min_coverage": min(s.coverage for s in items),
        "portfolios_below_99": sum(s.coverage < 0.99 for s in items),
        "kupiec_rejected_5pct": sum(s.kupiec.rejected() for s in items),
        "kupiec_too_many_5pct": sum(too_many(s.breaches, s.days) for s in items),
        "kupiec_995_rejected_5pct": sum(s.kupiec_tail.rejected() for s in items),
        "median_peak_to_trough": float(np.median([s.peak_to_trough for s in items])),
        "median_largest_increase_5d": float(np.median([s.increase_5d for s in items])),
        "mean_im": float(np.mean([s.mean_im for s in items])),
        "max_breach_loss_over_im": max(
            (s.breach_max for s in items if s.breach_max is not None), default=None
        ),
    }


def crash_breaches(run: BacktestRun, portfolio: str = PAIR) -> dict[int, dict[str, dict[str, Any]]]:
    """The portfolio's breaches in each crash window: MPOR -> model -> window -> counts."""
    if not any(p.name == portfolio for p in run.portfolios):
        return {}
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for h in run.mpors:
        out[h] = {}
        for m in run.models:
            dates, im, _, loss = run.series[(m, portfolio)].arrays(h)
            out[h][m] = {}
            for name, w in CRASHES.items():
                b, d, worst = window_breaches(dates, im, loss, w)
                out[h][m][name] = {"breaches": b, "days": d, "worst_loss_over_im": worst}
    return out


def _var99(run: BacktestRun, portfolio: str, h: int) -> float | None:
    s = run.series.get((DEFAULT_MODEL, portfolio))
    if s is None or h not in s.loss:
        return None
    loss = s.arrays(h)[3]
    return float(np.quantile(loss, 0.99)) if loss.size else None


def targets(run: BacktestRun, samples: dict[str, Stats]) -> dict[str, Any]:
    """The issue's targets for the default model, each with its figures and ``met``
    (None where this run lacks what the check needs)."""
    m, ref = DEFAULT_MODEL, "trailing30"
    hs = [h for h in TARGET_MPORS if h in run.mpors]
    out: dict[str, Any] = {"model": m, "mpors": hs}
    if m not in run.models or not hs:
        return out
    lowest = {
        f"{sample} mpor {h}": min(s.coverage for s in samples[sample][h][m].values())
        for sample in ("in_sample", "out_of_sample")
        for h in hs
        if samples[sample][h][m]
    }
    out["coverage_99"] = {"lowest": lowest, "met": bool(lowest) and all(v >= 0.99 for v in lowest.values())}
    passing = {f"mpor {h}": sum(not s.kupiec.rejected() for s in samples["whole"][h][m].values()) for h in hs}
    n = len(run.portfolios)
    needed = math.ceil(KUPIEC_SHARE * n)  # the 6 of 8
    out["kupiec_6_of_8"] = {
        "not_rejected": passing,
        "of": n,
        "needed": needed,
        "met": all(v >= needed for v in passing.values()),
    }
    pair = samples["whole"][1][m].get(PAIR) if 1 in run.mpors else None
    var = _var99(run, PAIR, 1) if pair is not None else None
    if pair is not None and var:
        ratio = pair.mean_im / var
        out["pair_im_over_var99"] = {
            "mean_im": pair.mean_im,
            "var99_1d": var,
            "ratio": ratio,
            "met": ratio <= 1.5,
        }
    if ref in run.models:
        rise = {}
        cost = {}
        for h in hs:
            mine, theirs = samples["whole"][h][m], samples["whole"][h][ref]
            rise[f"mpor {h}"] = [
                p for p in mine if p in theirs and mine[p].increase_5d > theirs[p].increase_5d + 1e-12
            ]
            a, b = aggregate(list(mine.values())), aggregate(list(theirs.values()))
            cost[f"mpor {h}"] = a["mean_im"] / b["mean_im"] if b.get("mean_im") else None
        out["rise_5d_at_or_below_trailing30"] = {
            "portfolios_above": rise,
            "met": all(not v for v in rise.values()),
        }
        out["mean_im_within_15pct_of_trailing30"] = {
            "ratio": cost,
            "met": all(v is not None and v <= 1.15 for v in cost.values()),
        }
    out["runtime_2_minutes"] = {"seconds": round(run.seconds, 1), "met": run.seconds <= TARGET_SECONDS}
    return out


def _block(run: BacktestRun, stats: Stats, window: Any) -> dict[str, Any]:
    head = headline(run, stats)
    return {
        "window": None if window is None else [window[0].isoformat(), window[1].isoformat()],
        "results": {
            str(h): {m: {p: s.as_dict() for p, s in by_p.items()} for m, by_p in by_m.items()}
            for h, by_m in stats.items()
        },
        "aggregate": {
            str(h): {m: aggregate(list(by_p.values())) for m, by_p in by_m.items()}
            for h, by_m in stats.items()
        },
        "liquidity_horizon": {m: {p: s.as_dict() for p, s in by_p.items()} for m, by_p in head.items()},
        "liquidity_horizon_aggregate": {m: aggregate(list(by_p.values())) for m, by_p in head.items()},
    }


def figures(run: BacktestRun, samples: dict[str, Stats]) -> dict[str, Any]:
    """Everything the report states, as JSON."""
    blocks = {name: _block(run, samples[name], SAMPLES[name]) for name in SAMPLES}
    out: dict[str, Any] = {
        "format": "zkmargin/backtest-figures@1",
        "default_model": DEFAULT_MODEL,
        "models": list(run.models),
        "mpors": list(run.mpors),
        "portfolios": [p.name for p in run.portfolios],
        "seconds": round(run.seconds, 1),
        "z": run.z,
        "apc": dataclasses.asdict(run.apc),
        "apc_lookback": {
            "years_required": LOOKBACK_RETURNS / 365.0,
            "years_used": {a: round(p.lookback_years, 2) for a, p in run.paths.items()},
            "note": "the tools' ten-year look-back holds all of each asset's history where it is shorter",
        },
        "scan_horizon": "h_days = MPOR",
        "garch_refits": {
            a: {"refits": p.refits, "degenerate": p.degenerate_fits} for a, p in run.paths.items()
        },
        "gaps": {
            a: [[x.isoformat(), y.isoformat()] for x, y in h.gaps] for a, h in run.history.items() if h.gaps
        },
        "liquidity_horizon_rule": {
            "deep_depth": DEEP_DEPTH,
            "medium_depth": MEDIUM_DEPTH,
            "days": "1 if depth >= deep_depth, 2 if depth >= medium_depth, else 3; a portfolio: its longest",
            "assets": run.asset_horizons,
            "portfolios": run.horizons,
        },
        "results": blocks["whole"]["results"],
        "aggregate": blocks["whole"]["aggregate"],
        **blocks,
        "crash_windows": {k: [a.isoformat(), b.isoformat()] for k, (a, b) in CRASHES.items()},
        "pair_crash_breaches": {str(h): v for h, v in crash_breaches(run).items()},
        "stresses": {
            "model": DEFAULT_MODEL,
            "im": "the model's IM at the portfolio's liquidity horizon, the same day",
            "results": {
                p: {k: (r.as_dict() if r is not None else None) for k, r in by_s.items()}
                for p, by_s in run.stresses.items()
            },
        },
        "targets": targets(run, samples),
    }
    if run.z_fit is not None:
        out["z_fit"] = run.z_fit
    return out

"""ZKPM-2's cross-asset aggregation chosen by measurement (issue 28, item 1).

    python -m bench.aggregation_compare [--start 2017-11-14] [--end 2022-11-14]
        [--out bench/results/aggregation_compare.json]

Walks the 2017-2022 closes with the backtest's own machinery (``backtest.walk.Walk``:
its markets, accounts and losses; the ``garch_apc`` model; the example portfolios and
params, plus a BTC/ETH long/long pair; MPOR 1 and 2) and computes, for every portfolio
and day, the initial margin under each candidate aggregation. Candidates 1-3 read the
same per-asset scenario sums ``P[a][s]`` (``MarginResult.scenario_sums``) and are
computed here in exact integers, so only the aggregation differs; the liquidity add-on
``LQ`` and the static charges ``SC`` are the engine's in every candidate:

* ``zkpm1``: ``R = isqrt(fdiv(sum rho W W, SCALE))`` (unsigned worst losses);
* ``simm``: signed directional parts ``S = clamp(Dir, -W, W)`` through rho, the rest
  ``U = W - |S|`` added in full (ZKPM-2 as the lead specifies it);
* ``simm_c<c>``: the same, the cross terms that lower ``X`` counted at a fraction ``c``;
* ``simm_f<f>``: the same, ``R`` never below ``f * max_a W[a]``;
* ``joint_<N>`` and ``joint_<N>_stress`` (SPAN 2 / Prisma style): every asset of the
  portfolio moved together by the last ``N`` common days' returns, each scaled by the
  asset's volatility today over its volatility then (filtered historical simulation,
  ``sigma_eff``: the ``garch_apc`` charged scan volatility) and by ``sqrt(MPOR)``; options
  revalued by the engine's own pricer (``engine.market_builder.value_at_spots``) under
  the engine's vol-up and vol-down shocks; ``_stress`` adds each asset alone moved by
  its scan range (the hedge fails) and all assets moved together by it. ``IM = worst
  scenario loss + LQ + SC``.

For each candidate, portfolio, MPOR and sample (whole, in sample 2017-11..2020-12, out of
sample 2021-01..2022-11): days, breaches, coverage, Kupiec p (``backtest.stats``, scipy),
mean IM, the 99 % loss, mean IM / 99 % loss and mean IM / ZKPM-1's; the pairs' breaches
in the LUNA and FTX weeks. Writes ``bench/results/aggregation_compare.json``.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import datetime as dt
import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backtest.history import AssetHistory, load_history
from backtest.portfolios import Leg, Portfolio, PortfolioFile, load_portfolios
from backtest.stats import CRASHES, kupiec_pof
from backtest.validation import SAMPLES, in_window
from backtest.walk import MarketDay, Walk, loss_over
from engine.calibration.procyclicality import ApcConfig
from engine.fileio import write_json_atomic
from engine.fixedpoint import SCALE, fdiv, isqrt
from engine.formats import load_params
from engine.margin import MarginResult, compute_margin
from engine.market_builder import asset_scan_ranges, value_at_spots
from engine.model import InstrumentSpec
from engine.scenarios import shocked_vol_multipliers

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "aggregation_compare.json"
CSV = ROOT / "examples" / "data" / "crypto-daily-closes.csv"
PORTFOLIOS = ROOT / "examples" / "backtest" / "portfolios.json"
PARAMS = ROOT / "examples" / "backtest" / "params.json"
MODEL = "garch_apc"
MPORS = (1, 2)
PAIR = "btc-eth-pair"
LONG_LONG = "btc-eth-long-long"
#: The BTC/ETH pair with both legs long (the issue's "doubled bet").
LONG_LONG_PAIR = Portfolio(
    LONG_LONG,
    "long 2M USD BTC perp and long 2M USD ETH perp: no hedge",
    (Leg("BTC", "perp", 2_000_000.0), Leg("ETH", "perp", 2_000_000.0)),
)
CRASH_WINDOWS = {k: CRASHES[k] for k in ("luna-2022-05", "ftx-2022-11")}
#: Hedge-credit caps tried: the offsetting cross terms counted at c, or R >= f * max W.
CROSS_FRACTIONS = (0.5,)
FLOOR_FRACTIONS = (0.5, 0.75)
#: Filtered historical windows (days) of the joint-scenario candidates.
JOINT_WINDOWS = (250, 500)
STRESS_WINDOW = 500
UP_MOVES, DOWN_MOVES = (10, 11), (12, 13)

# ----------------------------------------------------------- aggregations (exact)


def worst_losses(sums: Sequence[Sequence[int]]) -> list[int]:
    """``W[a] = max(0, -fdiv(min_s P[a][s], SCALE))``."""
    return [max(0, -fdiv(min(p), SCALE)) for p in sums]


def r_zkpm1(sums: Sequence[Sequence[int]], rho: Sequence[Sequence[int]]) -> int:
    """ZKPM-1: ``isqrt(fdiv(sum rho W W, SCALE))``."""
    w = worst_losses(sums)
    n = len(w)
    return isqrt(max(0, fdiv(sum(rho[a][b] * w[a] * w[b] for a in range(n) for b in range(n)), SCALE)))


def directional_parts(sums: Sequence[Sequence[int]]) -> tuple[list[int], list[int], list[int]]:
    """``(W, S, U)`` per asset: ``Dir = fdiv((P10 + P11) - (P12 + P13), 4 SCALE)``,
    ``S = clamp(Dir, -W, W)``, ``U = W - |S|``."""
    w = worst_losses(sums)
    s, u = [], []
    for p, wa in zip(sums, w, strict=True):
        d = fdiv(sum(p[i] for i in UP_MOVES) - sum(p[i] for i in DOWN_MOVES), 4 * SCALE)
        sa = max(-wa, min(wa, d))
        s.append(sa)
        u.append(wa - abs(sa))
    return w, s, u


def r_simm(
    sums: Sequence[Sequence[int]], rho: Sequence[Sequence[int]], cross: float = 1.0, floor: float = 0.0
) -> int:
    """SIMM-style signed terms: ``isqrt(max(0, fdiv(sum rho S S, SCALE))) + sum U``, the
    cross terms below zero counted at ``cross`` (1: in full), ``R >= floor * max W``."""
    w, s, u = directional_parts(sums)
    n = len(s)
    c_num = round(cross * SCALE)
    total = 0
    for a in range(n):
        for b in range(n):
            term = rho[a][b] * s[a] * s[b]
            total += fdiv(term * c_num, SCALE) if a != b and term < 0 else term
    r = isqrt(max(0, fdiv(total, SCALE))) + sum(u)
    return max(r, fdiv(round(floor * SCALE) * max(w, default=0), SCALE))


def scenario_candidates() -> dict[str, Callable[[Sequence[Sequence[int]], Sequence[Sequence[int]]], int]]:
    """Name -> ``R`` from ``(P, rho)`` for the candidates that read the scenario sums."""
    out: dict[str, Callable[[Sequence[Sequence[int]], Sequence[Sequence[int]]], int]] = {
        "zkpm1": r_zkpm1,
        "simm": r_simm,
    }
    for c in CROSS_FRACTIONS:
        out[f"simm_c{c:g}"] = functools.partial(r_simm, cross=c)
    for f in FLOOR_FRACTIONS:
        out[f"simm_f{f:g}"] = functools.partial(r_simm, floor=f)
    return out


def joint_names() -> list[str]:
    return [f"joint_{n}" for n in JOINT_WINDOWS] + [f"joint_{STRESS_WINDOW}_stress"]


# ------------------------------------------------------------- joint scenarios


def sigma_eff(walk: Walk, asset: str, i: int) -> float:
    """The model's charged scan volatility at the asset's date index ``i`` (its ``garch_apc``
    path, the implied proxy where that is larger; NaN where undefined)."""
    p = walk.paths[asset]
    return float(max(p.realised30[i], p.garch_apc[i]))


class Residuals:
    """Per set of assets: the days with a return of every asset, and each return over the
    asset's vol then (the forecast made at the previous close), built once per walk."""

    def __init__(self, walk: Walk) -> None:
        self.walk = walk
        self._sets: dict[tuple[str, ...], tuple[list[dt.date], np.ndarray]] = {}

    def _table(self, assets: tuple[str, ...]) -> tuple[list[dt.date], np.ndarray]:
        if assets not in self._sets:
            walk = self.walk
            by_date = walk._returns_by_date  # the walk's own returns, keyed by end date
            common = set(by_date[assets[0]])
            for a in assets[1:]:
                common &= set(by_date[a])
            dates, rows = [], []
            for d in sorted(common):
                then = [sigma_eff(walk, a, walk.index[a][d] - 1) for a in assets]
                if all(math.isfinite(x) and x > 0 for x in then):
                    dates.append(d)
                    rows.append([by_date[a][d] / v for a, v in zip(assets, then, strict=True)])
            self._sets[assets] = (dates, np.asarray(rows, dtype=np.float64).reshape(-1, len(assets)))
        return self._sets[assets]

    def moves(self, day: MarketDay, assets: Sequence[str], window: int) -> np.ndarray:
        """Filtered historical log moves, ``(J, len(assets))``: the last ``window`` days up
        to the day with a return of every asset, each scaled by the asset's vol today."""
        dates, resid = self._table(tuple(assets))
        end = bisect.bisect_right(dates, day.t)
        now = np.asarray([sigma_eff(self.walk, a, self.walk.index[a][day.t]) for a in assets])
        return resid[max(0, end - window) : end] * now


def stress_moves(walk: Walk, day: MarketDay, assets: Sequence[str], mpor: int) -> np.ndarray:
    """Each asset alone by +-its scan range, and all together by +-it (simple moves as log)."""
    m = dict(zip(day.assets, asset_scan_ranges(day.quotes, walk.row_config(day, MODEL, mpor)), strict=True))
    rows = []
    for sign in (1.0, -1.0):
        rows.append([math.log1p(sign * m[a]) for a in assets])
        for lead in assets:
            rows.append([math.log1p(sign * m[a]) if a == lead else 0.0 for a in assets])
    return np.asarray(rows, dtype=np.float64)


def _vol_variants(walk: Walk, day: MarketDay, spec: InstrumentSpec) -> list[InstrumentSpec]:
    """The option under the engine's vol-up and vol-down shocks (spot and perp: itself)."""
    if spec.kind not in ("call", "put") or spec.expiry is None or spec.vol is None:
        return [spec]
    days = max((spec.expiry - day.t).days, 0)
    up, down = shocked_vol_multipliers(np.asarray([days], dtype=np.float64), walk.params.row_config)
    return [dataclasses.replace(spec, vol=spec.vol * float(f[0])) for f in (up, down)]


def joint_loss(walk: Walk, day: MarketDay, portfolio: Portfolio, log_moves: np.ndarray) -> float:
    """Worst portfolio loss over the joint moves x {vol up, vol down} (quote units)."""
    assets = list(portfolio.assets)
    quotes = {q.name: q for q in day.quotes}
    pnl = np.zeros((2, log_moves.shape[0]))
    for leg in portfolio.legs:
        spec = day.specs[leg.key]
        quote = quotes[leg.asset]
        spots = quote.spot * np.exp(log_moves[:, assets.index(leg.asset)])
        base = float(value_at_spots(spec, quote, day.t, [quote.spot])[0])
        units = walk.units(day, leg) / SCALE
        variants = _vol_variants(walk, day, spec)
        for k in range(2):
            shocked = value_at_spots(variants[min(k, len(variants) - 1)], quote, day.t, spots)
            pnl[k] += units * (shocked - base)
    return float(max(0.0, -pnl.min())) if pnl.size else 0.0


# ------------------------------------------------------------------- the walk


@dataclasses.dataclass
class Track:
    """One portfolio at one MPOR: per day the loss and every candidate's IM (quote units)."""

    dates: list[dt.date] = dataclasses.field(default_factory=list)
    loss: list[float] = dataclasses.field(default_factory=list)
    im: dict[str, list[float]] = dataclasses.field(default_factory=dict)


def candidate_ims(
    walk: Walk,
    residuals: Residuals,
    day: MarketDay,
    portfolio: Portfolio,
    result: MarginResult,
    rho: Sequence[Sequence[int]],
    mpor: int,
) -> dict[str, float]:
    """Every candidate's IM of one account on one day (quote units)."""
    addons = sum(result.LQ) + result.SC
    out = {name: (f(result.scenario_sums, rho) + addons) / SCALE for name, f in scenario_candidates().items()}
    assets = list(portfolio.assets)
    root_h = math.sqrt(mpor)
    fhs = {n: residuals.moves(day, assets, n) * root_h for n in JOINT_WINDOWS}
    for n in JOINT_WINDOWS:
        out[f"joint_{n}"] = joint_loss(walk, day, portfolio, fhs[n]) + addons / SCALE
    stressed = np.vstack([fhs[STRESS_WINDOW], stress_moves(walk, day, assets, mpor)])
    out[f"joint_{STRESS_WINDOW}_stress"] = joint_loss(walk, day, portfolio, stressed) + addons / SCALE
    return out


def walk_candidates(walk: Walk, start: dt.date | None, end: dt.date | None) -> dict[tuple[str, int], Track]:
    """Per (portfolio, MPOR): the daily losses and every candidate's IM, as ``Walk.run``."""
    names = [*scenario_candidates(), *joint_names()]
    tracks = {(p.name, h): Track(im={c: [] for c in names}) for p in walk.file.portfolios for h in walk.mpors}
    residuals = Residuals(walk)
    for wd in walk.days(start, end):
        day, params = wd.day, wd.params
        for h, marks in wd.later.items():
            if marks is None:
                continue
            market = walk.market(day, MODEL, wd.epoch, h)
            now = {iid: row.mark for iid, row in market.rows.items()}
            for p in wd.todo:
                account = walk.account(day, p)
                result = compute_margin(market, params, account)
                track = tracks[(p.name, h)]
                track.dates.append(day.t)
                track.loss.append(loss_over(account, now, marks))
                for name, im in candidate_ims(walk, residuals, day, p, result, params.rho, h).items():
                    track.im[name].append(im)
    return tracks


# ---------------------------------------------------------------- statistics


def _stats(loss: np.ndarray, im: np.ndarray, base_im: np.ndarray, dates: Sequence[dt.date]) -> dict[str, Any]:
    n = int(loss.size)
    if n == 0:
        return {"days": 0}
    breaches = int(np.sum(loss > im))
    q99 = float(np.quantile(loss, 0.99))
    mean_im = float(np.mean(im))
    return {
        "days": n,
        "breaches": breaches,
        "coverage": 1.0 - breaches / n,
        "kupiec_p": kupiec_pof(breaches, n).p_value,
        "mean_im": mean_im,
        "loss_q99": q99,
        "mean_im_over_q99": mean_im / q99 if q99 > 0 else None,
        "mean_im_over_zkpm1": mean_im / float(np.mean(base_im)) if float(np.mean(base_im)) > 0 else None,
        "breach_loss_over_im_max": float(np.max(loss[loss > im] / im[loss > im])) if breaches else None,
        "breach_dates": [d.isoformat() for d, hit in zip(dates, loss > im, strict=True) if hit],
    }


def summarise(tracks: dict[tuple[str, int], Track]) -> dict[str, Any]:
    """``results[sample][mpor][candidate][portfolio]`` and the pairs' crash-week breaches."""
    results: dict[str, Any] = {}
    crashes: dict[str, Any] = {}
    for (name, h), track in tracks.items():
        loss = np.asarray(track.loss)
        for sample, window in SAMPLES.items():
            keep = np.asarray([in_window(d, window) for d in track.dates], dtype=bool)
            by = results.setdefault(sample, {}).setdefault(str(h), {})
            base = np.asarray(track.im["zkpm1"])[keep]
            dates = [d for d, k in zip(track.dates, keep, strict=True) if k]
            for cand, im in track.im.items():
                by.setdefault(cand, {})[name] = _stats(loss[keep], np.asarray(im)[keep], base, dates)
        if name not in (PAIR, LONG_LONG):
            continue
        for crash, window in CRASH_WINDOWS.items():
            keep = np.asarray([in_window(d, window) for d in track.dates], dtype=bool)
            for cand, im_list in track.im.items():
                im = np.asarray(im_list)[keep]
                lw = loss[keep]
                crashes.setdefault(str(h), {}).setdefault(crash, {}).setdefault(cand, {})[name] = {
                    "days": int(lw.size),
                    "breaches": int(np.sum(lw > im)),
                    "max_loss_over_im": float(np.max(lw / im)) if lw.size else None,
                }
    return {"results": results, "pair_crash_weeks": crashes}


def _until(h: AssetHistory, last: dt.date) -> AssetHistory:
    """The history's closes up to ``last`` (every path is causal: earlier values stay)."""
    n = sum(1 for d in h.dates if d <= last)
    return dataclasses.replace(h, dates=h.dates[:n], closes=h.closes[:n], returns=h.returns[: max(0, n - 1)])


def load_walk(mpors: Sequence[int] = MPORS, end: dt.date | None = None) -> Walk:
    """The walk of the example files plus the long/long pair; with ``end``, the closes
    after ``end`` + the longest MPOR are not read (a short run fits no GARCH on them)."""
    file = load_portfolios(PORTFOLIOS)
    if LONG_LONG not in {p.name for p in file.portfolios}:
        file = PortfolioFile(file.assets, (*file.portfolios, LONG_LONG_PAIR))
    params = load_params(PARAMS)
    history = load_history(CSV, list(file.assets))
    if end is not None:
        last = end + dt.timedelta(days=max(mpors))
        history = {a: _until(h, last) for a, h in history.items() if h.dates[0] <= last}
    apc = params.row_config.apc or ApcConfig()
    return Walk(history, file, params, apc, mpors, models=(MODEL,))


def run(
    start: dt.date | None = None, end: dt.date | None = None, mpors: Sequence[int] = MPORS
) -> dict[str, Any]:
    began = time.perf_counter()
    walk = load_walk(mpors, end)
    tracks = walk_candidates(walk, start, end)
    doc: dict[str, Any] = {
        "format": "zkmargin/aggregation-compare@1",
        "model": MODEL,
        "mpors": list(mpors),
        "window": [start.isoformat() if start else None, end.isoformat() if end else None],
        "samples": {k: [d.isoformat() for d in v] if v else None for k, v in SAMPLES.items()},
        "candidates": [*scenario_candidates(), *joint_names()],
        "joint_windows": list(JOINT_WINDOWS),
        "portfolios": [p.name for p in walk.file.portfolios],
        **summarise(tracks),
    }
    doc["seconds"] = round(time.perf_counter() - began, 1)
    return doc


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--start", type=_date, default=None)
    parser.add_argument("--end", type=_date, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    doc = run(args.start, args.end)
    write_json_atomic(args.out, doc)
    print(json.dumps({"seconds": doc["seconds"], "out": str(args.out)}))
    for sample in ("in_sample", "out_of_sample"):
        for cand, by in doc["results"].get(sample, {}).get("1", {}).items():
            cells = " ".join(
                f"{p[:14]}:{s['coverage'] * 100:.1f}%/{s['mean_im_over_q99'] or 0:.2f}"
                for p, s in by.items()
                if s.get("days")
            )
            print(f"{sample:<13} MPOR 1 {cand:<18} {cells}")


if __name__ == "__main__":
    main()

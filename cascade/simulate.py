"""One cascade run: a population through a price path under one margin model.

At each step ``k`` (time ``k * step``):

1. the step's prices are the exogenous path times the impact left by earlier steps,
   ``p_k = x_k * exp(J_k)``;
2. every open account is margined (the engine's ``compute_margins`` on the market
   ``build_market`` makes at ``p_k`` with the close-before-the-step's information; the
   ``fixed`` model's rates for ``fixed``), a screen (``cascade.screen``) sparing the
   accounts it proves healthy;
3. accounts below MM join the keeper's queue (``cascade.keeper``); accounts below IM get a
   margin call (counted when it opens) and, at every step they stay below IM, answer it by
   their draw ``u``: a top-up to ``(1 + restore) * IM`` (``u < topup_share``), a cut of
   every position by ``min(1, 1 - E / ((1 + restore) * IM))`` (the next ``reduce_share``)
   or nothing (the rest);
4. the keeper's due liquidations close every position of their accounts, and the
   reductions are sent, into the books: the step's net notional per asset moves the log
   price by ``D_k`` (``cascade.prices.log_impact``), and every trade of the step is filled
   at the post-impact price, a liquidation at the exogenous price of its settlement time;
5. closed accounts' negative equity is absorbed (``cascade.ledger``), and the impact
   decays: ``J_{k+1} = (J_k + D_k) * decay``.

Accounts still queued after the last step settle at its price.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backtest.walk import Walk
from cascade.keeper import DRILL_K, DRILL_LATENCY_S, DRILL_PROOFS_PER_S, Keeper
from cascade.ledger import Ledger, ints
from cascade.population import Population, opening_equity, units
from cascade.prices import DAYS_PER_YEAR, PricePath, decay_factor, interpolate, log_impact
from cascade.screen import Screen
from cascade.venue import Venue, margin_status
from engine.fixedpoint import SCALE
from engine.status import Status

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
OPEN, QUEUED, CLOSED = 0, 1, 2


@dataclass(frozen=True)
class CascadeParams:
    model: str = "garch_apc"
    depth_factor: float = 1.0
    impact_law: str = "sqrt"
    impact_y: float = 1.0  # square-root law
    impact_lambda: float | None = None  # linear law; None: 2 kappa_a (the add-on's own)
    half_life_h: float = 6.0
    latency_s: float = DRILL_LATENCY_S
    k: int = DRILL_K
    proofs_per_s: float = DRILL_PROOFS_PER_S
    instant: bool = False
    topup_share: float = 0.3
    reduce_share: float = 0.3
    restore: float = 0.2  # a call is answered up to (1 + restore) x IM
    fund_share: float = 0.01
    feedback: bool = True  # False: no impact (the exogenous path)
    screen: bool = True  # False: the engine margins every open account at every step


@dataclass
class RunResult:
    params: CascadeParams
    window: str
    accounts: int
    figures: dict[str, Any]
    steps: dict[str, list[Any]] = field(default_factory=dict)
    liquidated_at: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # -1: never


def _coefficients(walk: Walk, venue: Venue, p: CascadeParams) -> FloatArray:
    if p.impact_law == "sqrt":
        return np.full(len(venue.assets), p.impact_y)
    if p.impact_lambda is not None:
        return np.full(len(venue.assets), p.impact_lambda)
    kappa = walk.params.kappa
    values = [kappa.get(a, 0) if isinstance(kappa, dict) else 0 for a in venue.assets]
    return 2.0 * np.array(values, dtype=np.float64) / SCALE


def _marks(spots: FloatArray) -> IntArray:
    return np.asarray(np.rint(spots * SCALE), dtype=np.int64)


def _value(q: IntArray, asset: IntArray, marks: IntArray) -> NDArray[np.object_]:
    """Each account's position value x SCALE, exact: ``sum(q * M) // SCALE``."""
    m = np.where(asset >= 0, marks[np.maximum(asset, 0)], 0)
    return (q.astype(object) * m.astype(object)).sum(axis=1) // SCALE


def simulate(walk: Walk, path: PricePath, pop: Population, p: CascadeParams) -> RunResult:
    began = time.perf_counter()
    venue = Venue(walk, path.assets, p.depth_factor)
    n, steps, step_s = len(pop), path.steps, path.step_seconds
    ids, asset = pop.instrument_ids(), pop.asset
    q = units(pop, path.spots[0])
    t0 = path.dates[int(path.info[0])]
    if p.model == "fixed":
        im0 = venue.fixed(asset, q, path.spots[0])[0]
    else:
        res = venue.margins(t0, p.model, path.spots[0], 0, ids, q, np.zeros(n, dtype=object))
        im0 = np.array([v / SCALE for v in res.IM.tolist()])
    equity = opening_equity(pop, im0)
    cash = ints(np.rint(equity * SCALE).astype(np.int64).tolist()) - _value(q, asset, _marks(path.spots[0]))
    units0 = np.zeros(len(venue.specs), dtype=np.int64)
    np.add.at(units0, ids.ravel(), q.ravel())
    ledger = Ledger(cash, round(p.fund_share * float(equity.sum()) * SCALE), units0)
    keeper = Keeper(p.proofs_per_s, p.k, p.latency_s, p.instant)
    screen = Screen(n, len(path.assets)) if p.screen and p.model != "fixed" else None
    coef = _coefficients(walk, venue, p)
    decay = decay_factor(step_s, p.half_life_h)
    weights = np.bincount(np.maximum(asset, 0).ravel(), np.abs(pop.notional).ravel(), len(path.assets))
    weights = (
        weights / weights.sum() if weights.sum() > 0 else np.full(len(path.assets), 1 / len(path.assets))
    )
    state = np.zeros(n, dtype=np.int8)
    called = np.zeros(n, dtype=bool)
    ever_called = np.zeros(n, dtype=bool)
    liquidated_at = np.full(n, -1, dtype=np.int64)
    J = np.zeros(len(path.assets))
    delays: list[float] = []
    rec: dict[str, list[Any]] = {
        k: []
        for k in (
            "hours", "index_exo", "index", "spots", "found", "settled", "liquidated_notional",
            "bad_debt", "calls", "topup", "reduced_notional", "queue", "residual_cash", "residual_units",
            "exact",
        )
    }  # fmt: skip
    for k in range(steps + 1):
        now, until = k * step_s, (k + 1) * step_s
        x = path.spots[k]
        spots = x * np.exp(J)
        info = path.dates[int(path.info[k])]
        marks = _marks(spots)
        idx = np.flatnonzero(state == OPEN)
        status, gap, im_e = margin_status(
            venue, screen, p.model, info, spots, marks, k, ids, asset, q, ledger.cash, idx, p.restore
        )
        rec["exact"].append(0 if screen is None else screen.last_exact)
        liq = idx[status >= Status.LIQUIDATABLE]
        state[liq] = QUEUED
        liquidated_at[liq] = k
        keeper.enqueue(liq)
        restricted = status == Status.RESTRICTED
        new_calls = int((restricted & ~called[idx]).sum())
        called[idx] = restricted
        ever_called[idx[restricted]] = True
        u = pop.u[idx]
        topped = restricted & (u < p.topup_share)
        top_idx = idx[topped]
        deposits = gap[topped]
        if top_idx.size:
            ledger.deposit(top_idx, deposits)
            if screen is not None:
                screen.stale[top_idx] = True
        reducing = restricted & ~topped & (u < p.topup_share + p.reduce_share)
        red_idx = idx[reducing]
        if red_idx.size:
            cut = np.clip(1.0 - im_e[reducing] / (1.0 + p.restore), 0.0, 1.0)
            dq_r = -np.rint(q[red_idx] * cut[:, None]).astype(np.int64)
        else:
            dq_r = np.zeros((0, q.shape[1]), dtype=np.int64)
        waiting = keeper.pending
        settle, tau = keeper.due(now, until)
        if k == steps:
            rest = keeper.drain()
            settle, tau = np.concatenate((settle, rest)), np.concatenate((tau, np.full(rest.size, now)))
        delays.extend((tau - liquidated_at[settle] * step_s).tolist())
        later = path.spots[min(k + 1, steps)]
        pre_l = interpolate(x, later, (tau - now) / step_s) * np.exp(J)[None, :]  # (m, A)
        dq_l = -q[settle]
        flow = _flow(dq_l, asset[settle], pre_l) + _flow(
            dq_r, asset[red_idx], np.broadcast_to(spots, (red_idx.size, spots.size))
        )
        sigma_day = venue.proxy(info) / math.sqrt(DAYS_PER_YEAR)
        delta = (
            log_impact(flow, venue.depth, sigma_day, p.impact_law, coef) if p.feedback else np.zeros_like(J)
        )
        hit = np.exp(delta)
        px_l = _fill(pre_l * hit[None, :], asset[settle])
        px_r = _fill(np.broadcast_to(spots * hit, (red_idx.size, spots.size)), asset[red_idx])
        ledger.trade(settle, ids[settle], dq_l, px_l, SCALE)
        ledger.trade(red_idx, ids[red_idx], dq_r, px_r, SCALE)
        liq_notional = float((np.abs(dq_l) / SCALE * px_l / SCALE).sum())
        red_notional = float((np.abs(dq_r) / SCALE * px_r / SCALE).sum())
        q[settle] = 0
        if red_idx.size:
            q[red_idx] += dq_r
            if screen is not None:
                screen.stale[red_idx] = True
        state[settle] = CLOSED
        bad = 0
        if settle.size and min(ledger.cash[settle].tolist()) < 0:
            payers = np.flatnonzero(state == OPEN)
            equity_now = ledger.cash[payers] + _value(q[payers], asset[payers], _marks(spots * hit))
            bad = ledger.absorb(settle, np.maximum(equity_now, 0), payers)
        J = (J + delta) * decay
        res_cash, res_units = ledger.residuals(
            np.bincount(ids.ravel(), q.ravel(), len(units0)).astype(np.int64)
        )
        for key, value in (
            ("hours", now / 3600.0), ("index_exo", float(weights @ np.log(x / path.spots[0]))),
            ("index", float(weights @ np.log(spots / path.spots[0]))), ("spots", spots.tolist()),
            ("found", int(liq.size)), ("settled", int(settle.size)), ("liquidated_notional", liq_notional),
            ("bad_debt", bad / SCALE), ("calls", new_calls), ("topup", float(sum(deposits.tolist())) / SCALE),
            ("reduced_notional", red_notional), ("queue", waiting), ("residual_cash", res_cash),
            ("residual_units", res_units),
        ):  # fmt: skip
            rec[key].append(value)
    exo_move, move = min(rec["index_exo"]), min(rec["index"])
    settled_steps = [k for k, count in enumerate(rec["settled"]) if count]
    figures = {
        "model": p.model,
        "window": path.window,
        "depth_factor": p.depth_factor,
        "latency_s": 0.0 if p.instant else p.latency_s,
        "K": p.k,
        "proofs_per_s": None if p.instant else p.proofs_per_s,
        "instant": p.instant,
        "impact_law": p.impact_law,
        "half_life_h": p.half_life_h,
        "topup_share": p.topup_share,
        "reduce_share": p.reduce_share,
        "feedback": p.feedback,
        "accounts": n,
        "liquidated_accounts": int((liquidated_at >= 0).sum()),
        "liquidated_notional": float(sum(rec["liquidated_notional"])),
        "bad_debt": (ledger.fund_draw + ledger.socialised + ledger.uncovered) / SCALE,
        "insurance_draw": ledger.fund_draw / SCALE,
        "socialised_loss": ledger.socialised / SCALE,
        "uncovered": ledger.uncovered / SCALE,
        "exo_move": exo_move,
        "move": move,
        "liquidation_move": move - exo_move,
        "amplification": move / exo_move if exo_move < 0 else (1.0 if move >= 0 else None),
        "time_to_stability_h": (settled_steps[-1] - settled_steps[0]) * step_s / 3600.0
        if settled_steps
        else 0.0,
        "margin_calls": int(sum(rec["calls"])),
        "topup_usd": float(sum(rec["topup"])),
        "deleveraged_notional": float(sum(rec["reduced_notional"])),
        "opening_equity": float(equity.sum()),
        "opening_gross": float(pop.gross().sum()),
        "accounts_called": int(ever_called.sum()),
        "hours_to_95pct": _hours_to_share(rec["liquidated_notional"], step_s, 0.95),
        "max_queue": max(rec["queue"]),
        "mean_settle_delay_s": float(np.mean(delays)) if delays else 0.0,
        "max_settle_delay_s": float(np.max(delays)) if delays else 0.0,
        "exact_margins": int(sum(rec["exact"])),
        "conserved": all(c == 0 for c in rec["residual_cash"]) and all(u == 0 for u in rec["residual_units"]),
        "seconds": round(time.perf_counter() - began, 3),
    }
    return RunResult(p, path.window, n, figures, rec, liquidated_at)


def _hours_to_share(notional: list[float], step_s: float, share: float) -> float:
    """Hours from the first liquidation until ``share`` of the run's notional liquidated is settled."""
    total = np.cumsum(notional)
    if not total.size or total[-1] <= 0:
        return 0.0
    first = int(np.flatnonzero(total > 0)[0])
    reached = int(np.searchsorted(total, share * total[-1]))
    return (reached - first) * step_s / 3600.0


def _flow(dq: IntArray, asset: IntArray, prices: FloatArray) -> FloatArray:
    """Net notional per asset of the trades ``dq`` at per-row asset ``prices``."""
    a = np.maximum(asset, 0)
    px = np.take_along_axis(prices, a, axis=1) if dq.size else np.zeros(dq.shape)
    if not dq.size:
        return np.zeros(prices.shape[1])
    return np.asarray(np.bincount(a.ravel(), (dq / SCALE * px).ravel(), prices.shape[1]), dtype=np.float64)


def _fill(prices: FloatArray, asset: IntArray) -> IntArray:
    """Per-slot fill price x SCALE (0 on an empty slot)."""
    if not asset.size:
        return np.zeros(asset.shape, dtype=np.int64)
    px = np.take_along_axis(prices, np.maximum(asset, 0), axis=1)
    return np.where(asset >= 0, np.rint(px * SCALE), 0).astype(np.int64)

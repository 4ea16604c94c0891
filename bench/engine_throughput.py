"""Engine throughput: section-3 margins for many accounts with ``compute_margins``.

Builds a realistic standard-profile market with ``engine.market_builder`` (4 assets;
spot, perp and a grid of calls and puts per asset), draws random accounts with every
slot filled, and times ``AccountBatch.from_accounts`` and ``compute_margins``
separately. A sample of accounts is checked against ``compute_margin``.

    python -m bench.engine_throughput [--accounts 100000] [--seed 1]

Writes ``bench/results/engine_throughput.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from engine.fixedpoint import SCALE
from engine.margin import compute_margin
from engine.margin_arrays import AccountBatch, MarketTables
from engine.margin_batch import compute_margins
from engine.market_builder import build_market
from engine.model import EMPTY_SLOT, Account, AssetQuote, InstrumentSpec, Market, RiskParams, RowConfig, Slot
from engine.profiles import PROFILES
from engine.status import Status

RESULTS = Path(__file__).resolve().parent / "results" / "engine_throughput.json"
AS_OF = dt.date(2026, 11, 20)
QUOTES = (
    AssetQuote("BTC", spot=60_000.0, vol=0.55, depth=50_000_000.0),
    AssetQuote("ETH", spot=3_000.0, vol=0.70, depth=20_000_000.0),
    AssetQuote("SOL", spot=150.0, vol=0.90, depth=5_000_000.0),
    AssetQuote("DOGE", spot=0.15, vol=1.10, depth=1_000_000.0),
)
EXPIRY_DAYS = (7, 30, 90, 180)
STRIKE_FRACTIONS = (0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.35, 1.5)


def instruments() -> list[InstrumentSpec]:
    """Per asset: spot, perp, and calls and puts on a strike x expiry grid (376 in all)."""
    specs: list[InstrumentSpec] = []
    for q in QUOTES:
        specs.append(InstrumentSpec(len(specs), f"{q.name}", q.name, "spot"))
        specs.append(InstrumentSpec(len(specs), f"{q.name}-PERP", q.name, "perp"))
        for days in EXPIRY_DAYS:
            expiry = AS_OF + dt.timedelta(days=days)
            for frac in STRIKE_FRACTIONS:
                strike = round(q.spot * frac, 6)
                for kind in ("call", "put"):
                    name = f"{q.name}-{expiry:%d%b%y}-{strike:g}-{kind[0].upper()}"
                    specs.append(InstrumentSpec(len(specs), name, q.name, kind, strike=strike, expiry=expiry))
    return specs


def risk_params(n_assets: int) -> RiskParams:
    corr = 0.7
    rho = tuple(
        tuple(SCALE if a == b else round(corr * SCALE) for b in range(n_assets)) for a in range(n_assets)
    )
    return RiskParams(mm_factor=600_000, kappa=(SCALE,) * n_assets, rho=rho)


def random_accounts(market: Market, n: int, rng: np.random.Generator) -> list[Account]:
    """``n`` accounts, all k slots held: random instruments, sizes up to ~$2M notional each,
    equity log-uniform in [1e4, 1e8] (floats only to draw the random inputs)."""
    k = market.profile.slots
    ids = np.array(sorted(market.rows), dtype=np.int64)
    spot_of = np.array([market.assets[market.rows[int(i)].asset].spot for i in ids], dtype=np.float64) / SCALE
    picks = np.sort(np.argsort(rng.random((n, ids.size)), axis=1)[:, :k], axis=1)
    notional = np.exp(rng.uniform(np.log(100.0), np.log(2_000_000.0), (n, k)))
    sign = rng.choice([-1, 1], (n, k))
    q = np.maximum(np.rint(notional / spot_of[picks] * SCALE), 1).astype(np.int64) * sign
    marks = np.array([market.rows[int(i)].mark for i in ids], dtype=np.float64)
    value = (q.astype(np.float64) * marks[picks]).sum(axis=1) / SCALE  # position value x SCALE
    equity = np.exp(rng.uniform(np.log(1e4), np.log(1e8), n)) * SCALE
    cash = np.rint(equity - value).astype(np.int64)  # the account's equity is about `equity`
    out = []
    for i in range(n):
        slots = tuple(Slot(int(a), int(b)) for a, b in zip(ids[picks[i]], q[i], strict=True))
        out.append(Account(i, 0, 0, int(cash[i]), slots + (EMPTY_SLOT,) * (k - len(slots))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", type=int, default=200, help="accounts checked against compute_margin")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    profile = PROFILES["standard"]
    specs = instruments()
    t0 = time.perf_counter()
    market = build_market(profile, 1, QUOTES, specs, RowConfig(), AS_OF)
    t_market = time.perf_counter() - t0
    params = risk_params(profile.assets)
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    accounts = random_accounts(market, args.accounts, rng)
    t_generate = time.perf_counter() - t0

    t0, c0 = time.perf_counter(), time.process_time()
    batch = AccountBatch.from_accounts(accounts)
    t_batch, c_batch = time.perf_counter() - t0, time.process_time() - c0

    t0 = time.perf_counter()
    tables = MarketTables.from_market(market)
    t_tables = time.perf_counter() - t0

    t0, c0 = time.perf_counter(), time.process_time()
    result = compute_margins(market, params, batch, tables=tables)
    t_margin, c_margin = time.perf_counter() - t0, time.process_time() - c0

    t0 = time.perf_counter()
    sample = rng.choice(len(accounts), size=min(args.check, len(accounts)), replace=False)
    mismatches = sum(result.row(int(i)) != compute_margin(market, params, accounts[int(i)]) for i in sample)
    t_single = (time.perf_counter() - t0) / max(len(sample), 1)

    counts = np.bincount(result.status.astype(np.int64), minlength=4)
    figures = {
        "profile": profile.name,
        "accounts": args.accounts,
        "slots": profile.slots,
        "instruments": len(market.rows),
        "seed": args.seed,
        "build_market_s": round(t_market, 4),
        "generate_accounts_s": round(t_generate, 4),
        "account_batch_s": round(t_batch, 4),
        "account_batch_cpu_s": round(c_batch, 4),
        "market_tables_s": round(t_tables, 6),
        "compute_margins_s": round(t_margin, 4),
        "compute_margins_cpu_s": round(c_margin, 4),
        "compute_margins_accounts_per_s": round(args.accounts / t_margin),
        "batch_plus_margins_accounts_per_s": round(args.accounts / (t_batch + t_margin)),
        "compute_margin_single_s": round(t_single, 7),
        "checked_against_single": len(sample),
        "mismatches": int(mismatches),
        "status_counts": {Status(s).label: int(c) for s, c in enumerate(counts)},
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"market: {len(market.rows)} instruments, built in {t_market:.3f} s")
    print(f"AccountBatch.from_accounts: {args.accounts} accounts in {t_batch:.3f} s (cpu {c_batch:.3f} s)")
    print(
        f"compute_margins: {t_margin:.3f} s (cpu {c_margin:.3f} s) = {args.accounts / t_margin:,.0f} accounts/s"
    )
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    print(f"single compute_margin: {t_single * 1e6:.0f} us/account; {mismatches} mismatches in {len(sample)}")
    print(f"status: {figures['status_counts']}")
    print(f"wrote {args.out}")
    if mismatches:
        raise SystemExit("batch and single results differ")


if __name__ == "__main__":
    main()

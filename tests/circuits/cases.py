"""Margin cases (market, params, account) for circuit parity: random and edge.

* ``builder_market``: a realistic market from ``engine.market_builder`` (spot,
  perp, calls, puts on two assets);
* ``random_rows_market``: rows drawn directly within the section-1 bounds,
  optionally at the bounds themselves;
* ``edge_cases``: the empty account, full slots, every status including the
  equality boundaries E = 0, E = MM, E = IM, negative cash, zero worst loss,
  correlations 0, 1 and -1, the extreme section-1 bounds;
* ``hypothesis_cases``: examples of the shared strategies
  (``tests/engine/strategies.py``), drawn deterministically.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable

from hypothesis import HealthCheck, Phase, given, settings

from engine.fixedpoint import (
    CASH_LIMIT,
    DELTA_MAX,
    DEPTH_LIMIT,
    FIELD_P,
    ID_LIMIT,
    KAPPA_LIMIT,
    Q_LIMIT,
    SCALE,
    SPOT_LIMIT,
    VALUE_LIMIT,
    fdiv,
)
from engine.margin import compute_margin
from engine.market_builder import build_market
from engine.model import (
    EMPTY_SLOT,
    Account,
    AssetEntry,
    AssetQuote,
    InstrumentKind,
    InstrumentRow,
    InstrumentSpec,
    Market,
    RiskParams,
    RowConfig,
    Slot,
)
from engine.profiles import Profile
from tests.engine.strategies import margin_cases

Case = tuple[Market, RiskParams, Account]
AS_OF = dt.date(2026, 11, 21)


# ------------------------------------------------------------------ parameters


def rho_matrix(n: int, kind: str, rng: random.Random) -> tuple[tuple[int, ...], ...]:
    """Correlation: identity (0), ones (1), signs (+-1, rank one) or a constant c >= -1/(A-1)."""
    if kind == "identity":
        return tuple(tuple(SCALE if a == b else 0 for b in range(n)) for a in range(n))
    if kind == "ones":
        return tuple(tuple(SCALE for _ in range(n)) for _ in range(n))
    if kind == "signs":
        v = [rng.choice((-1, 1)) for _ in range(n)]
        return tuple(tuple(v[a] * v[b] * SCALE for b in range(n)) for a in range(n))
    low = -(SCALE // (n - 1)) if n > 1 else 0
    c = rng.randint(low, SCALE)
    return tuple(tuple(SCALE if a == b else c for b in range(n)) for a in range(n))


def random_params(profile: Profile, rng: random.Random, extreme: bool = False) -> RiskParams:
    n = profile.assets
    kind = rng.choice(("identity", "ones", "signs", "constant"))
    if extreme:
        mm = rng.choice((1, SCALE, rng.randint(1, SCALE)))
        kappa = tuple(rng.choice((0, KAPPA_LIMIT - 1, rng.randrange(KAPPA_LIMIT))) for _ in range(n))
    else:
        mm = rng.randint(SCALE // 2, SCALE)
        kappa = tuple(rng.randint(0, 5 * SCALE) for _ in range(n))
    return RiskParams(mm_factor=mm, kappa=kappa, rho=rho_matrix(n, kind, rng))


# ------------------------------------------------------------------ markets


def builder_market(profile: Profile, rng: random.Random, epoch: int = 1) -> Market:
    """A realistic market from the engine's market builder (two assets, mixed kinds)."""
    btc = AssetQuote("BTC", rng.uniform(10_000, 90_000), rng.uniform(0.3, 1.2), rng.uniform(1e5, 1e9))
    eth = AssetQuote("ETH", rng.uniform(500, 5_000), rng.uniform(0.3, 1.5), rng.uniform(1e4, 1e8))
    quotes = [btc, eth][: profile.assets]
    cap = profile.capacity
    specs: list[InstrumentSpec] = []
    ids = rng.sample(range(cap), min(cap, 10))
    for n, iid in enumerate(ids):
        q = quotes[n % len(quotes)]
        kinds: tuple[InstrumentKind, ...] = ("spot", "perp", "call", "put")
        kind = rng.choice(kinds)
        if kind in ("call", "put"):
            expiry = AS_OF + dt.timedelta(days=rng.choice((-2, 1, 7, 30, 90, 365)))
            strike = q.spot * rng.uniform(0.6, 1.4)
            specs.append(
                InstrumentSpec(iid, f"{q.name}-{kind}-{iid}", q.name, kind, strike=strike, expiry=expiry)
            )
        else:
            specs.append(InstrumentSpec(iid, f"{q.name}-{kind}-{iid}", q.name, kind))
    return build_market(profile, epoch, quotes, specs, RowConfig(), AS_OF)


def _signed(rng: random.Random, limit: int, extreme: bool) -> int:
    if extreme and rng.random() < 0.5:
        return rng.choice((-(limit - 1), limit - 1))
    return rng.randrange(-limit + 1, limit) if extreme else rng.randrange(-(limit >> 20), limit >> 20)


def random_row(iid: int, asset: int, rng: random.Random, extreme: bool) -> InstrumentRow:
    """A row anywhere inside the section-1 bounds (at them when ``extreme``)."""
    delta = rng.choice((-DELTA_MAX, DELTA_MAX, rng.randint(-DELTA_MAX, DELTA_MAX)))
    cap = VALUE_LIMIT if extreme else VALUE_LIMIT >> 20
    return InstrumentRow(
        instrument_id=iid,
        asset=asset,
        mark=_signed(rng, VALUE_LIMIT, extreme),
        delta=delta,
        ra=tuple(_signed(rng, VALUE_LIMIT, extreme) for _ in range(16)),
        c_long=rng.choice((0, cap - 1, rng.randrange(cap))),
        c_short=rng.choice((0, cap - 1, rng.randrange(cap))),
    )


def random_rows_market(profile: Profile, rng: random.Random, extreme: bool, n_rows: int = 8) -> Market:
    """Rows drawn directly; some asset slots may be unused (S = 0, D = 1)."""
    n_active = rng.randint(1, profile.assets)
    active = sorted(rng.sample(range(profile.assets), n_active))
    assets = []
    for a in range(profile.assets):
        if a not in active:
            assets.append(AssetEntry(0, 1))
        elif extreme:
            assets.append(
                AssetEntry(
                    rng.choice((1, SPOT_LIMIT - 1, rng.randrange(1, SPOT_LIMIT))),
                    rng.choice((1, DEPTH_LIMIT - 1, rng.randrange(1, DEPTH_LIMIT))),
                )
            )
        else:
            assets.append(AssetEntry(rng.randrange(SCALE, 10**5 * SCALE), rng.randrange(10**6, 10**15)))
    ids = rng.sample(range(profile.capacity), min(profile.capacity, n_rows))
    rows = {iid: random_row(iid, rng.choice(active), rng, extreme) for iid in ids}
    return Market(profile=profile, epoch=rng.randrange(ID_LIMIT), assets=tuple(assets), rows=rows)


# ------------------------------------------------------------------ accounts


def account_for(
    market: Market, rng: random.Random, n_pos: int | None = None, extreme: bool = False
) -> Account:
    k = market.profile.slots
    ids = sorted(market.rows)
    n = rng.randint(0, min(k, len(ids))) if n_pos is None else min(n_pos, k, len(ids))
    chosen = sorted(rng.sample(ids, n))
    if extreme:
        qs = [
            rng.choice((-(Q_LIMIT - 1), Q_LIMIT - 1, rng.randrange(-(Q_LIMIT - 1), Q_LIMIT))) or 1
            for _ in chosen
        ]
        cash = rng.choice((-(CASH_LIMIT - 1), CASH_LIMIT - 1, rng.randrange(-(CASH_LIMIT - 1), CASH_LIMIT)))
    else:
        qs = [rng.choice((-1, 1)) * rng.randrange(10**3, 10**9) for _ in chosen]
        cash = rng.randrange(-(10**12), 10**13)
    slots = tuple(Slot(i, q) for i, q in zip(chosen, qs, strict=True)) + (EMPTY_SLOT,) * (k - n)
    return Account(
        account_id=rng.randrange(ID_LIMIT),
        nonce=rng.randrange(ID_LIMIT),
        salt=rng.randrange(FIELD_P),
        cash=cash,
        slots=slots,
    )


def with_equity(
    market: Market, params: RiskParams, account: Account, target: Callable[[int, int], int]
) -> Account:
    """The account with cash set so that E = target(IM, MM) (when cash stays within bounds)."""
    base = compute_margin(market, params, dataclasses.replace(account, cash=0))
    value = fdiv(base.value_sum, SCALE)
    cash = target(base.IM, base.MM) - value
    if not -CASH_LIMIT < cash < CASH_LIMIT:
        return account
    return dataclasses.replace(account, cash=cash)


STATUS_TARGETS: tuple[Callable[[int, int], int], ...] = (
    lambda im, mm: -1,  # insolvent
    lambda im, mm: 0,  # solvent at zero equity
    lambda im, mm: mm - 1,  # liquidatable
    lambda im, mm: mm,  # boundary: not liquidatable
    lambda im, mm: im - 1,  # restricted
    lambda im, mm: im,  # boundary: healthy
    lambda im, mm: 2 * im + 5,  # healthy
)


def edge_cases(profile: Profile, seed: int = 0) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    # realistic markets, every status including the boundaries
    for _ in range(8):
        market = builder_market(profile, rng)
        params = random_params(profile, rng)
        acc = account_for(market, rng, n_pos=rng.randint(1, profile.slots))
        cases.extend((market, params, with_equity(market, params, acc, t)) for t in STATUS_TARGETS)
    # empty account, negative cash and zero cash
    market = builder_market(profile, rng)
    params = random_params(profile, rng)
    empty = account_for(market, rng, n_pos=0)
    for cash in (0, -1, 1, -(CASH_LIMIT - 1), CASH_LIMIT - 1):
        cases.append((market, params, dataclasses.replace(empty, cash=cash)))
    # full slots
    for extreme in (False, True):
        for _ in range(6):
            m = random_rows_market(profile, rng, extreme, n_rows=profile.slots + 3)
            p = random_params(profile, rng, extreme)
            cases.append((m, p, account_for(m, rng, n_pos=profile.slots, extreme=extreme)))
    # every bound at once: |q| = |RA| = |M| = 2^48 - 1 on every slot, D, kappa, cash at their limits
    for sign_q in (1, -1):
        for sign_ra in (1, -1):
            rows = {
                iid: InstrumentRow(
                    iid,
                    iid % profile.assets,
                    sign_ra * (VALUE_LIMIT - 1),
                    DELTA_MAX * sign_ra,
                    (sign_ra * (VALUE_LIMIT - 1),) * 8 + (-sign_ra * (VALUE_LIMIT - 1),) * 8,
                    VALUE_LIMIT - 1,
                    VALUE_LIMIT - 1,
                )
                for iid in range(profile.slots)
            }
            assets = tuple(
                AssetEntry(SPOT_LIMIT - 1, rng.choice((1, DEPTH_LIMIT - 1))) for _ in range(profile.assets)
            )
            m = Market(profile, ID_LIMIT - 1, assets, rows)
            p = RiskParams(
                SCALE, (KAPPA_LIMIT - 1,) * profile.assets, rho_matrix(profile.assets, "ones", rng)
            )
            slots = tuple(Slot(i, sign_q * (Q_LIMIT - 1)) for i in range(profile.slots))
            acc = Account(ID_LIMIT - 1, ID_LIMIT - 1, FIELD_P - 1, -sign_q * (CASH_LIMIT - 1), slots)
            cases.append((m, p, acc))
    # zero worst loss: every scenario P&L non-negative for the held side
    rows = {
        iid: InstrumentRow(iid, 0, SCALE, SCALE, tuple(rng.randrange(0, 10**9) for _ in range(16)), 0, 0)
        for iid in range(4)
    }
    m = Market(
        profile, 3, (AssetEntry(100 * SCALE, 10**12),) + (AssetEntry(0, 1),) * (profile.assets - 1), rows
    )
    for kind in ("identity", "ones"):
        p = RiskParams(SCALE, (SCALE,) * profile.assets, rho_matrix(profile.assets, kind, rng))
        acc = account_for(m, rng, n_pos=3)
        acc = dataclasses.replace(acc, slots=tuple(Slot(s.instrument_id, abs(s.q)) for s in acc.slots))
        cases.append((m, p, acc))
    # correlations 0, 1, -1 on two-asset books with losses on both assets
    for kind in ("identity", "ones", "signs", "constant"):
        m = random_rows_market(profile, rng, extreme=False, n_rows=profile.slots + 2)
        p = dataclasses.replace(random_params(profile, rng), rho=rho_matrix(profile.assets, kind, rng))
        cases.append((m, p, account_for(m, rng, n_pos=profile.slots)))
    cases.extend(directional_cases(profile, rng))
    return cases


def _directional_row(iid: int, asset: int, up: int, down: int, extreme: int = 0) -> InstrumentRow:
    """A row whose +1 scan moves gain ``up`` and -1 moves gain ``down`` (both vol shocks),
    with ``extreme`` lost in scenario 14 and 0 elsewhere."""
    ra = [0] * 16
    ra[10] = ra[11] = up
    ra[12] = ra[13] = down
    ra[14] = -extreme
    return InstrumentRow(iid, asset, SCALE, SCALE, tuple(ra), 0, 0)


def directional_cases(profile: Profile, rng: random.Random) -> list[Case]:
    """ZKPM-2's split at its edges: hedges and doubled bets under rho 1, 0.8, 0, -1; the
    direction clamped above (Dir > W) and below (Dir < -W), exactly at +-W, with zero
    direction (a straddle), and |D| at its bound (every slot at |q| = |RA| = 2^48 - 1)."""
    n = profile.assets
    second = 1 % n
    cases: list[Case] = []
    assets = tuple(AssetEntry(100 * SCALE, 10**12) for _ in range(n))
    rows = {
        1: _directional_row(1, 0, 30 * SCALE, -30 * SCALE, 35 * SCALE),
        2: _directional_row(2, second, 20 * SCALE, -20 * SCALE),
        3: _directional_row(3, 0, 8 * SCALE, -2 * SCALE),  # a call: Dir 5 > W 2 when long
        4: _directional_row(4, 0, -4 * SCALE, -4 * SCALE, 9 * SCALE),  # a short straddle: Dir 0
        5: _directional_row(5, 0, 7 * SCALE, -7 * SCALE),  # Dir = W exactly
        6: _directional_row(6, 0, -2 * SCALE, 8 * SCALE),  # a put: Dir -5 < -W = -2 when long
    }
    m = Market(profile, 5, assets, rows)
    for corr in (SCALE, 800_000, 0, -SCALE):
        rho = tuple(
            tuple(SCALE if a == b else (corr if {a, b} == {0, second} else 0) for b in range(n))
            for a in range(n)
        )
        p = RiskParams(SCALE // 2, (SCALE,) * n, rho)
        for q1, q2 in ((SCALE, -SCALE), (SCALE, SCALE), (-3 * SCALE, 2 * SCALE)):
            slots = [Slot(1, q1), Slot(2, q2)]
            cases.append((m, p, Account(1, 2, 3, 10**9, tuple(slots) + (EMPTY_SLOT,) * (profile.slots - 2))))
    p = RiskParams(SCALE // 2, (SCALE,) * n, rho_matrix(n, "identity", rng))
    for held in (
        {3: SCALE},
        {3: -SCALE},
        {4: SCALE},
        {4: -SCALE},
        {5: SCALE},
        {5: -SCALE},
        {3: SCALE, 4: SCALE},
    ):
        slots = tuple(Slot(i, q) for i, q in sorted(held.items()))
        cases.append((m, p, Account(4, 5, 6, 0, slots + (EMPTY_SLOT,) * (profile.slots - len(slots)))))
    big = VALUE_LIMIT - 1
    for sign in (1, -1):
        rows_big = {iid: _directional_row(iid, 0, sign * big, -sign * big) for iid in range(profile.slots)}
        m_big = Market(profile, 6, assets, rows_big)
        slots = tuple(Slot(i, Q_LIMIT - 1) for i in range(profile.slots))
        cases.append((m_big, p, Account(7, 8, 9, 0, slots)))
    return cases


def random_cases(profile: Profile, n: int, seed: int = 1) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    while len(cases) < n:
        choice = rng.random()
        if choice < 0.4:
            market = builder_market(profile, rng, epoch=rng.randrange(2**32))
            params = random_params(profile, rng)
            extreme = False
        else:
            extreme = choice > 0.7
            market = random_rows_market(profile, rng, extreme, n_rows=rng.randint(1, profile.slots + 4))
            params = random_params(profile, rng, extreme)
        for _ in range(3):
            acc = account_for(market, rng, extreme=extreme)
            if rng.random() < 0.3:
                acc = with_equity(market, params, acc, rng.choice(STATUS_TARGETS))
            cases.append((market, params, acc))
    return cases[:n]


def hypothesis_cases(profile: Profile, n: int) -> list[Case]:
    """``n`` examples of the shared strategies, drawn deterministically."""
    out: list[Case] = []

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(margin_cases(profile))
    def collect(case: Case) -> None:
        out.append(case)

    collect()
    return out

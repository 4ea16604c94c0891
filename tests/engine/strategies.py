"""Hypothesis strategies for ZKPM-1 inputs: markets, risk parameters and accounts.

Shared by the engine tests and the circuit parity tests. Every strategy takes a
``mode``:

* ``"extreme"``: anywhere inside the section-1 bounds, with the bounds themselves
  (``|q| = 2**48 - 1``, ``|RA| = 2**48 - 1``, ``|cash| = 2**80 - 1``,
  ``D = 2**64 - 1``, ``kappa = 2**32 - 1``, ``rho = -SCALE`` ...) drawn often;
* ``"realistic"``: magnitudes of a real book (spots 0.01 .. 100,000, sizes
  0.001 .. 1,000 units, option-shaped scenario P&L, depths in the millions);
* ``"any"``: either of the two.

Everything generated is valid input: it passes the checks of section 1 and the
canonical slot form of section 2. ``margin_cases()`` draws a whole
``(market, params, account)`` triple; ``batch_cases()`` a market with many accounts.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from hypothesis import strategies as st

from engine.fixedpoint import (
    CASH_LIMIT,
    DELTA_MAX,
    DEPTH_LIMIT,
    FIELD_P,
    ID_LIMIT,
    KAPPA_LIMIT,
    N_SCENARIOS,
    Q_LIMIT,
    SCALE,
    SPOT_LIMIT,
    VALUE_LIMIT,
)
from engine.model import EMPTY_SLOT, Account, AssetEntry, InstrumentRow, Market, RiskParams, Slot
from engine.profiles import PROFILES, Profile

Mode = Literal["extreme", "realistic", "any"]
Matrix = tuple[tuple[int, ...], ...]

#: Spot moves of the 16 scenarios as multiples of the scan range (spec section 4).
_MOVES = (0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1, 3, -3)
_EXT_WEIGHT = (1.0,) * 14 + (0.35, 0.35)


def profiles() -> st.SearchStrategy[Profile]:
    return st.sampled_from(list(PROFILES.values()))


def _pick_mode(mode: Mode) -> st.SearchStrategy[str]:
    return st.sampled_from(["extreme", "realistic"]) if mode == "any" else st.just(mode)


def signed_below(limit: int) -> st.SearchStrategy[int]:
    """|x| < limit, with the extremes and small values drawn often."""
    edges = [-(limit - 1), limit - 1, -(limit // 2), limit // 2, -1, 0, 1]
    return st.one_of(st.sampled_from(edges), st.integers(-(limit - 1), limit - 1))


def unsigned_below(limit: int, low: int = 0) -> st.SearchStrategy[int]:
    """low <= x < limit, with the extremes drawn often."""
    return st.one_of(st.sampled_from([low, low + 1, limit - 1]), st.integers(low, limit - 1))


def nonzero(s: st.SearchStrategy[int]) -> st.SearchStrategy[int]:
    return s.filter(lambda x: x != 0)


# ------------------------------------------------------------------- correlation


def is_psd(rho: Matrix, tol: float = 1e-9) -> bool:
    """The section-1 check: positive semi-definite in floating point, tolerance 1e-9."""
    m = np.array(rho, dtype=np.float64) / SCALE
    return bool(np.linalg.eigvalsh(m).min() >= -tol)


def _from_floats(m: np.ndarray) -> Matrix:
    n = m.shape[0]
    return tuple(
        tuple(SCALE if a == b else round(float(m[min(a, b), max(a, b)]) * SCALE) for b in range(n))
        for a in range(n)
    )


@st.composite
def correlations(draw: st.DrawFn, n_assets: int, mode: Mode = "any") -> Matrix:
    """A valid A x A correlation matrix (x SCALE): symmetric, unit diagonal, PSD."""
    kind = draw(st.sampled_from(["identity", "ones", "signs", "constant", "gram"]))
    if kind == "identity":
        return tuple(tuple(SCALE if a == b else 0 for b in range(n_assets)) for a in range(n_assets))
    if kind == "ones":
        return tuple(tuple(SCALE for _ in range(n_assets)) for _ in range(n_assets))
    if kind == "signs":  # rank one v v^T with v in {-1, +1}^A: entries +-SCALE
        v = draw(st.lists(st.sampled_from([-1, 1]), min_size=n_assets, max_size=n_assets))
        return tuple(tuple(v[a] * v[b] * SCALE for b in range(n_assets)) for a in range(n_assets))
    if kind == "constant":  # (1 - c) I + c J is PSD iff c >= -1 / (A - 1)
        low = -(SCALE // (n_assets - 1)) if n_assets > 1 else 0
        c = draw(st.one_of(st.sampled_from([low, SCALE, 0]), st.integers(low, SCALE)))
        return tuple(tuple(SCALE if a == b else c for b in range(n_assets)) for a in range(n_assets))
    # Gram matrix of random unit vectors, shrunk a little towards I so rounding keeps it PSD
    seed = draw(st.integers(0, 2**32 - 1))
    vecs = np.random.default_rng(seed).normal(size=(n_assets, n_assets))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    gram = 0.999 * (vecs @ vecs.T) + 0.001 * np.eye(n_assets)
    rho = _from_floats(gram)
    assert is_psd(rho)
    return rho


@st.composite
def risk_params(draw: st.DrawFn, profile: Profile, mode: Mode = "any") -> RiskParams:
    m = draw(_pick_mode(mode))
    n = profile.assets
    if m == "extreme":
        mm = draw(unsigned_below(SCALE + 1, low=1))
        kappa = draw(st.lists(unsigned_below(KAPPA_LIMIT), min_size=n, max_size=n))
    else:
        mm = draw(st.integers(SCALE // 2, SCALE))
        kappa = draw(st.lists(st.integers(0, 5 * SCALE), min_size=n, max_size=n))
    return RiskParams(mm_factor=mm, kappa=tuple(kappa), rho=draw(correlations(n, m)))  # type: ignore[arg-type]


# ------------------------------------------------------------------------ market


@st.composite
def _extreme_row(draw: st.DrawFn, iid: int, asset: int) -> InstrumentRow:
    ra = draw(st.lists(signed_below(VALUE_LIMIT), min_size=N_SCENARIOS, max_size=N_SCENARIOS))
    return InstrumentRow(
        instrument_id=iid,
        asset=asset,
        mark=draw(signed_below(VALUE_LIMIT)),
        delta=draw(st.one_of(st.sampled_from([-DELTA_MAX, DELTA_MAX]), st.integers(-DELTA_MAX, DELTA_MAX))),
        ra=tuple(ra),
        c_long=draw(unsigned_below(VALUE_LIMIT)),
        c_short=draw(unsigned_below(VALUE_LIMIT)),
    )


@st.composite
def _realistic_row(draw: st.DrawFn, iid: int, asset: int, spot: int) -> InstrumentRow:
    """A linear instrument or an option-shaped one, in the magnitudes section 4 produces."""
    s = spot / SCALE
    m = draw(st.floats(0.05, 0.5))
    kind = draw(st.sampled_from(["spot", "perp", "call", "put"]))
    if kind in ("spot", "perp"):
        delta, gamma, vega, mark = 1.0, 0.0, 0.0, s * draw(st.floats(0.99, 1.01))
        c = 0.01 if kind == "perp" else draw(st.floats(0.02, 0.10))
        c_long, c_short = c * s, c * s
    else:
        d = draw(st.floats(0.01, 0.99))
        delta = d if kind == "call" else d - 1.0
        gamma = draw(st.floats(0.0, 3.0)) / s
        vega = draw(st.floats(0.0, 0.2)) * s
        mark = s * draw(st.floats(0.0001, 0.3))
        c_long, c_short = 0.0, 0.01 * s
    ra = []
    for idx, (mv, w) in enumerate(zip(_MOVES, _EXT_WEIGHT, strict=True)):
        ds = mv * m * s
        dv = vega * (0.45 if idx % 2 == 0 else -0.25) if idx < 14 else 0.0
        pnl = max(delta * ds + 0.5 * gamma * ds * ds + dv, -mark)
        ra.append(round(w * pnl * SCALE))
    return InstrumentRow(
        instrument_id=iid,
        asset=asset,
        mark=round(mark * SCALE),
        delta=round(delta * SCALE),
        ra=tuple(ra),
        c_long=round(c_long * SCALE),
        c_short=round(c_short * SCALE),
    )


@st.composite
def markets(draw: st.DrawFn, profile: Profile, mode: Mode = "any", max_rows: int = 24) -> Market:
    """A market for ``profile``: some active assets (the rest unused: S = 0, D = 1) and rows on them."""
    m = draw(_pick_mode(mode))
    n_active = draw(st.integers(1, profile.assets))
    active = sorted(draw(st.permutations(range(profile.assets)))[:n_active])
    assets = []
    for a in range(profile.assets):
        if a not in active:
            assets.append(AssetEntry(spot=0, depth=1))
        elif m == "extreme":
            assets.append(
                AssetEntry(
                    spot=draw(unsigned_below(SPOT_LIMIT, 1)), depth=draw(unsigned_below(DEPTH_LIMIT, 1))
                )
            )
        else:
            spot = draw(st.sampled_from([10**-2, 1, 150, 3_000, 60_000, 100_000]))
            spot = round(spot * SCALE * draw(st.floats(0.5, 2.0)))
            depth = draw(st.integers(10**5, 10**9)) * SCALE
            assets.append(AssetEntry(spot=spot, depth=depth))
    cap = profile.capacity
    ids = draw(
        st.lists(
            st.one_of(st.sampled_from([0, 1, cap - 1]), st.integers(0, cap - 1)),
            min_size=1,
            max_size=min(cap, max_rows),
            unique=True,
        )
    )
    rows = {}
    for iid in ids:
        a = draw(st.sampled_from(active))
        if m == "extreme":
            rows[iid] = draw(_extreme_row(iid, a))
        else:
            rows[iid] = draw(_realistic_row(iid, a, assets[a].spot))
    return Market(profile=profile, epoch=draw(st.integers(0, 2**32)), assets=tuple(assets), rows=rows)


# ---------------------------------------------------------------------- accounts


def canonical_slots(positions: dict[int, int], k: int) -> tuple[Slot, ...]:
    """Slots in canonical form: non-zero positions by increasing id, then empty slots."""
    held = [Slot(i, q) for i, q in sorted(positions.items()) if q != 0]
    assert len(held) <= k
    return tuple(held) + (EMPTY_SLOT,) * (k - len(held))


@st.composite
def accounts(draw: st.DrawFn, market: Market, mode: Mode = "any", min_positions: int = 0) -> Account:
    """A canonical account holding up to k distinct instruments of ``market``."""
    m = draw(_pick_mode(mode))
    k = market.profile.slots
    ids = sorted(market.rows)
    n_pos = draw(st.integers(min(min_positions, k, len(ids)), min(k, len(ids))))
    chosen = draw(st.permutations(ids))[:n_pos]
    if m == "extreme":
        qs = st.one_of(st.sampled_from([-(Q_LIMIT - 1), Q_LIMIT - 1]), nonzero(signed_below(Q_LIMIT)))
        cash = draw(signed_below(CASH_LIMIT))
    else:
        qs = st.integers(10**3, 10**9).flatmap(lambda x: st.sampled_from([x, -x]))
        cash = draw(st.integers(-(10**15), 10**15))
    positions = {iid: draw(qs) for iid in chosen}
    return Account(
        account_id=draw(st.integers(0, ID_LIMIT - 1)),
        nonce=draw(st.integers(0, ID_LIMIT - 1)),
        salt=draw(st.integers(0, FIELD_P - 1)),
        cash=cash,
        slots=canonical_slots(positions, k),
    )


@st.composite
def margin_cases(
    draw: st.DrawFn, profile: Profile | None = None, mode: Mode = "any"
) -> tuple[Market, RiskParams, Account]:
    """A whole valid input: ``(market, params, account)``."""
    prof = profile if profile is not None else draw(profiles())
    market = draw(markets(prof, mode))
    return market, draw(risk_params(prof, mode)), draw(accounts(market, mode))


@st.composite
def batch_cases(
    draw: st.DrawFn, profile: Profile | None = None, mode: Mode = "any", max_accounts: int = 12
) -> tuple[Market, RiskParams, list[Account]]:
    """A market, parameters and several accounts (each drawn in ``mode``)."""
    prof = profile if profile is not None else draw(profiles())
    market = draw(markets(prof, mode))
    params = draw(risk_params(prof, mode))
    accs = draw(st.lists(accounts(market, mode), min_size=1, max_size=max_accounts))
    return market, params, accs


# ------------------------------------------------- builders for hand-written cases


def make_row(
    iid: int,
    asset: int,
    *,
    mark: int = 0,
    delta: int = 0,
    ra: dict[int, int] | tuple[int, ...] | None = None,
    c_long: int = 0,
    c_short: int = 0,
) -> InstrumentRow:
    """A row; ``ra`` as a full 16-tuple or as ``{scenario: value}`` (others 0)."""
    if ra is None or isinstance(ra, dict):
        given = ra or {}
        ra = tuple(given.get(s, 0) for s in range(N_SCENARIOS))
    return InstrumentRow(iid, asset, mark, delta, tuple(ra), c_long, c_short)


def make_market(profile: Profile, assets: list[tuple[int, int]], rows: list[InstrumentRow]) -> Market:
    """``assets`` as ``(spot, depth)`` for the first assets; the rest unused (0, 1)."""
    table = [AssetEntry(s, d) for s, d in assets] + [AssetEntry(0, 1)] * (profile.assets - len(assets))
    return Market(profile=profile, epoch=1, assets=tuple(table), rows={r.instrument_id: r for r in rows})


def make_account(profile: Profile, positions: dict[int, int], cash: int = 0) -> Account:
    return Account(account_id=7, nonce=0, salt=0, cash=cash, slots=canonical_slots(positions, profile.slots))


def identity_rho(n: int) -> Matrix:
    return tuple(tuple(SCALE if a == b else 0 for b in range(n)) for a in range(n))


def ones_rho(n: int) -> Matrix:
    return tuple(tuple(SCALE for _ in range(n)) for _ in range(n))


def make_params(
    profile: Profile, mm_factor: int = SCALE, kappa: tuple[int, ...] | None = None, rho: Matrix | None = None
) -> RiskParams:
    """Defaults: mm_factor 1, kappa 0, rho the identity."""
    n = profile.assets
    return RiskParams(
        mm_factor=mm_factor,
        kappa=kappa if kappa is not None else (0,) * n,
        rho=rho if rho is not None else identity_rho(n),
    )

"""Input validation for ZKPM-2 (spec sections 1 and 2).

Every check raises :class:`engine.errors.InputError` naming the offending field by
its path (``account.slots[2].q``, ``params.rho[0][1]``) and stating the bound in
words (``|q| must be < 2**48``). Nothing here computes margin; these functions only
say whether the integers the circuit will see are admissible.

* :func:`validate_params` - risk parameters against a profile;
* :func:`validate_market` - asset table and instrument rows;
* :func:`validate_account` - an account (bounds and canonical slot form);
* :func:`canonicalize_positions` - a user's position list to ``k`` canonical slots;
* :func:`validate_quotes` - oracle quotes and listed instruments (float side).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

import numpy as np

from engine.errors import InputError
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
    check_int,
)
from engine.model import (
    EMPTY_SLOT,
    Account,
    AssetQuote,
    InstrumentRow,
    InstrumentSpec,
    Market,
    RiskParams,
    RowConfig,
    Slot,
)
from engine.profiles import Profile

#: Tolerance of the floating-point positive semi-definiteness check (spec section 1).
PSD_TOLERANCE = 1e-9
#: Largest accepted implied volatility (1000 %): catches "60" written for 60 %.
MAX_VOL = 10.0
OPTION_KINDS = ("call", "put")
INSTRUMENT_KINDS = ("spot", "perp", "call", "put")


def _abs_below(field: str, value: object, limit: int, name: str, limit_text: str) -> int:
    v = check_int(field, value)
    if not -limit < v < limit:
        raise InputError(field, f"|{name}| must be < {limit_text}, got {v}")
    return v


def _in_range(field: str, value: object, lo: int, hi_excl: int, text: str) -> int:
    v = check_int(field, value)
    if not lo <= v < hi_excl:
        raise InputError(field, f"must satisfy {text}, got {v}")
    return v


# ------------------------------------------------------------------- params


def validate_params(params: RiskParams, profile: Profile) -> None:
    """mm_factor, kappa and rho against the bounds of spec section 1."""
    mm = check_int("params.mm_factor", params.mm_factor)
    if not 0 < mm <= SCALE:
        raise InputError("params.mm_factor", f"must satisfy 0 < mm_factor <= 10**6 (SCALE), got {mm}")
    n = profile.assets
    if len(params.kappa) != n:
        raise InputError(
            "params.kappa", f"must have A = {n} entries (profile {profile.name}), got {len(params.kappa)}"
        )
    for a, kappa in enumerate(params.kappa):
        _in_range(f"params.kappa[{a}]", kappa, 0, KAPPA_LIMIT, "0 <= kappa < 2**32")
    validate_rho(params.rho, n)


def validate_rho(rho: Sequence[Sequence[int]], n: int, field: str = "params.rho") -> None:
    """An n x n correlation matrix x SCALE: unit diagonal, symmetric, |rho| <= SCALE, PSD."""
    if len(rho) != n:
        raise InputError(field, f"must be {n} x {n} (A = {n}), got {len(rho)} rows")
    for a, row in enumerate(rho):
        if len(row) != n:
            raise InputError(f"{field}[{a}]", f"must have {n} entries (A = {n}), got {len(row)}")
        for b, value in enumerate(row):
            v = check_int(f"{field}[{a}][{b}]", value)
            if abs(v) > SCALE:
                raise InputError(f"{field}[{a}][{b}]", f"|rho| must be <= 10**6 (SCALE), got {v}")
    for a in range(n):
        if rho[a][a] != SCALE:
            raise InputError(f"{field}[{a}][{a}]", f"diagonal must equal 10**6 (SCALE), got {rho[a][a]}")
        for b in range(a + 1, n):
            if rho[a][b] != rho[b][a]:
                raise InputError(
                    f"{field}[{a}][{b}]",
                    f"must equal {field}[{b}][{a}] (symmetric), got {rho[a][b]} != {rho[b][a]}",
                )
    matrix = np.array(rho, dtype=np.float64) / SCALE
    lowest = float(np.linalg.eigvalsh(matrix).min()) if n else 0.0
    if lowest < -PSD_TOLERANCE:
        raise InputError(
            field,
            f"must be positive semi-definite (smallest eigenvalue >= -1e-9), smallest eigenvalue is {lowest:.3g}",
        )


# ------------------------------------------------------------------- market


def validate_market(market: Market) -> None:
    """Asset table and instrument rows of a market against spec sections 1 and 2."""
    profile = market.profile
    _in_range("market.epoch", market.epoch, 0, ID_LIMIT, "0 <= epoch < 2**64")
    if len(market.assets) != profile.assets:
        raise InputError(
            "market.assets",
            f"must have A = {profile.assets} entries (profile {profile.name}), got {len(market.assets)}",
        )
    used: set[int] = set()
    for a, entry in enumerate(market.assets):
        spot = check_int(f"market.assets[{a}].spot", entry.spot)
        depth = check_int(f"market.assets[{a}].depth", entry.depth)
        if spot == 0:
            if depth != 1:
                raise InputError(
                    f"market.assets[{a}].depth",
                    f"an unused asset slot (spot 0) must have depth 1, got {depth}",
                )
            continue
        if not 0 < spot < SPOT_LIMIT:
            raise InputError(f"market.assets[{a}].spot", f"must satisfy 0 < S < 2**48, got {spot}")
        if not 0 < depth < DEPTH_LIMIT:
            raise InputError(f"market.assets[{a}].depth", f"must satisfy 0 < D < 2**64, got {depth}")
        used.add(a)
    for key, row in market.rows.items():
        _validate_row(key, row, profile, used)


def _validate_row(key: int, row: object, profile: Profile, used: set[int]) -> None:
    if not isinstance(row, InstrumentRow):
        raise InputError(f"market.rows[id={key}]", "must be an InstrumentRow")
    base = f"market.rows[id={key}]"
    iid = _in_range(
        f"{base}.instrument_id", row.instrument_id, 0, profile.capacity, f"0 <= id < 4**{profile.depth}"
    )
    if iid != key:
        raise InputError(f"{base}.instrument_id", f"must equal the row's key {key}, got {iid}")
    asset = _in_range(f"{base}.asset", row.asset, 0, profile.assets, f"0 <= asset < A = {profile.assets}")
    if asset not in used:
        raise InputError(
            f"{base}.asset", f"asset slot {asset} is unused (spot 0) and can have no instruments"
        )
    _abs_below(f"{base}.mark", row.mark, VALUE_LIMIT, "M", "2**48")
    delta = check_int(f"{base}.delta", row.delta)
    if abs(delta) > DELTA_MAX:
        raise InputError(f"{base}.delta", f"|delta| must be <= 16 * 10**6 (16 * SCALE), got {delta}")
    if len(row.ra) != N_SCENARIOS:
        raise InputError(f"{base}.ra", f"must have {N_SCENARIOS} scenario values, got {len(row.ra)}")
    for s, value in enumerate(row.ra):
        _abs_below(f"{base}.ra[{s}]", value, VALUE_LIMIT, "RA[s]", "2**48")
    _in_range(f"{base}.c_long", row.c_long, 0, VALUE_LIMIT, "0 <= c_long < 2**48")
    _in_range(f"{base}.c_short", row.c_short, 0, VALUE_LIMIT, "0 <= c_short < 2**48")


# ------------------------------------------------------------------ account


def validate_account(account: Account, market_or_profile: Market | Profile, field: str = "account") -> None:
    """Bounds and canonical slot form of an account (spec section 2).

    With a :class:`Market`, every non-empty slot's instrument must also be listed.
    """
    market = market_or_profile if isinstance(market_or_profile, Market) else None
    profile = market.profile if market is not None else market_or_profile
    assert isinstance(profile, Profile)
    _in_range(f"{field}.account_id", account.account_id, 0, ID_LIMIT, "0 <= account_id < 2**64")
    _in_range(f"{field}.nonce", account.nonce, 0, ID_LIMIT, "0 <= nonce < 2**64")
    _in_range(f"{field}.salt", account.salt, 0, FIELD_P, "0 <= salt < p (the BN254 scalar field)")
    _abs_below(f"{field}.cash", account.cash, CASH_LIMIT, "cash", "2**80")
    k = profile.slots
    if len(account.slots) != k:
        raise InputError(
            f"{field}.slots",
            f"must have exactly k = {k} slots (profile {profile.name}), got {len(account.slots)}",
        )
    previous: int | None = None
    seen_empty = False
    for j, slot in enumerate(account.slots):
        base = f"{field}.slots[{j}]"
        iid = _in_range(
            f"{base}.instrument_id", slot.instrument_id, 0, profile.capacity, f"0 <= id < 4**{profile.depth}"
        )
        q = _abs_below(f"{base}.q", slot.q, Q_LIMIT, "q", "2**48")
        if q == 0:
            if iid != 0:
                raise InputError(
                    f"{base}.instrument_id", f"an empty slot (q = 0) must have instrument id 0, got {iid}"
                )
            seen_empty = True
            continue
        if seen_empty:
            raise InputError(
                f"{base}.q", "non-empty slots must come before every empty slot (canonical form)"
            )
        if previous is not None and iid <= previous:
            raise InputError(
                f"{base}.instrument_id",
                f"ids must be strictly increasing (canonical form), got {iid} after {previous}",
            )
        previous = iid
        if market is not None and iid not in market.rows:
            raise InputError(f"{base}.instrument_id", f"unknown instrument {iid}: not listed in the market")


def canonicalize_positions(
    positions: Iterable[Slot | tuple[int, int]], k: int, field: str = "account.positions"
) -> tuple[Slot, ...]:
    """A user's positions as ``k`` canonical slots.

    Positions are sorted by instrument id; zero-size positions are dropped; a
    repeated instrument id is an error; the result is padded with ``EMPTY_SLOT``.
    Error paths index the user's list (``account.positions[3].instrument_id``).
    """
    first_index: dict[int, int] = {}
    kept: list[Slot] = []
    for i, pos in enumerate(positions):
        iid, q = (pos.instrument_id, pos.q) if isinstance(pos, Slot) else pos
        check_int(f"{field}[{i}].instrument_id", iid)
        check_int(f"{field}[{i}].q", q)
        if iid < 0:
            raise InputError(f"{field}[{i}].instrument_id", f"must be >= 0, got {iid}")
        _abs_below(f"{field}[{i}].q", q, Q_LIMIT, "q", "2**48")
        if iid in first_index:
            raise InputError(
                f"{field}[{i}].instrument_id",
                f"duplicate instrument id {iid} (also at {field}[{first_index[iid]}]); merge the two positions",
            )
        first_index[iid] = i
        if q != 0:
            kept.append(Slot(iid, q))
    if len(kept) > k:
        raise InputError(field, f"at most k = {k} non-zero positions fit the profile, got {len(kept)}")
    kept.sort(key=lambda s: s.instrument_id)
    return tuple(kept) + (EMPTY_SLOT,) * (k - len(kept))


# ------------------------------------------------------------------- quotes


def _finite(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field, f"must be a finite number, got {value!r}")
    return float(value)


def _positive_below(field: str, value: object, limit: int, limit_text: str) -> float:
    """0 < value x SCALE (rounded) < limit: the integer the engine derives must fit and not be 0."""
    v = _finite(field, value)
    if v <= 0 or not 0 < round(v * SCALE) < limit:
        raise InputError(
            field, f"must be > 0 and < {limit / SCALE:.4g} (x 10**6 it must be < {limit_text}), got {v}"
        )
    return v


def _vol(field: str, value: object) -> None:
    v = _finite(field, value)
    if not 0 < v <= MAX_VOL:
        raise InputError(
            field, f"must satisfy 0 < vol <= {MAX_VOL:g} (annualised fraction, 0.6 = 60%), got {v}"
        )


def validate_quotes(
    as_of: dt.date,
    quotes: Sequence[AssetQuote],
    instruments: Sequence[InstrumentSpec],
    profile: Profile,
    field: str = "quotes",
    *,
    assets_at: str | None = None,
    instruments_at: str | None = None,
    id_key: str = "id",
    allow_expired: bool = False,
) -> None:
    """Oracle quotes and listed instruments (spec section 4) against a profile: the one
    set of rules, for a quotes file (``field.assets[i]``, ``field.instruments[j].id``)
    and for the row builder's arguments (``quotes[i]``, ``instruments[j].instrument_id``).

    A quotes file cannot list an option that has already expired (``expiry < as_of``);
    the row builder may value one (``allow_expired``: at its intrinsic value), as when an
    old market is rebuilt. An option that expires on ``as_of`` is valued at intrinsic.
    """
    assets_at = assets_at or f"{field}.assets"
    instruments_at = instruments_at or f"{field}.instruments"
    if not quotes:
        raise InputError(assets_at, "must list at least one asset")
    if len(quotes) > profile.assets:
        raise InputError(
            assets_at,
            f"at most A = {profile.assets} assets fit profile {profile.name}, got {len(quotes)}",
        )
    names: dict[str, int] = {}
    for a, q in enumerate(quotes):
        base = f"{assets_at}[{a}]"
        if not q.name:
            raise InputError(f"{base}.name", "must be a non-empty string")
        if q.name in names:
            raise InputError(
                f"{base}.name", f"duplicate asset name {q.name!r} (also at assets[{names[q.name]}])"
            )
        names[q.name] = a
        _positive_below(f"{base}.spot", q.spot, SPOT_LIMIT, "2**48")
        _positive_below(f"{base}.depth", q.depth, DEPTH_LIMIT, "2**64")
        _vol(f"{base}.vol", q.vol)
        for t, close in enumerate(q.history):
            if _finite(f"{base}.history[{t}]", close) <= 0:
                raise InputError(f"{base}.history[{t}]", f"a close must be > 0, got {close}")
    ids: dict[int, int] = {}
    for i, spec in enumerate(instruments):
        base = f"{instruments_at}[{i}]"
        _validate_instrument(base, spec, as_of, profile, names, ids, i, id_key, allow_expired)


def _validate_instrument(
    base: str,
    spec: InstrumentSpec,
    as_of: dt.date,
    profile: Profile,
    names: dict[str, int],
    ids: dict[int, int],
    index: int,
    id_key: str,
    allow_expired: bool,
) -> None:
    id_at = f"{base}.{id_key}"
    iid = _in_range(id_at, spec.instrument_id, 0, profile.capacity, f"0 <= id < 4**{profile.depth}")
    if iid in ids:
        raise InputError(id_at, f"duplicate instrument id {iid} (also at instruments[{ids[iid]}])")
    ids[iid] = index
    if not spec.name:
        raise InputError(f"{base}.name", "must be a non-empty string")
    if spec.asset not in names:
        raise InputError(f"{base}.asset", f"unknown asset {spec.asset!r}; quoted assets: {', '.join(names)}")
    if spec.kind not in INSTRUMENT_KINDS:
        raise InputError(f"{base}.kind", f"must be one of {', '.join(INSTRUMENT_KINDS)}, got {spec.kind!r}")
    if spec.kind in OPTION_KINDS:
        if spec.strike is None:
            raise InputError(f"{base}.strike", f"required for a {spec.kind}")
        _positive_below(f"{base}.strike", spec.strike, VALUE_LIMIT, "2**48")
        if spec.expiry is None:
            raise InputError(f"{base}.expiry", f"required for a {spec.kind}")
        if not isinstance(spec.expiry, dt.date):
            raise InputError(f"{base}.expiry", f"must be a date, got {spec.expiry!r}")
        if spec.expiry < as_of and not allow_expired:
            raise InputError(
                f"{base}.expiry",
                f"must be on or after as_of ({as_of.isoformat()}): the option has expired, got {spec.expiry.isoformat()}",
            )
        if spec.vol is not None:
            _vol(f"{base}.vol", spec.vol)
        if spec.mark is not None:
            raise InputError(f"{base}.mark", "only a perp has a mark; options are valued by Black-76")
        return
    for name, value in (("strike", spec.strike), ("expiry", spec.expiry), ("vol", spec.vol)):
        if value is not None:
            raise InputError(f"{base}.{name}", f"only options have a {name}; this is a {spec.kind}")
    if spec.mark is not None:
        if spec.kind != "perp":
            raise InputError(f"{base}.mark", "only a perp has a mark; a spot instrument is worth the spot")
        _positive_below(f"{base}.mark", spec.mark, VALUE_LIMIT, "2**48")


# --------------------------------------------------------------- row settings


def validate_row_config(config: RowConfig, path: str = "config") -> None:
    """Ranges of the row settings (spec section 4), for a params file and the row builder
    alike; errors are named under ``path`` (``params.row_config.haircut.BTC``)."""
    from engine.scenarios import check_row_config

    try:
        check_row_config(config)
    except InputError as err:
        raise InputError(path + err.field.removeprefix("config"), err.message) from None
    for name in ("perp_charge", "short_option_min"):
        v = _finite(f"{path}.{name}", getattr(config, name))
        if not 0.0 <= v <= 1.0:
            raise InputError(f"{path}.{name}", f"must satisfy 0 <= {name} <= 1 (fraction of spot), got {v}")
    for name in ("haircut", "borrow"):
        for asset, value in getattr(config, name).items():
            v = _finite(f"{path}.{name}.{asset}", value)
            if not 0.0 <= v <= 1.0:
                raise InputError(
                    f"{path}.{name}.{asset}", f"must satisfy 0 <= {name} <= 1 (fraction of spot), got {v}"
                )
    for key in ("forecast", "scan_vol"):
        for asset, value in getattr(config, key).items():
            v = _finite(f"{path}.{key}.{asset}", value)
            if not v >= 0.0:
                raise InputError(f"{path}.{key}.{asset}", f"a volatility must be >= 0, got {v}")

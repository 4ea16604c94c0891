"""The backtest's portfolio file (``zkmargin/backtest-portfolios@1``).

```json
{"format": "zkmargin/backtest-portfolios@1",
 "assets": {"BTC": {"depth": 40000000, "im_fraction": 0.05, "mm_fraction": 0.03}, ...},
 "portfolios": [
   {"name": "covered-call", "description": "...",
    "legs": [{"asset": "BTC", "kind": "spot", "notional": 1000000},
             {"asset": "BTC", "kind": "call", "notional": -1000000, "strike": 1.1, "tenor_days": 30}]}]}
```

A leg holds ``notional / spot`` units of its instrument, re-established every day at the
same notional (so margins of different days compare); ``strike`` is a fraction of the
day's spot and ``tenor_days`` the option's days to expiry when it is opened. ``depth`` is
the asset's book depth (quote notional) for the liquidity add-on; ``im_fraction`` and
``mm_fraction`` are the fixed-fraction model's margin rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InputError
from engine.formats.json_text import Obj, as_real, as_str, check_format, in_file, read_json_file

KINDS = ("spot", "perp", "call", "put")
MAX_LEGS = 16  # the standard profile's k


@dataclass(frozen=True)
class Leg:
    asset: str
    kind: str
    notional: float
    strike: float | None = None  # fraction of spot (options)
    tenor_days: int | None = None  # options

    @property
    def key(self) -> tuple[str, str, float | None, int | None]:
        """Legs with the same key are the same instrument."""
        return (self.asset, self.kind, self.strike, self.tenor_days)


@dataclass(frozen=True)
class Portfolio:
    name: str
    description: str
    legs: tuple[Leg, ...]

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(leg.asset for leg in self.legs))

    @property
    def gross_notional(self) -> float:
        return sum(abs(leg.notional) for leg in self.legs)


@dataclass(frozen=True)
class AssetSettings:
    depth: float
    im_fraction: float
    mm_fraction: float


@dataclass(frozen=True)
class PortfolioFile:
    assets: dict[str, AssetSettings]
    portfolios: tuple[Portfolio, ...]


def _positive(path: str, value: Any, upper: float | None = None) -> float:
    x = as_real(path, value)
    if not x > 0 or (upper is not None and x > upper):
        bound = f"0 < x <= {upper:g}" if upper is not None else "x > 0"
        raise InputError(path, f"must satisfy {bound}, got {x}")
    return x


def _leg(path: str, value: Any, assets: dict[str, AssetSettings]) -> Leg:
    o = Obj(path, value)
    asset = o.get("asset", as_str)
    if asset not in assets:
        raise InputError(o.sub("asset"), f"unknown asset {asset!r}; the file's assets: {', '.join(assets)}")
    kind = o.get("kind", as_str)
    if kind not in KINDS:
        raise InputError(o.sub("kind"), f"must be one of {', '.join(KINDS)}, got {kind!r}")
    notional = as_real(o.sub("notional"), o.raw("notional"))
    if notional == 0 or abs(notional) > 1e12:
        raise InputError(
            o.sub("notional"), f"must satisfy 0 < |notional| <= 1e12 (quote units), got {notional}"
        )
    strike = tenor = None
    if kind in ("call", "put"):
        strike = _positive(o.sub("strike"), o.raw("strike"), 10.0)
        days = _positive(o.sub("tenor_days"), o.raw("tenor_days"), 730)
        if days != int(days):
            raise InputError(o.sub("tenor_days"), f"must be a whole number of days, got {days}")
        tenor = int(days)
    o.done()
    return Leg(asset, kind, notional, strike, tenor)


def load_portfolios_doc(data: dict[str, Any], root: str = "portfolios") -> PortfolioFile:
    o = Obj(root, data)
    check_format(o, "backtest-portfolios")
    assets: dict[str, AssetSettings] = {}
    for name, value in o.obj("assets").data.items():
        a = Obj(f"{root}.assets.{name}", value)
        assets[name] = AssetSettings(
            depth=_positive(a.sub("depth"), a.raw("depth")),
            im_fraction=_positive(a.sub("im_fraction"), a.raw("im_fraction"), 1.0),
            mm_fraction=_positive(a.sub("mm_fraction"), a.raw("mm_fraction"), 1.0),
        )
        a.done()
    if not assets:
        raise InputError(o.sub("assets"), "name at least one asset")
    portfolios = []
    names: set[str] = set()
    for path, value in o.items("portfolios"):
        p = Obj(path, value)
        name = p.get("name", as_str)
        if not name or name in names:
            raise InputError(p.sub("name"), f"must be a non-empty name used once, got {name!r}")
        names.add(name)
        legs = tuple(_leg(lp, lv, assets) for lp, lv in p.items("legs"))
        if not 1 <= len(legs) <= MAX_LEGS:
            raise InputError(p.sub("legs"), f"must hold 1 to {MAX_LEGS} legs, got {len(legs)}")
        if len({leg.key for leg in legs}) != len(legs):
            raise InputError(p.sub("legs"), "the same instrument twice: merge the legs")
        description = p.opt("description", as_str) or ""
        p.done()
        portfolios.append(Portfolio(name, description, legs))
    if not portfolios:
        raise InputError(o.sub("portfolios"), "name at least one portfolio")
    o.done()
    return PortfolioFile(assets, tuple(portfolios))


def load_portfolios(path: str | Path) -> PortfolioFile:
    """A portfolio file; every error names the field and the file."""
    try:
        return load_portfolios_doc(read_json_file(path, "portfolios"))
    except InputError as err:
        raise in_file(err, path) from None

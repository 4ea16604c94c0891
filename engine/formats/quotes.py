"""The quotes format (``zkmargin/quotes@1``) and the row-building settings.

A quotes file carries the oracle's view of one day: per asset its spot, ATM
volatility, depth and optional daily closes, and the listed instruments. The row
settings (:class:`engine.model.RowConfig`) live in the params file and are copied
into every market file next to the quotes, so the rows can be recomputed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, cast

from engine.calibration.apc import ApcConfig
from engine.errors import InputError
from engine.formats.json_text import (
    Obj,
    as_date,
    as_int,
    as_real,
    as_str,
    check_format,
    format_tag,
    json_type,
)
from engine.model import AssetQuote, InstrumentKind, InstrumentSpec, RowConfig
from engine.profiles import Profile
from engine.validate import INSTRUMENT_KINDS, validate_quotes, validate_row_config

#: Real-valued RowConfig settings, in the order they are written.
ROW_SCALARS = (
    "z",
    "h_days",
    "m_min",
    "m_max",
    "v_up",
    "v_dn",
    "v_floor",
    "w_ext",
    "perp_charge",
    "short_option_min",
)
#: Per-asset RowConfig settings.
ROW_PER_ASSET = ("haircut", "borrow", "forecast", "scan_vol")


@dataclass(frozen=True)
class QuotesFile:
    """A parsed quotes file: the day, the asset quotes (in asset-index order) and instruments."""

    as_of: dt.date
    assets: tuple[AssetQuote, ...]
    instruments: tuple[InstrumentSpec, ...]

    @property
    def asset_names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.assets)


# -------------------------------------------------------------------- reading


def _asset(path: str, value: Any) -> AssetQuote:
    o = Obj(path, value)
    history: tuple[float, ...] = ()
    if o.has("history"):
        history = tuple(as_real(p, v) for p, v in o.items("history"))
    else:
        o.skip("history")
    quote = AssetQuote(
        name=o.get("name", as_str),
        spot=o.get("spot", as_real),
        vol=o.get("vol", as_real),
        depth=o.get("depth", as_real),
        history=history,
    )
    o.done()
    return quote


def _kind(path: str, value: Any) -> InstrumentKind:
    text = as_str(path, value)
    if text not in INSTRUMENT_KINDS:
        raise InputError(path, f"must be one of {', '.join(INSTRUMENT_KINDS)}, got {text!r}")
    return cast(InstrumentKind, text)


def _instrument(path: str, value: Any) -> InstrumentSpec:
    o = Obj(path, value)
    spec = InstrumentSpec(
        instrument_id=o.get("id", as_int),
        name=o.get("name", as_str),
        asset=o.get("asset", as_str),
        kind=o.get("kind", _kind),
        strike=o.opt("strike", as_real),
        expiry=o.opt("expiry", as_date),
        vol=o.opt("vol", as_real),
        mark=o.opt("mark", as_real),
    )
    o.done()
    return spec


def read_quotes_body(o: Obj) -> QuotesFile:
    """``as_of``, ``assets`` and ``instruments`` of an object (a quotes file or a market's source)."""
    return QuotesFile(
        as_of=o.get("as_of", as_date),
        assets=tuple(_asset(p, v) for p, v in o.items("assets")),
        instruments=tuple(_instrument(p, v) for p, v in o.items("instruments")),
    )


def load_quotes_doc(data: dict[str, Any], profile: Profile, root: str = "quotes") -> QuotesFile:
    """Parse and validate a quotes document against ``profile`` (asset count, id range)."""
    o = Obj(root, data)
    check_format(o, "quotes")
    quotes = read_quotes_body(o)
    o.done()
    validate_quotes(quotes.as_of, quotes.assets, quotes.instruments, profile, field=root)
    return quotes


def _per_asset(path: str, value: Any, names: Sequence[str] | None) -> dict[str, float]:
    o = Obj(path, value)
    out: dict[str, float] = {}
    for key in list(o.data):
        if names is not None and key not in names:
            raise InputError(o.sub(key), f"unknown asset {key!r}; quoted assets: {', '.join(names)}")
        out[key] = o.get(key, as_real)
    o.done()
    return out


def read_row_config(path: str, value: Any, names: Sequence[str] | None = None) -> RowConfig:
    """A ``RowConfig`` object; absent keys take the spec defaults. Per-asset maps are
    checked against ``names`` when given."""
    o = Obj(path, value)
    kwargs: dict[str, Any] = {}
    for key in ROW_SCALARS:
        v = o.opt(key, as_real)
        if v is not None:
            kwargs[key] = v
    for key in ROW_PER_ASSET:
        if o.has(key):
            kwargs[key] = _per_asset(o.sub(key), o.raw(key), names)
        else:
            o.skip(key)
    if o.has("apc"):
        kwargs["apc"] = read_apc(o.sub("apc"), o.raw("apc"))
    else:
        o.skip("apc")
    o.done()
    config = RowConfig(**kwargs)
    validate_row_config(config, path)
    return config


def read_apc(path: str, value: Any) -> ApcConfig:
    """The anti-procyclicality tools (``engine.calibration.procyclicality``): ``stress_weight``,
    ``buffer``, ``speed_limit`` (a number, or null/absent for off), ``floor`` (true/false)
    and ``stress_ratio``."""
    o = Obj(path, value)
    floor = o.opt("floor", _as_bool)
    ratio = o.opt("stress_ratio", as_real)
    kwargs: dict[str, Any] = {key: o.opt(key, as_real) for key in ("stress_weight", "buffer", "speed_limit")}
    o.done()
    try:
        return ApcConfig(floor=bool(floor), stress_ratio=1.5 if ratio is None else ratio, **kwargs)
    except InputError as err:
        raise InputError(f"{path}.{err.field.removeprefix('apc.')}", err.message) from None


def _as_bool(path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InputError(path, f"must be true or false, got {json_type(value)}")
    return value


def dump_apc(apc: ApcConfig) -> dict[str, Any]:
    return {
        "stress_weight": apc.stress_weight,
        "floor": apc.floor,
        "buffer": apc.buffer,
        "stress_ratio": apc.stress_ratio,
        "speed_limit": apc.speed_limit,
    }


# -------------------------------------------------------------------- writing


def dump_asset_quote(q: AssetQuote) -> dict[str, Any]:
    out: dict[str, Any] = {"name": q.name, "spot": q.spot, "vol": q.vol, "depth": q.depth}
    if q.history:
        out["history"] = list(q.history)
    return out


def dump_instrument(spec: InstrumentSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": spec.instrument_id,
        "name": spec.name,
        "asset": spec.asset,
        "kind": spec.kind,
    }
    if spec.strike is not None:
        out["strike"] = spec.strike
    if spec.expiry is not None:
        out["expiry"] = spec.expiry.isoformat()
    if spec.vol is not None:
        out["vol"] = spec.vol
    if spec.mark is not None:
        out["mark"] = spec.mark
    return out


def dump_quotes_body(quotes: QuotesFile) -> dict[str, Any]:
    return {
        "as_of": quotes.as_of.isoformat(),
        "assets": [dump_asset_quote(q) for q in quotes.assets],
        "instruments": [dump_instrument(s) for s in quotes.instruments],
    }


def dump_quotes(quotes: QuotesFile) -> dict[str, Any]:
    return {"format": format_tag("quotes"), **dump_quotes_body(quotes)}


def dump_row_config(config: RowConfig) -> dict[str, Any]:
    out: dict[str, Any] = {key: getattr(config, key) for key in ROW_SCALARS}
    for key in ROW_PER_ASSET:
        mapping: Mapping[str, float] = getattr(config, key)
        if mapping or key != "scan_vol":  # scan_vol only where the tools set it
            out[key] = dict(mapping)
    if config.apc is not None:
        out["apc"] = dump_apc(config.apc)
    return out


assert {*ROW_SCALARS, *ROW_PER_ASSET, "apc"} == {f.name for f in fields(RowConfig)}

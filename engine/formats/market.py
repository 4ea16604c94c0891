"""The market format (``zkmargin/market@1``).

A market file is what the oracle publishes for one epoch: the integer asset table
and instrument rows (what the circuit proves against), their hashes
(``tree_root``, ``asset_hash``, ``market_root``), and the source it was built from
(quotes, instruments, row settings with the volatility forecasts used, and the
calibrated correlation when a price history was given), so that anyone can
recompute the rows and the engine can reprice instruments for liquidation prices.

Loading checks every bound (:func:`engine.validate.validate_market`) and recomputes
the three hashes: a file whose rows do not match its ``market_root`` is rejected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.commitments import MarketCommitments
from engine.errors import InputError
from engine.formats.json_text import (
    Obj,
    as_date,
    as_int,
    as_list,
    as_str,
    check_format,
    emit_field,
    emit_int,
    format_tag,
)
from engine.formats.quotes import (
    QuotesFile,
    dump_quotes_body,
    dump_row_config,
    read_quotes_body,
    read_row_config,
)
from engine.model import AssetEntry, InstrumentRow, Market, RowConfig
from engine.profiles import get_profile
from engine.validate import validate_market, validate_quotes, validate_rho

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class MarketFile:
    """A market with its source and hashes.

    ``calibrated_rho`` (A x A, x SCALE) is the correlation estimated from the price
    history at build time, or ``None`` when the market was built without one.
    """

    market: Market
    source: QuotesFile
    config: RowConfig
    calibrated_rho: Matrix | None
    tree_root: int
    asset_hash: int
    market_root: int

    @property
    def as_of(self) -> dt.date:
        return self.source.as_of


def make_market_file(
    market: Market, source: QuotesFile, config: RowConfig, calibrated_rho: Matrix | None
) -> MarketFile:
    """Bundle a freshly built market with its source and computed hashes."""
    validate_market(market)
    hashes = MarketCommitments(market)
    return MarketFile(
        market=market,
        source=source,
        config=config,
        calibrated_rho=calibrated_rho,
        tree_root=hashes.tree_root,
        asset_hash=hashes.asset_hash,
        market_root=hashes.market_root,
    )


# -------------------------------------------------------------------- writing


def _dump_row(row: InstrumentRow, name: str | None) -> dict[str, Any]:
    return {
        "instrument_id": row.instrument_id,
        "name": name,
        "asset": row.asset,
        "mark": emit_int(row.mark),
        "delta": emit_int(row.delta),
        "ra": [emit_int(v) for v in row.ra],
        "c_long": emit_int(row.c_long),
        "c_short": emit_int(row.c_short),
    }


def dump_market(mf: MarketFile) -> dict[str, Any]:
    m = mf.market
    names = list(m.asset_names) + [None] * (m.profile.assets - len(m.asset_names))
    return {
        "format": format_tag("market"),
        "profile": m.profile.name,
        "epoch": emit_int(m.epoch),
        "as_of": mf.as_of.isoformat(),
        "assets": [
            {"name": name, "spot": emit_int(e.spot), "depth": emit_int(e.depth)}
            for name, e in zip(names, m.assets, strict=True)
        ],
        "rows": [_dump_row(row, m.instrument_names.get(iid)) for iid, row in sorted(m.rows.items())],
        "tree_root": emit_field(mf.tree_root),
        "asset_hash": emit_field(mf.asset_hash),
        "market_root": emit_field(mf.market_root),
        "calibrated_rho": None
        if mf.calibrated_rho is None
        else [[emit_int(v) for v in row] for row in mf.calibrated_rho],
        "source": {**dump_quotes_body(mf.source), "row_config": dump_row_config(mf.config)},
    }


# -------------------------------------------------------------------- reading


def _row(path: str, value: Any) -> tuple[InstrumentRow, str | None]:
    o = Obj(path, value)
    ra = tuple(as_int(p, v) for p, v in o.items("ra"))
    row = InstrumentRow(
        instrument_id=o.get("instrument_id", as_int),
        asset=o.get("asset", as_int),
        mark=o.get("mark", as_int),
        delta=o.get("delta", as_int),
        ra=ra,
        c_long=o.get("c_long", as_int),
        c_short=o.get("c_short", as_int),
    )
    name = o.opt("name", as_str)
    o.done()
    return row, name


def _matrix(path: str, value: Any) -> Matrix:
    return tuple(
        tuple(as_int(f"{path}[{a}][{b}]", v) for b, v in enumerate(as_list(f"{path}[{a}]", row)))
        for a, row in enumerate(as_list(path, value))
    )


def load_market_doc(data: dict[str, Any], root: str = "market") -> MarketFile:
    """Parse, validate and hash-check a market document."""
    o = Obj(root, data)
    check_format(o, "market")
    profile = get_profile(o.get("profile", as_str))
    epoch = o.get("epoch", as_int)
    as_of = o.get("as_of", as_date)
    names: list[str] = []
    assets: list[AssetEntry] = []
    for path, value in o.items("assets"):
        a = Obj(path, value)
        name = a.opt("name", as_str)
        assets.append(AssetEntry(spot=a.get("spot", as_int), depth=a.get("depth", as_int)))
        a.done()
        if name is not None:
            if len(names) != len(assets) - 1:
                raise InputError(a.sub("name"), "named (used) assets must come before unnamed (unused) slots")
            names.append(name)
    rows: dict[int, InstrumentRow] = {}
    row_names: dict[int, str] = {}
    for path, value in o.items("rows"):
        row, row_name = _row(path, value)
        if row.instrument_id in rows:
            raise InputError(f"{path}.instrument_id", f"duplicate instrument id {row.instrument_id}")
        rows[row.instrument_id] = row
        if row_name is not None:
            row_names[row.instrument_id] = row_name
    market = Market(
        profile=profile,
        epoch=epoch,
        assets=tuple(assets),
        rows=dict(sorted(rows.items())),
        asset_names=tuple(names),
        instrument_names=row_names,
    )
    validate_market(market)
    calibrated = o.opt("calibrated_rho", _matrix)
    if calibrated is not None:
        validate_rho(calibrated, profile.assets, o.sub("calibrated_rho"))
    src = o.obj("source")
    source = read_quotes_body(src)
    config = read_row_config(src.sub("row_config"), src.raw("row_config"), source.asset_names)
    src.done()
    validate_quotes(source.as_of, source.assets, source.instruments, profile, field=src.path)
    _check_source(o, market, source, as_of)
    stored = {key: o.get(key, as_int) for key in ("tree_root", "asset_hash", "market_root")}
    o.done()
    mf = make_market_file(market, source, config, calibrated)
    for key, value in stored.items():
        if getattr(mf, key) != value:
            raise InputError(
                o.sub(key),
                f"does not match the asset table and rows (recomputed {getattr(mf, key)}, file has {value})",
            )
    return mf


def _check_source(o: Obj, market: Market, source: QuotesFile, as_of: dt.date) -> None:
    """The source must describe the same assets and instruments as the integer tables."""
    if source.as_of != as_of:
        raise InputError(o.sub("source.as_of"), f"must equal the market's as_of {as_of.isoformat()}")
    if source.asset_names != market.asset_names:
        raise InputError(
            o.sub("source.assets"),
            f"asset names {list(source.asset_names)} differ from the asset table {list(market.asset_names)}",
        )
    listed = sorted(spec.instrument_id for spec in source.instruments)
    if listed != sorted(market.rows):
        raise InputError(o.sub("source.instruments"), "instrument ids differ from the rows' ids")

"""Plain data types shared by the engine, the prover, the contracts and the CLI.

Integer types (``AssetEntry``, ``InstrumentRow``, ``RiskParams``, ``Account``,
``Market``) carry values already scaled by ``SCALE``: they are what the circuit
proves. Float types (``AssetQuote``, ``InstrumentSpec``, ``RowConfig``) are oracle
quotes and configuration from which the engine derives the integer rows
(spec section 4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from engine.calibration.apc import ApcConfig
from engine.profiles import Profile

InstrumentKind = Literal["spot", "perp", "call", "put"]


# ---------------------------------------------------------------- integer side


@dataclass(frozen=True)
class AssetEntry:
    """One row of the asset table: spot S_a and book depth D_a (both x SCALE).

    Unused asset slots have spot 0 and depth 1.
    """

    spot: int
    depth: int


@dataclass(frozen=True)
class InstrumentRow:
    """One leaf of the instrument tree (spec section 2); all values x SCALE."""

    instrument_id: int
    asset: int  # asset index a(i) in 0..A-1
    mark: int  # M_i: value of one unit
    delta: int  # delta_i
    ra: tuple[int, ...]  # RA_i[0..15]: value change of one long unit per scenario
    c_long: int  # static charge per unit held long
    c_short: int  # static charge per unit held short


@dataclass(frozen=True)
class RiskParams:
    """Governed parameters hashed into ``params_hash`` (x SCALE)."""

    mm_factor: int
    kappa: tuple[int, ...]  # one per asset slot (length A)
    rho: tuple[tuple[int, ...], ...]  # A x A correlation matrix


@dataclass(frozen=True)
class Market:
    """A market snapshot: asset table and instrument rows for one epoch."""

    profile: Profile
    epoch: int
    assets: tuple[AssetEntry, ...]  # length A
    rows: Mapping[int, InstrumentRow]  # by instrument_id (< 4**d)
    asset_names: tuple[str, ...] = ()  # for people; length <= A
    instrument_names: Mapping[int, str] = field(default_factory=dict)  # for people


@dataclass(frozen=True)
class Slot:
    instrument_id: int
    q: int  # signed size x SCALE


EMPTY_SLOT = Slot(0, 0)


@dataclass(frozen=True)
class Account:
    """A private account. ``slots`` is in canonical form and has exactly k entries:
    non-zero positions first with strictly increasing ids, then ``EMPTY_SLOT``s."""

    account_id: int
    nonce: int
    salt: int  # a random field element
    cash: int  # signed quote balance x SCALE
    slots: tuple[Slot, ...]

    def positions(self) -> tuple[Slot, ...]:
        """The non-empty slots."""
        return tuple(s for s in self.slots if s.q != 0)


# ------------------------------------------------------------------ float side


@dataclass(frozen=True)
class AssetQuote:
    """Oracle quote for one underlying asset (real units, not scaled)."""

    name: str
    spot: float
    vol: float  # implied ATM volatility, annualised (0.6 = 60 %)
    depth: float  # quote notional the book absorbs
    history: tuple[float, ...] = ()  # optional daily closes, oldest first


@dataclass(frozen=True)
class InstrumentSpec:
    """A listed instrument (real units)."""

    instrument_id: int
    name: str
    asset: str  # AssetQuote.name
    kind: InstrumentKind
    strike: float | None = None  # options only
    expiry: dt.date | None = None  # options only
    vol: float | None = None  # option implied vol; default: the asset's ATM vol
    mark: float | None = None  # perp mark price; default: spot


@dataclass(frozen=True)
class RowConfig:
    """How rows are derived from quotes (spec section 4); defaults from the spec."""

    z: float = 3.0
    h_days: float = 1.0
    m_min: float = 0.05
    m_max: float = 0.5
    v_up: float = 0.45
    v_dn: float = 0.25
    v_floor: float = 0.1
    w_ext: float = 0.35
    perp_charge: float = 0.01
    short_option_min: float = 0.01
    haircut: Mapping[str, float] = field(default_factory=dict)  # per asset; default 0.02
    borrow: Mapping[str, float] = field(default_factory=dict)  # per asset; default 0.02
    forecast: Mapping[str, float] = field(default_factory=dict)  # vol forecast per asset
    # the scan volatility charged per asset after the anti-procyclicality tools; where
    # given it replaces max(vol, forecast) (spec section 4)
    scan_vol: Mapping[str, float] = field(default_factory=dict)
    apc: ApcConfig | None = None  # anti-procyclicality tools on the charged scan volatility

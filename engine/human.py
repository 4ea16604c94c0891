"""Amounts and instruments as people write them, turned into the model's integers exactly.

``-2.5`` becomes ``-2_500_000`` (x 10^6); a size with more than six decimals is refused,
never rounded. An instrument is named as the market lists it (``BTC-PERP``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from engine.errors import InputError
from engine.fixedpoint import SCALE
from engine.model import Market

DECIMALS = 6


def parse_units(field: str, text: str) -> int:
    """A decimal number of units (``-2.5``, ``10000``) as an exact integer x 10^6."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(field, f"must be a decimal number such as -2.5, got {text!r}") from None
    if not value.is_finite():
        raise InputError(field, f"must be a finite number, got {text!r}")
    scaled = value * SCALE
    if scaled != scaled.to_integral_value():
        raise InputError(field, f"has more than {DECIMALS} decimals: {text!r}")
    return int(scaled)


def instrument_by_name(field: str, name: str, market: Market) -> int:
    """The id of the instrument the market lists under ``name``."""
    found = [iid for iid, n in market.instrument_names.items() if n == name]
    if len(found) == 1:
        return found[0]
    known = sorted(market.instrument_names.values())
    shown = ", ".join(known[:8]) + (f", ... ({len(known)} in all)" if len(known) > 8 else "")
    raise InputError(field, f"unknown instrument {name!r}; the market lists {shown or 'no names'}")

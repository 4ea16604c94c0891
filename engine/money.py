"""The one way amounts are shown to people.

Every amount of ZKPM-1 is an integer in units of 10^-6 of the quote currency. People see
it rounded down (toward minus infinity) to the cent, with thousands separators and the
currency named: ``-27,500.00 USD``. Raw integers appear only in JSON output.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from engine.fixedpoint import SCALE

#: The quote currency every amount is in (ZKPM-1 margins one quote currency).
QUOTE_CURRENCY = "USD"

_CENT = Decimal("0.01")


def money_amount(x: int) -> str:
    """``x`` (x 10^6) rounded down to the cent, with separators, no currency: ``-27,500.00``."""
    return f"{(Decimal(x) / SCALE).quantize(_CENT, rounding=ROUND_FLOOR):,}"


def money(x: int, currency: str = QUOTE_CURRENCY) -> str:
    """``x`` (x 10^6) for people, naming the currency: ``-27,500.00 USD``."""
    return f"{money_amount(x)} {currency}"

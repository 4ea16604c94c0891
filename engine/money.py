"""The one way amounts are shown to people.

Every amount of ZKPM-2 is an integer in units of 10^-6 of the quote currency. People see
it rounded down (toward minus infinity) to the cent, with thousands separators and the
currency named: ``-27,500.00 USD``. Raw integers appear only in JSON output.
"""

from __future__ import annotations

from engine.fixedpoint import SCALE

#: The quote currency every amount is in (ZKPM-2 margins one quote currency).
QUOTE_CURRENCY = "USD"

_UNITS_PER_CENT = SCALE // 100


def money_amount(x: int) -> str:
    """``x`` (x 10^6) rounded down to the cent, with separators, no currency: ``-27,500.00``.

    Exact integer arithmetic, for amounts of any size (a field-sized value included).
    """
    cents = x // _UNITS_PER_CENT  # floor: toward minus infinity
    whole, frac = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole:,}.{frac:02d}"


def money(x: int, currency: str = QUOTE_CURRENCY) -> str:
    """``x`` (x 10^6) for people, naming the currency: ``-27,500.00 USD``."""
    return f"{money_amount(x)} {currency}"

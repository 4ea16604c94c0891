"""Which anti-procyclicality tools apply (``RowConfig.apc``): plain settings, no numpy, so a
market or params file can be read (and ``zkmargin prove`` can run) without the fits.

The tools themselves are in :mod:`engine.calibration.procyclicality`.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InputError

#: The look-back EMIR RTS 153/2013 art. 28(1)(b) and (c) name: ten years, in daily returns.
LOOKBACK_YEARS = 10
LOOKBACK_RETURNS = 365 * LOOKBACK_YEARS
#: The regulation's minimum buffer (art. 28(1)(a)) and stressed weight (art. 28(1)(b)).
EMIR_MIN_BUFFER = 0.25
EMIR_MIN_STRESS_WEIGHT = 0.25


@dataclass(frozen=True)
class ApcConfig:
    """Which tools act on the charged scan volatility (see
    :mod:`engine.calibration.procyclicality`); each is off when its setting is None (or
    ``floor`` False). The default is the set the backtest chose on its in-sample window
    (docs/backtest.md, "Anti-procyclicality tools")."""

    stress_weight: float | None = None
    floor: bool = False
    buffer: float | None = None
    stress_ratio: float = 1.5
    speed_limit: float | None = 0.10

    def __post_init__(self) -> None:
        if self.stress_weight is not None and not 0.0 <= self.stress_weight <= 1.0:
            raise InputError("apc.stress_weight", f"must be in [0, 1], got {self.stress_weight}")
        if self.buffer is not None and not 0.0 <= self.buffer <= 1.0:
            raise InputError("apc.buffer", f"must be in [0, 1], got {self.buffer}")
        if not self.stress_ratio > 1.0:
            raise InputError("apc.stress_ratio", f"must be > 1, got {self.stress_ratio}")
        if self.speed_limit is not None and not self.speed_limit > 0.0:
            raise InputError("apc.speed_limit", f"must be > 0, got {self.speed_limit}")

    @property
    def looks_back(self) -> bool:
        """True when a tool reads the ten-year look-back (the stressed weight or the floor)."""
        return self.stress_weight is not None or self.floor


#: The EMIR article 28 tools at their regulatory minimums: a 25% buffer released in
#: stress, 25% weight on the stressed observations and the floor, both over ten years.
EMIR_TOOLS = ApcConfig(
    stress_weight=EMIR_MIN_STRESS_WEIGHT, floor=True, buffer=EMIR_MIN_BUFFER, speed_limit=None
)


def lookback_years_used(n_returns: int) -> float:
    """Years of daily returns the ten-year look-back actually holds after ``n_returns``
    returns (less than ten where the history is shorter: never shortened silently)."""
    return min(max(n_returns, 0), LOOKBACK_RETURNS) / 365.0


#: The set the backtest's ``garch_emir`` model uses: the ten-year floor of art. 28(1)(c)
#: (one of the three tools the regulation asks a CCP to apply) and the 10% speed limit.
EMIR_FLOOR = ApcConfig(floor=True, speed_limit=0.10)

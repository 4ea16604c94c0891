"""The model-validation choices of the backtest, in one place: the default model, the
coverage levels, the in-sample / out-of-sample split and the liquidity-horizon rule.

* **Default model** ``DEFAULT_MODEL``: the one the CLI's help, ``figures.json``
  (``default_model``) and the report's summary name.
* **Levels**: the margin is tested at 99 % (breach rate ``P_MAIN``), and the same breaches
  at 99.5 % (``P_TAIL``) as a sensitivity; expected shortfall at ``ES_LEVEL`` (97.5 %).
* **Samples** ``SAMPLES``: every statistic is computed on the whole history and split by
  the margined day into in sample (2017-11 to 2020-12: the part any fitted choice may see)
  and out of sample (2021-01 to 2022-11: the part that only evaluates).
* **Liquidity horizon** (``asset_horizon``): an asset whose book depth is at least
  ``DEEP_DEPTH`` is closed out in 1 day, one at least ``MEDIUM_DEPTH`` in 2 days, a
  thinner one in 3 days. A portfolio's horizon is the longest of its assets'
  (``portfolio_horizon``): the whole book must be unwound before the margin is spent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

DEFAULT_MODEL = "garch_apc"
P_MAIN = 0.01
P_TAIL = 0.005
ES_LEVEL = 0.975
SENSITIVITY_MPORS = (1, 2, 5)

#: name -> (first day, last day) of the margined days; ``None`` = the whole history.
IN_SAMPLE = (dt.date(2017, 11, 1), dt.date(2020, 12, 31))
OUT_OF_SAMPLE = (dt.date(2021, 1, 1), dt.date(2022, 11, 30))
SAMPLES: dict[str, tuple[dt.date, dt.date] | None] = {
    "whole": None,
    "in_sample": IN_SAMPLE,
    "out_of_sample": OUT_OF_SAMPLE,
}

DEEP_DEPTH = 20_000_000.0  # quote units: BTC 40 M, ETH 25 M in the example file
MEDIUM_DEPTH = 4_000_000.0  # BNB 5 M: 2 days; SOL 3 M, AVAX and DOT 2 M: 3 days


def in_window(d: dt.date, window: tuple[dt.date, dt.date] | None) -> bool:
    return window is None or window[0] <= d <= window[1]


def sample_mask(dates: Sequence[dt.date], window: tuple[dt.date, dt.date] | None) -> list[bool]:
    """Which of ``dates`` fall in the sample (first and last day included)."""
    return [in_window(d, window) for d in dates]


def asset_horizon(depth: float) -> int:
    """Liquidity horizon in days of an asset with this book depth (quote units)."""
    if not depth > 0:
        raise ValueError(f"asset_horizon: depth must be > 0, got {depth}")
    return 1 if depth >= DEEP_DEPTH else 2 if depth >= MEDIUM_DEPTH else 3


def portfolio_horizon(assets: Iterable[str], depths: Mapping[str, float]) -> int:
    """The longest liquidity horizon of the portfolio's assets."""
    horizons = [asset_horizon(depths[a]) for a in assets]
    if not horizons:
        raise ValueError("portfolio_horizon: a portfolio needs at least one asset")
    return max(horizons)

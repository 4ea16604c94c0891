"""The two-asset book of the keeper's drills and tests: BTC and ETH, spot and perp each,
and their risk parameters (the test and drill profiles' shape: A = 2, k = 4, d = 2).
One place for both ``bench/crash_drill.py`` and ``tests/keeper/keeper_env.py``."""

from __future__ import annotations

from engine.fixedpoint import SCALE
from engine.formats import ParamsFile
from engine.model import AssetQuote, InstrumentSpec, RowConfig

ASSETS = (
    AssetQuote("BTC", 40_000.0, 0.60, 80_000_000.0),
    AssetQuote("ETH", 2_500.0, 0.75, 40_000_000.0),
)
INSTRUMENTS = (
    InstrumentSpec(0, "BTC", "BTC", "spot"),
    InstrumentSpec(1, "BTC-PERP", "BTC", "perp"),
    InstrumentSpec(2, "ETH", "ETH", "spot"),
    InstrumentSpec(3, "ETH-PERP", "ETH", "perp"),
)
PARAMS = ParamsFile(
    mm_factor=750_000,
    kappa=(200_000, 200_000),
    rho=((SCALE, 800_000), (800_000, SCALE)),
    row_config=RowConfig(),
)

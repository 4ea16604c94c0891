"""The margin models compared in the backtest, and their forecast paths per asset.

The paths are the engine's causal ones (:mod:`engine.calibration.volatility_paths`): value ``i`` is the
forecast made at the close of the asset's date ``i`` from the returns up to then only.
``realised30`` is also the proxy for the implied volatility the data lacks: options are
priced with it, and it is the quote's ``vol`` in every engine model, so
``sigma_eff = max(implied, forecast)`` as in production.

Models (``MODELS``): ``fixed`` (fixed-fraction initial margin, dYdX/Drift-style tiers, no
volatility at all), ``trailing30`` (the proxy alone), ``ewma``, ``garch`` (today's rule:
the larger of EWMA and GARCH(1,1), EWMA alone for a degenerate fit), ``garch_apc``
(the charged scan volatility ``max(proxy, garch)`` through the anti-procyclicality tools of
``engine.calibration.procyclicality``, the params' set or ``ApcConfig()``) and ``garch_emir``
(the same through an EMIR-compliant set, ``engine.calibration.apc.EMIR_FLOOR``). The APC
models act on what is charged: a market built from history for the day gets the same
value (:func:`engine.calibration.forecast.asset_forecast` with the proxy as the quote's vol).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from backtest.history import AssetHistory
from engine.calibration.apc import EMIR_FLOOR, ApcConfig, lookback_years_used
from engine.calibration.volatility_paths import REFIT_DAYS, charged_path, ewma_path, garch_path, realised_path

FloatArray = NDArray[np.float64]
MODELS = ("fixed", "trailing30", "ewma", "garch", "garch_apc", "garch_emir")
ENGINE_MODELS = MODELS[1:]
APC_MODELS = ("garch_apc", "garch_emir")


@dataclass(frozen=True)
class VolPaths:
    """Per-asset paths, one value per date of the asset (annualised): the proxy, the
    forecasts and, for the APC models, the charged scan volatility ``max(proxy, garch)``
    through their tools."""

    realised30: FloatArray
    ewma: FloatArray
    garch: FloatArray
    garch_apc: FloatArray
    garch_emir: FloatArray
    degenerate_fits: int  # GARCH refits that fell back to EWMA
    refits: int
    lookback_years: float = 0.0  # of the tools' ten-year look-back, at the last date

    def for_model(self, model: str) -> FloatArray | None:
        """The forecast a model hands the row builder (None: the implied proxy alone)."""
        paths = {"ewma": self.ewma, "garch": self.garch, "garch_apc": self.garch, "garch_emir": self.garch}
        return None if model == "trailing30" else paths[model]

    def scan_vol_for(self, model: str) -> FloatArray | None:
        """The charged scan volatility of an APC model (None: ``max(proxy, forecast)``)."""
        return {"garch_apc": self.garch_apc, "garch_emir": self.garch_emir}.get(model)


def vol_paths(history: AssetHistory, apc: ApcConfig, refit_days: int = REFIT_DAYS) -> VolPaths:
    """Every model's path for one asset (the engine's, :mod:`engine.calibration.forecast`
    takes a market's values from the same functions)."""
    r = history.returns
    realised = realised_path(r)
    ewma = ewma_path(r)
    garch, refits, degenerate = garch_path(r, ewma, refit_days)
    return VolPaths(
        realised,
        ewma,
        garch,
        charged_path(garch, realised, r, apc),
        charged_path(garch, realised, r, EMIR_FLOOR),
        degenerate,
        refits,
        lookback_years_used(r.size),
    )

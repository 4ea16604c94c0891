"""The margin models compared in the backtest, and their forecast paths per asset.

The paths are the engine's causal ones (:mod:`engine.calibration.volatility_paths`): value ``i`` is the
forecast made at the close of the asset's date ``i`` from the returns up to then only.
``realised30`` is also the proxy for the implied volatility the data lacks: options are
priced with it, and it is the quote's ``vol`` in every engine model, so
``sigma_eff = max(implied, forecast)`` as in production.

Models (``MODELS``): ``fixed`` (fixed-fraction initial margin, dYdX/Drift-style tiers, no
volatility at all), ``trailing30`` (the proxy alone), ``ewma``, ``garch`` (today's rule:
the larger of EWMA and GARCH(1,1), EWMA alone for a degenerate fit), ``garch_apc``
(``garch`` through the anti-procyclicality tools of ``engine.calibration.procyclicality``, by default
a 10% daily speed limit) and ``garch_emir`` (``garch`` through an EMIR-compliant set: the
long look-back floor and the same speed limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from backtest.history import AssetHistory
from engine.calibration.procyclicality import EMIR_FLOOR, ApcConfig
from engine.calibration.volatility_paths import REFIT_DAYS, apc_path, ewma_path, garch_path, realised_path

FloatArray = NDArray[np.float64]
MODELS = ("fixed", "trailing30", "ewma", "garch", "garch_apc", "garch_emir")
ENGINE_MODELS = MODELS[1:]


@dataclass(frozen=True)
class VolPaths:
    """Per-asset forecasts, one value per date of the asset (annualised)."""

    realised30: FloatArray
    ewma: FloatArray
    garch: FloatArray
    garch_apc: FloatArray
    garch_emir: FloatArray
    degenerate_fits: int  # GARCH refits that fell back to EWMA
    refits: int

    def for_model(self, model: str) -> FloatArray | None:
        """The forecast a model hands the row builder (None: the implied proxy alone)."""
        paths = {
            "ewma": self.ewma,
            "garch": self.garch,
            "garch_apc": self.garch_apc,
            "garch_emir": self.garch_emir,
        }
        return None if model == "trailing30" else paths[model]


def vol_paths(history: AssetHistory, apc: ApcConfig, refit_days: int = REFIT_DAYS) -> VolPaths:
    """Every model's forecast path for one asset."""
    r = history.returns
    realised = realised_path(r)
    ewma = ewma_path(r)
    garch, refits, degenerate = garch_path(r, ewma, refit_days)
    return VolPaths(
        realised, ewma, garch, apc_path(garch, r, apc), apc_path(garch, r, EMIR_FLOOR), degenerate, refits
    )

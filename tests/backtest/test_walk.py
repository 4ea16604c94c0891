"""The walk forward: no look-ahead, the engine's own numbers, the vol paths' equivalence."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from backtest.history import AssetHistory, load_history
from backtest.models import vol_paths
from backtest.portfolios import load_portfolios
from backtest.walk import Walk
from engine.calibration.procyclicality import ApcConfig, apply_apc
from engine.calibration.volatility import DAYS_PER_YEAR, combined_forecast, ewma_variance, garch_fit_returns
from engine.calibration.volatility_paths import ewma_path, garch_path, realised_path
from engine.formats import load_params

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "examples" / "data" / "closes-excerpt.csv"
PORTFOLIOS = ROOT / "examples" / "backtest" / "portfolios.json"
PARAMS = ROOT / "examples" / "backtest" / "params.json"


def _synthetic(n: int = 260, seed: int = 3) -> AssetHistory:
    rng = np.random.default_rng(seed)
    vol = np.where(np.arange(n - 1) > n // 2, 0.06, 0.02)  # a calm half, then a storm
    returns = rng.standard_normal(n - 1) * vol
    closes = 100.0 * np.exp(np.concatenate(([0.0], np.cumsum(returns))))
    dates = tuple(dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(n))
    return AssetHistory("X", dates, closes, np.diff(np.log(closes)), ())


def test_ewma_path_equals_the_engine_on_every_prefix() -> None:
    h = _synthetic()
    path = ewma_path(h.returns)
    for i in (30, 31, 100, 259):
        expected = np.sqrt(DAYS_PER_YEAR * ewma_variance(h.returns[:i]))
        assert path[i] == pytest.approx(expected, rel=1e-12)
    assert np.isnan(path[:30]).all()


def test_realised_path_is_the_trailing_window() -> None:
    h = _synthetic()
    path = realised_path(h.returns)
    assert path[30] == pytest.approx(np.sqrt(365 * np.mean(h.returns[:30] ** 2)))
    assert path[200] == pytest.approx(np.sqrt(365 * np.mean(h.returns[170:200] ** 2)))


def test_garch_path_at_a_refit_is_the_engine_rule() -> None:
    h = _synthetic()
    ewma = ewma_path(h.returns)
    path, refits, _ = garch_path(h.returns, ewma, refit_days=20)
    assert refits == len(range(29, 260, 20))
    for i in (29 + 20, 29 + 100):  # dates where a refit happened
        fit = garch_fit_returns(h.returns[:i])
        assert path[i] == pytest.approx(combined_forecast(ewma[i], fit), rel=1e-9)


def test_no_look_ahead() -> None:
    """Changing every close after day t leaves every forecast and margin up to t unchanged."""
    pf = load_portfolios(PORTFOLIOS)
    params = load_params(PARAMS)
    hist = load_history(CSV, ["BTC", "ETH"])
    pf = dataclasses.replace(
        pf, portfolios=tuple(p for p in pf.portfolios if set(p.assets) <= {"BTC", "ETH"})
    )
    cut = hist["BTC"].dates[150]
    changed = {}
    for a, h in hist.items():
        k = h.dates.index(cut)
        closes = h.closes.copy()
        closes[k + 1 :] *= np.linspace(0.5, 1.7, closes.size - k - 1)
        changed[a] = AssetHistory(a, h.dates, closes, np.diff(np.log(closes)), h.gaps)
    runs = []
    for history in (hist, changed):
        walk = Walk(history, pf, params, ApcConfig(), (1,))
        runs.append(walk.run(end=cut))
    for key, s in runs[0].items():
        other = runs[1][key]
        assert s.dates == other.dates and s.dates, key
        assert s.im == other.im, key
        assert s.mm == other.mm, key
    for a in hist:
        k = hist[a].dates.index(cut)
        p0, p1 = vol_paths(hist[a], ApcConfig()), vol_paths(changed[a], ApcConfig())
        for name in ("realised30", "ewma", "garch", "garch_apc", "garch_emir"):
            np.testing.assert_array_equal(getattr(p0, name)[: k + 1], getattr(p1, name)[: k + 1])


def test_apc_tools_lower_the_rise_and_raise_the_calm() -> None:
    h = _synthetic(400)
    sigma = realised_path(h.returns)[31:]
    ret = h.returns[30:]
    calm, storm = slice(0, 150), slice(250, 369)
    weighted = apply_apc(
        sigma, ret, ApcConfig(stress_weight=0.25, floor=False, buffer=None, speed_limit=None)
    )
    assert (weighted >= sigma - 1e-15).all()
    limited = apply_apc(sigma, ret, ApcConfig(stress_weight=None, floor=False, buffer=None, speed_limit=0.05))
    assert (np.diff(limited) <= 0.05 * limited[:-1] + 1e-12).all()
    buffered = apply_apc(
        sigma, ret, ApcConfig(stress_weight=None, floor=False, buffer=0.25, speed_limit=None)
    )
    assert buffered[calm] == pytest.approx(1.25 * sigma[calm])
    assert np.max(buffered[storm] / sigma[storm]) >= 1.0
    with pytest.raises(Exception, match=r"apc\.buffer"):
        ApcConfig(buffer=2.0)

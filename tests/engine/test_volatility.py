"""EWMA and GARCH(1,1) volatility forecasts (engine/calibration/volatility.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine.calibration.calibrate import load_closes_csv, load_closes_table
from engine.calibration.forecast import forecast_vol
from engine.calibration.volatility import (
    ewma_variance,
    ewma_vol,
    garch_fit_returns,
    garch_vol,
    log_returns,
)
from engine.errors import InputError

EXCERPT = Path(__file__).resolve().parents[2] / "examples" / "data" / "closes-excerpt.csv"


def _closes(returns: np.ndarray, start: float = 100.0) -> list[float]:
    return list(start * np.exp(np.concatenate(([0.0], np.cumsum(returns)))))


def _simulate_garch(n: int, omega: float, alpha: float, beta: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    r = np.empty(n)
    v = omega / (1.0 - alpha - beta)
    for t in range(n):
        r[t] = math.sqrt(v) * z[t]
        v = omega + alpha * r[t] ** 2 + beta * v
    return r


def test_ewma_of_constant_squared_returns() -> None:
    r = np.array([0.03, -0.03] * 50)
    assert ewma_vol(_closes(r)) == pytest.approx(0.03 * math.sqrt(365), rel=1e-12)


def test_ewma_recursion_matches_a_loop() -> None:
    r = np.random.default_rng(5).normal(0.0, 0.02, 300)
    v = float(np.mean(r[:30] ** 2))
    for x in r:
        v = 0.94 * v + 0.06 * x * x
    assert ewma_variance(r, 0.94) == pytest.approx(v, rel=1e-12)
    # A recent shock moves the EWMA forecast up.
    shocked = np.concatenate((r, [0.2]))
    assert ewma_variance(shocked) > ewma_variance(r)


@pytest.mark.parametrize("seed", [11, 12])
def test_garch_recovers_simulated_parameters(seed: int) -> None:
    omega, alpha, beta = 2e-5, 0.10, 0.85
    fit = garch_vol(_closes(_simulate_garch(4000, omega, alpha, beta, seed)))
    assert fit.converged
    assert fit.alpha == pytest.approx(alpha, abs=0.04)
    assert fit.beta == pytest.approx(beta, abs=0.06)
    assert fit.persistence == pytest.approx(alpha + beta, abs=0.03)
    assert fit.long_run_vol == pytest.approx(math.sqrt(365 * omega / (1 - alpha - beta)), rel=0.25)


def test_garch_respects_constraints_and_forecasts_one_day_ahead() -> None:
    r = np.random.default_rng(2).normal(0.0, 0.01, 500)  # i.i.d.: no clustering to find
    fit = garch_vol(_closes(r))
    assert fit.alpha >= 0 and fit.beta >= 0 and fit.alpha + fit.beta < 1
    assert fit.omega > 0
    assert 0.5 * 0.01 * math.sqrt(365) < fit.forecast < 2 * 0.01 * math.sqrt(365)


def test_forecast_is_the_larger_model() -> None:
    """On a re-estimation date (the 30th close, then every 20th) the forecast is the larger
    of EWMA and a GARCH fit on every return to date."""
    closes = _closes(_simulate_garch(609, 5e-5, 0.15, 0.8, 4))  # 610 closes: 30 + 29 x 20
    expected = max(ewma_vol(closes), garch_vol(closes).forecast)
    assert forecast_vol(closes) == pytest.approx(expected, rel=1e-12)


def test_between_refits_the_latest_fit_is_filtered() -> None:
    """Five closes after a re-estimation, GARCH keeps that date's parameters and filters
    its variance through the five new returns (monthly re-estimation, daily update)."""
    from engine.calibration.forecast import asset_forecast

    closes = _closes(_simulate_garch(614, 5e-5, 0.15, 0.8, 4))
    fit = garch_vol(closes[:610])
    v = fit.forecast**2 / 365.0
    for r in log_returns(closes)[-5:]:
        v = fit.omega + fit.alpha * r * r + fit.beta * v
    got = asset_forecast(closes)
    assert (got.garch.alpha, got.garch.beta) == (fit.alpha, fit.beta)
    assert got.garch.forecast == pytest.approx(math.sqrt(365.0 * v), rel=1e-12)
    assert got.forecast == pytest.approx(max(ewma_vol(closes), got.garch.forecast), rel=1e-12)


def test_real_2022_forecasts_are_sane() -> None:
    closes = load_closes_csv(EXCERPT)
    btc = closes["BTC"]
    assert 0.3 < ewma_vol(btc) < 1.5
    fit = garch_vol(btc)
    assert 0.3 < fit.forecast < 1.5 and fit.alpha + fit.beta < 1
    assert 0.3 < forecast_vol(btc) < 1.5
    for name, series in closes.items():  # crypto in 2022: between 30 % and 400 % a year
        assert 0.3 < forecast_vol(series) < 4.0, name


def test_bad_closes() -> None:
    with pytest.raises(InputError) as err:
        log_returns([1.0, 2.0, -1.0])
    assert err.value.field == "closes[2]"
    with pytest.raises(InputError) as err:
        garch_vol([1.0 + 0.01 * i for i in range(10)])
    assert err.value.field == "closes" and "30" in err.value.message
    with pytest.raises(InputError):
        ewma_vol([100.0, 101.0, 102.0], lam=1.0)
    with pytest.raises(InputError):
        garch_vol([100.0] * 50)  # all returns zero


# ------------------------------------------------- real data: gaps and short samples

REAL_CSV = Path(__file__).resolve().parents[2] / "examples" / "data" / "crypto-daily-closes.csv"


def _arch_loglik(returns: np.ndarray) -> tuple[float, float]:
    """The `arch` package's GARCH(1,1) optimum (zero mean) on ``returns``: log-likelihood in
    the returns' own units, and alpha (a reference fit, not used by the product)."""
    from arch import arch_model

    fit = arch_model(returns * 100, mean="Zero", vol="GARCH", p=1, q=1, rescale=False).fit(disp="off")
    return float(fit.loglikelihood) + returns.size * math.log(100), float(fit.params["alpha[1]"])


def test_a_short_sample_gives_a_degenerate_fit_and_ewma_is_used() -> None:
    """AVAX's first 110 closes (2020, across its 69-day gap): no clustering to find; the
    fit is flagged degenerate and the forecast falls back to EWMA."""
    table = load_closes_table(REAL_CSV, assets=["AVAX"])
    closes, gaps = table.closes["AVAX"][:110], table.day_gaps[:109]
    assert max(gaps) == 70  # 2020-07-14 to 2020-09-22
    returns = log_returns(closes, day_gaps=gaps)
    fit = garch_fit_returns(returns)
    arch_ll, arch_alpha = _arch_loglik(returns)
    assert fit.degenerate and arch_alpha < 1e-3  # arch finds no clustering either
    assert fit.log_likelihood <= arch_ll + 1e-6
    assert forecast_vol(closes, day_gaps=gaps) == pytest.approx(ewma_vol(closes, day_gaps=gaps), rel=1e-12)


def test_a_longer_sample_matches_the_arch_optimum() -> None:
    table = load_closes_table(REAL_CSV, assets=["BTC"])
    returns = log_returns(table.closes["BTC"][:400])
    fit = garch_fit_returns(returns)
    arch_ll, _ = _arch_loglik(returns)
    assert not fit.degenerate
    # within 2 points: the two start the variance recursion differently (the engine from the
    # sample mean square, arch from a backcast), so their likelihoods differ slightly
    assert fit.log_likelihood == pytest.approx(arch_ll, abs=2.0)


def test_a_return_over_a_gap_is_scaled_to_one_day() -> None:
    closes = [100.0, 110.0, 121.0]
    scaled = log_returns(closes, day_gaps=[1, 4])
    assert scaled[0] == pytest.approx(math.log(1.1))
    assert scaled[1] == pytest.approx(math.log(1.1) / 2)
    with pytest.raises(InputError, match="day_gaps"):
        log_returns(closes, day_gaps=[1])

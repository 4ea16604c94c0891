"""The model-validation statistics and choices: expected shortfall, breach sizes, the 99.5%
sensitivity, the liquidity-horizon rule, the sample split, the z fit and the stresses, each
against a hand-worked answer."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from backtest.history import AssetHistory
from backtest.portfolios import load_portfolios_doc
from backtest.report_figures import headline, summaries
from backtest.report_plots import coverage_axis, model_colour
from backtest.stats import breach_sizes, expected_shortfall, kupiec_pof, summarise, window_breaches
from backtest.validation import (
    DEFAULT_MODEL,
    IN_SAMPLE,
    OUT_OF_SAMPLE,
    SAMPLES,
    asset_horizon,
    portfolio_horizon,
    sample_mask,
)
from backtest.walk import BacktestRun, Series, Walk
from engine.calibration.procyclicality import ApcConfig
from engine.formats import load_params

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "examples" / "backtest" / "params.json"


def test_expected_shortfall_by_hand() -> None:
    # 400 losses 1..400: the worst ceil(400 * 0.025) = 10 are 391..400, mean 395.5
    assert expected_shortfall(np.arange(1, 401)) == pytest.approx(395.5)
    # 100 losses: ceil(2.5) = 3 worst, order does not matter
    loss = [5.0, -1.0, 9.0] + [0.0] * 96 + [7.0]
    assert expected_shortfall(loss) == pytest.approx((9 + 7 + 5) / 3)
    assert expected_shortfall([3.0, 1.0]) == 3.0  # at least one loss
    assert expected_shortfall(np.arange(1, 11), level=0.8) == pytest.approx(9.5)
    with pytest.raises(ValueError):
        expected_shortfall([])


def test_breach_sizes_by_hand() -> None:
    im = [100.0, 100.0, 50.0, 200.0, 0.0]
    loss = [150.0, 90.0, 60.0, 201.0, 5.0]  # breaches: 1.5, 1.2, 1.005; IM 0 is left out
    largest, mean = breach_sizes(im, loss)
    assert largest == pytest.approx(1.5)
    assert mean == pytest.approx((1.5 + 1.2 + 1.005) / 3)
    assert breach_sizes([10.0], [5.0]) == (None, None)


def test_window_breaches_count_only_the_window() -> None:
    days = [dt.date(2022, 5, 1) + dt.timedelta(days=i) for i in range(10)]
    im = [10.0] * 10
    loss = [11.0, 0, 0, 0, 0, 12.0, 25.0, 0, 0, 30.0]
    assert window_breaches(days, im, loss, (days[4], days[8])) == (2, 5, pytest.approx(2.5))
    assert window_breaches(days, im, loss, (dt.date(2023, 1, 1), dt.date(2023, 1, 2))) == (0, 0, None)


def test_the_995_sensitivity_is_kupiec_at_half_a_percent() -> None:
    n = 1000
    days = [dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(n)]
    loss = [0.0] * n
    for i in range(0, 1000, 200):  # 5 breaches: exactly 0.5 %
        loss[i] = 2.0
    s = summarise(days, [1.0] * n, [0.5] * n, loss)
    assert s.kupiec_tail.statistic == pytest.approx(0.0, abs=1e-12)
    assert s.kupiec_tail.p_value == pytest.approx(1.0)
    lr = -2 * (995 * math.log(0.99) + 5 * math.log(0.01) - 995 * math.log(0.995) - 5 * math.log(0.005))
    assert s.kupiec.statistic == pytest.approx(lr)
    assert s.as_dict()["kupiec_995_p"] == pytest.approx(1.0)
    assert s.expected_shortfall == pytest.approx((5 * 2.0 + 20 * 0.0) / 25)


def test_liquidity_horizon_rule() -> None:
    assert [asset_horizon(d) for d in (40e6, 20e6, 19.9e6, 5e6, 4e6, 3e6, 2e6)] == [1, 1, 2, 2, 2, 3, 3]
    depths = {"BTC": 40e6, "ETH": 25e6, "BNB": 5e6, "SOL": 3e6}
    assert portfolio_horizon(["BTC", "ETH"], depths) == 1
    assert portfolio_horizon(["BTC", "BNB"], depths) == 2
    assert portfolio_horizon(["BTC", "BNB", "ETH", "SOL"], depths) == 3
    with pytest.raises(ValueError):
        asset_horizon(0)


def test_the_samples_split_at_the_year_2021() -> None:
    assert IN_SAMPLE[1] + dt.timedelta(days=1) == OUT_OF_SAMPLE[0] == dt.date(2021, 1, 1)
    days = [dt.date(2020, 12, 30), dt.date(2020, 12, 31), dt.date(2021, 1, 1), dt.date(2022, 11, 13)]
    assert sample_mask(days, IN_SAMPLE) == [True, True, False, False]
    assert sample_mask(days, OUT_OF_SAMPLE) == [False, False, True, True]
    assert sample_mask(days, None) == [True] * 4


def _run_with(dates: list[dt.date], im: list[float], loss: list[float]) -> BacktestRun:
    """A run of one model and one portfolio by hand (no walk)."""
    file = load_portfolios_doc(
        {
            "format": "zkmargin/backtest-portfolios@1",
            "assets": {"BTC": {"depth": 4e7, "im_fraction": 0.05, "mm_fraction": 0.03}},
            "portfolios": [{"name": "p", "legs": [{"asset": "BTC", "kind": "spot", "notional": 1}]}],
        }
    )
    s = Series(list(dates), {1: list(im)}, {1: list(im)}, {1: list(loss)})
    return BacktestRun(
        (DEFAULT_MODEL,), (1,), file.portfolios, {(DEFAULT_MODEL, "p"): s}, {}, {}, horizons={"p": 1}
    )


def test_every_statistic_is_split_by_the_margined_day() -> None:
    dates = [dt.date(2020, 12, 1) + dt.timedelta(days=i) for i in range(62)]  # 31 days each side
    loss = [
        2.0 if d in (dt.date(2020, 12, 5), dt.date(2021, 1, 3), dt.date(2021, 1, 4)) else 0.0 for d in dates
    ]
    run = _run_with(dates, [1.0] * 62, loss)
    by = {k: summaries(run, w)[1][DEFAULT_MODEL]["p"] for k, w in SAMPLES.items()}
    assert (by["whole"].days, by["whole"].breaches) == (62, 3)
    assert (by["in_sample"].days, by["in_sample"].breaches) == (31, 1)
    assert (by["out_of_sample"].days, by["out_of_sample"].breaches) == (31, 2)
    assert by["out_of_sample"].kupiec.statistic == pytest.approx(kupiec_pof(2, 31).statistic)
    assert headline(run, summaries(run, OUT_OF_SAMPLE))[DEFAULT_MODEL]["p"].breaches == 2


def test_the_coverage_axis_shows_every_bar() -> None:
    low, high = coverage_axis([89.02, 99.4, 99.7])
    assert low < 89.02 and high > 100
    assert coverage_axis([99.5, 99.9])[0] < 99  # the 99% line stays in view
    assert model_colour("fixed") != model_colour("garch_apc")


def _calm(name: str, n: int = 130, seed: int = 1, start: float = 100.0) -> AssetHistory:
    rng = np.random.default_rng(seed)
    returns = rng.standard_normal(n - 1) * 1e-4  # ~0.2% a year: every scan range at m_min
    closes = start * np.exp(np.concatenate(([0.0], np.cumsum(returns))))
    dates = tuple(dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(n))
    return AssetHistory(name, dates, closes, np.diff(np.log(closes)), ())


def _walk(models: tuple[str, ...] = (DEFAULT_MODEL,)) -> Walk:
    file = load_portfolios_doc(
        {
            "format": "zkmargin/backtest-portfolios@1",
            "assets": {
                "BTC": {"depth": 4e7, "im_fraction": 0.05, "mm_fraction": 0.03},
                "ETH": {"depth": 2.5e7, "im_fraction": 0.05, "mm_fraction": 0.03},
            },
            "portfolios": [
                {"name": "spot", "legs": [{"asset": "BTC", "kind": "spot", "notional": 1e6}]},
                {
                    "name": "pair",
                    "legs": [
                        {"asset": "BTC", "kind": "perp", "notional": 2e6},
                        {"asset": "ETH", "kind": "perp", "notional": -2e6},
                    ],
                },
            ],
        }
    )
    history = {"BTC": _calm("BTC", seed=1, start=30000.0), "ETH": _calm("ETH", seed=2, start=2000.0)}
    return Walk(history, file, load_params(PARAMS), ApcConfig(), (1,), models)


def test_stresses_on_a_calm_synthetic_history() -> None:
    """Both assets at the 5% minimum scan range: the failed hedge loses 2M x 5% with rho* = 0
    and 2M x (5% + 0.5 x 5%) with rho* = -0.5; a joint -50% halves the spot and nets out of
    the pair, a joint +50% is the long spot's gain; perps have no vol risk."""
    from backtest.stresses import day_stresses, run_stresses
    from backtest.walk import MarketDay

    walk = _walk()
    t = walk.history["BTC"].dates[-5]
    day = MarketDay(walk, t, walk.active(t))
    res = day_stresses(walk, day, walk.file.portfolios, DEFAULT_MODEL, {"spot": 1, "pair": 1})
    assert res["spot"]["joint_-50%"] == pytest.approx(500_000, abs=0.05)
    assert res["spot"]["joint_+50%"] == pytest.approx(-500_000, abs=0.05)
    assert res["pair"]["joint_+50%"] == pytest.approx(0, abs=0.05)
    assert res["spot"]["corr_0"] is None and res["spot"]["vol_x3"] == 0
    assert res["pair"]["joint_-50%"] == pytest.approx(0, abs=0.05)
    assert res["pair"]["corr_0"] == pytest.approx(100_000, abs=0.05)
    assert res["pair"]["corr_-0.5"] == pytest.approx(150_000, abs=0.05)
    assert res["pair"]["vol_x3"] == 0
    series = walk.run(start=t, end=t)
    im = series[(DEFAULT_MODEL, "pair")].im[1][0]
    summary = run_stresses(walk, series, DEFAULT_MODEL, {"spot": 1, "pair": 1})
    pair = summary["pair"]["corr_-0.5"]
    assert pair is not None and pair.days == 1 and pair.worst_date == t
    assert pair.worst_ratio == pytest.approx(150_000 / im, rel=1e-6)


def test_fit_z_picks_the_smallest_z_with_every_portfolio_covered() -> None:
    """A stand-in walk whose IM is z x 10 against fixed losses: z = 2.5 is the first grid
    point at which both portfolios breach at most 1% of the 200 in-window days; the days whose
    loss ends after the window do not count, and the params come back unchanged."""
    from backtest.fit_z import fit_z

    walk = _walk()
    window = (dt.date(2020, 1, 1), dt.date(2020, 7, 19))  # 201 days
    dates = [window[0] + dt.timedelta(days=i) for i in range(201)]  # the last one's loss ends after it
    losses = [24.0 if i in (3, 50, 120) else 0.0 for i in range(200)] + [1e9]

    def run(start: dt.date | None = None, end: dt.date | None = None, progress: object = None) -> dict:
        assert (start, end) in (window, later)
        im = [10 * walk.params.row_config.z] * len(dates)
        return {
            (DEFAULT_MODEL, p.name): Series(dates, {1: im}, {1: im}, {1: losses})
            for p in walk.file.portfolios
        }

    original = walk.params
    walk.run = run  # type: ignore[method-assign]
    later = (dt.date(2021, 1, 1), dt.date(2021, 7, 20))
    fit = fit_z(walk, {"spot": 1, "pair": 1}, grid=(3.0, 2.0, 2.25, 2.5), window=window, evaluate=later)
    assert fit["chosen"] == 2.5
    assert fit["table"][0]["breaches"]["spot"] == 3
    assert fit["table"][0]["kupiec_p"]["spot"] == pytest.approx(kupiec_pof(3, 200).p_value)
    assert fit["evaluation"]["z"] == 2.5 and fit["evaluation_window"] == ["2021-01-01", "2021-07-20"]
    assert [row["z"] for row in fit["table"]] == [2.0, 2.25, 2.5, 3.0]
    assert fit["table"][0]["coverage"]["pair"] == pytest.approx(1 - 3 / 200)  # 24 > 20: 3 breaches
    assert fit["table"][1]["coverage"]["pair"] == pytest.approx(1 - 3 / 200)  # 24 > 22.5
    assert fit["table"][2]["coverage"]["pair"] == 1.0
    assert walk.params is original
    with pytest.raises(ValueError, match="garch"):
        fit_z(walk, {"spot": 2, "pair": 1})  # the walk has no MPOR 2


def test_fit_z_also_needs_coverage_at_mpor_2_and_reports_the_worst_year() -> None:
    """Horizon 1 covers at every z; MPOR 2 breaches 3 of 200 days until z = 2.5: the fit
    covers the targets' MPORs too, so it picks 2.5, and the worst year is only evidence."""
    from backtest.fit_z import fit_periods, fit_z

    walk = _walk()
    walk.mpors = (1, 2)
    window = (dt.date(2019, 11, 1), dt.date(2020, 5, 18))  # 200 days
    dates = [window[0] + dt.timedelta(days=i) for i in range(200)]
    calm = [0.0] * 200
    rough = [24.0 if i in (3, 50, 120) else 0.0 for i in range(200)]

    def run(start: dt.date | None = None, end: dt.date | None = None, progress: object = None) -> dict:
        im = [10 * walk.params.row_config.z] * len(dates)
        return {
            (DEFAULT_MODEL, p.name): Series(dates, {1: im, 2: im}, {1: im, 2: im}, {1: calm, 2: rough})
            for p in walk.file.portfolios
        }

    walk.run = run  # type: ignore[method-assign]
    fit = fit_z(walk, {"spot": 1, "pair": 1}, grid=(2.0, 2.5), window=window, evaluate=None)
    assert fit["chosen"] == 2.5
    first = fit["table"][0]
    assert first["coverage"]["spot"] == 1.0  # at the horizon
    assert first["lowest_coverage_any_mpor"]["spot"] == pytest.approx(1 - 3 / 198)  # MPOR 2: 2 days end out
    assert not first["all_at_least_99"]
    assert fit_periods(window) == [window]  # 61 days of 2019 join 2020
    assert fit_periods((dt.date(2018, 1, 1), dt.date(2019, 3, 1))) == [
        (dt.date(2018, 1, 1), dt.date(2018, 12, 31)),
        (dt.date(2019, 1, 1), dt.date(2019, 3, 1)),
    ]

"""Coverage statistics against hand-computed answers."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from backtest.stats import (
    christoffersen,
    crash_change,
    kupiec_pof,
    largest_increase,
    peak_to_trough,
    summarise,
    too_many,
    traffic_light,
    traffic_lights,
    transitions,
)


def test_kupiec_by_hand() -> None:
    # 5 breaches in 250 days at 1%: LR = -2 [245 ln .99 + 5 ln .01 - 245 ln .98 - 5 ln .02]
    lr = -2 * (245 * math.log(0.99) + 5 * math.log(0.01) - 245 * math.log(0.98) - 5 * math.log(0.02))
    result = kupiec_pof(5, 250)
    assert result.statistic == pytest.approx(lr)
    assert result.statistic == pytest.approx(1.9568, abs=1e-4)
    assert result.p_value == pytest.approx(0.1619, abs=1e-3)
    # exactly the expected rate: LR 0, p 1
    assert kupiec_pof(10, 1000).statistic == pytest.approx(0.0, abs=1e-12)
    assert kupiec_pof(10, 1000).p_value == pytest.approx(1.0)
    # no breach at all: LR = -2 n ln(1 - p)
    assert kupiec_pof(0, 500).statistic == pytest.approx(-2 * 500 * math.log(0.99))
    with pytest.raises(ValueError):
        kupiec_pof(3, 0)


def test_too_many_tells_a_low_margin_from_a_conservative_one() -> None:
    assert too_many(30, 1000)  # 3%: rejected, too many
    assert not too_many(0, 1000)  # rejected for too few: conservative
    assert kupiec_pof(0, 1000).rejected()
    assert not too_many(12, 1000)  # not rejected


def test_christoffersen_by_hand() -> None:
    hits = [False] * 10 + [True, True] + [False] * 8
    assert transitions(hits) == (16, 1, 1, 1)
    ind, cc = christoffersen(hits)
    pi0, pi1, pi = 1 / 17, 1 / 2, 2 / 19
    null = 17 * math.log(1 - pi) + 2 * math.log(pi)
    alt = 16 * math.log(1 - pi0) + math.log(pi0) + math.log(1 - pi1) + math.log(pi1)
    assert ind.statistic == pytest.approx(-2 * (null - alt))
    assert cc.statistic == pytest.approx(ind.statistic + kupiec_pof(2, 20).statistic)
    # breaches far apart are independent: a small statistic
    spread = ([True] + [False] * 49) * 4
    assert christoffersen(spread)[0].p_value > 0.5


def test_traffic_light_zones() -> None:
    assert [traffic_light(x) for x in (0, 4, 5, 9, 10, 30)] == [
        "green",
        "green",
        "yellow",
        "yellow",
        "red",
        "red",
    ]
    hits = [True] * 5 + [False] * 245 + [True] * 12 + [False] * 238 + [True] * 3
    assert traffic_lights(hits) == ["yellow", "red"]  # the 3-day tail is not a window


def test_procyclicality_measures() -> None:
    im = [100, 110, 99, 200, 150, 300]
    assert peak_to_trough(im) == pytest.approx(300 / 99)
    assert largest_increase(im, 1) == pytest.approx(200 / 99 - 1)
    assert largest_increase(im, 5) == pytest.approx(2.0)
    assert largest_increase(im, 10) == 0.0
    days = [dt.date(2020, 3, 1) + dt.timedelta(days=i) for i in range(6)]
    assert crash_change(days, im, (days[2], days[4])) == pytest.approx(200 / 99 - 1)
    assert crash_change(days, im, (dt.date(2021, 1, 1), dt.date(2021, 1, 2))) is None


def test_a_synthetic_series_with_a_known_breach_count() -> None:
    n = 400
    days = [dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(n)]
    im = [100.0] * n
    loss = [50.0] * n
    for i in (10, 11, 200, 390):
        loss[i] = 101.0
    loss[300] = 100.0  # equal to IM: not a breach
    s = summarise(days, im, [60.0] * n, loss)
    assert (s.breaches, s.mm_breaches, s.days) == (4, 5, n)
    assert s.coverage == pytest.approx(1 - 4 / n)
    assert s.lights == ("green",)
    assert s.mean_im == 100.0

"""Coverage tests and procyclicality measures of a margin series.

* Kupiec's proportion-of-failures test: ``LR_pof = -2 ln[(1-p)^(n-x) p^x / ((1-x/n)^(n-x) (x/n)^x)]``,
  chi-squared with 1 degree of freedom, for ``x`` breaches in ``n`` days at the expected
  rate ``p`` (0.01 for 99% coverage). The test is two-sided: a margin with far *fewer*
  breaches than 1% (a conservative one) is rejected too; ``too_many`` tells the two apart.
* Christoffersen's independence test on the breach sequence's transitions
  (``n00, n01, n10, n11``), chi-squared(1), and the conditional-coverage test
  ``LR_cc = LR_pof + LR_ind``, chi-squared(2). Distributions from ``scipy.stats``.
* The Basel traffic light per window of 250 days at 99%: green for 0-4 breaches,
  yellow 5-9, red 10 or more.
* Procyclicality of the IM path: peak-to-trough ratio (highest IM over lowest), the
  largest relative IM increase over 1, 5 and 30 days, and the IM change through each
  crash window.
* Tail size: the expected shortfall of the losses at 97.5 % (the mean of the worst
  ``ceil(n * 2.5 %)`` losses) against mean IM, and the size of each breach (loss / IM
  that day: largest and mean over the breaches).
* The same breaches tested at 99.5 % (Kupiec at ``p = 0.005``), a sensitivity.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import chi2

from backtest.validation import ES_LEVEL, P_TAIL

TRAFFIC_WINDOW = 250
GREEN_MAX, YELLOW_MAX = 4, 9
#: Crash windows of the 2017-2022 data: first and last day.
CRASHES: dict[str, tuple[dt.date, dt.date]] = {
    "covid-2020-03": (dt.date(2020, 3, 5), dt.date(2020, 3, 20)),
    "may-2021": (dt.date(2021, 5, 10), dt.date(2021, 5, 25)),
    "luna-2022-05": (dt.date(2022, 5, 5), dt.date(2022, 5, 20)),
    "ftx-2022-11": (dt.date(2022, 11, 6), dt.date(2022, 11, 20)),
}


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float

    def rejected(self, level: float = 0.05) -> bool:
        return self.p_value < level


def too_many(breaches: int, n: int, p: float = 0.01, level: float = 0.05) -> bool:
    """Kupiec rejects at ``level`` *and* the breach rate is above ``p``: the margin is too low
    (a rejection for too few breaches means it is conservative)."""
    return breaches / n > p and kupiec_pof(breaches, n, p).rejected(level)


def kupiec_pof(breaches: int, n: int, p: float = 0.01) -> TestResult:
    """Kupiec's POF likelihood ratio for ``breaches`` in ``n`` days at rate ``p``."""
    if n <= 0 or not 0 <= breaches <= n:
        raise ValueError(f"kupiec_pof: need 0 <= breaches <= n and n > 0, got {breaches}, {n}")
    x = breaches
    phat = x / n
    null = _xlogy(n - x, 1 - p) + _xlogy(x, p)
    alt = _xlogy(n - x, 1 - phat) + _xlogy(x, phat)
    lr = max(0.0, -2.0 * (null - alt))
    return TestResult(lr, float(chi2.sf(lr, 1)))


def transitions(hits: Sequence[bool]) -> tuple[int, int, int, int]:
    """(n00, n01, n10, n11): counts of a day without/with a breach followed by one without/with."""
    h = np.asarray(hits, dtype=bool)
    a, b = h[:-1], h[1:]
    return (
        int(np.sum(~a & ~b)),
        int(np.sum(~a & b)),
        int(np.sum(a & ~b)),
        int(np.sum(a & b)),
    )


def christoffersen(hits: Sequence[bool], p: float = 0.01) -> tuple[TestResult, TestResult]:
    """Christoffersen's independence test and the conditional-coverage test."""
    n00, n01, n10, n11 = transitions(hits)
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11) if n00 + n01 + n10 + n11 else 0.0
    null = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    alt = _xlogy(n00, 1 - pi0) + _xlogy(n01, pi0) + _xlogy(n10, 1 - pi1) + _xlogy(n11, pi1)
    lr_ind = max(0.0, -2.0 * (null - alt))
    ind = TestResult(lr_ind, float(chi2.sf(lr_ind, 1)))
    pof = kupiec_pof(int(np.sum(hits)), len(hits), p)
    lr_cc = pof.statistic + lr_ind
    return ind, TestResult(lr_cc, float(chi2.sf(lr_cc, 2)))


def traffic_light(breaches: int) -> str:
    """Basel zone of a 250-day window at 99%."""
    return "green" if breaches <= GREEN_MAX else "yellow" if breaches <= YELLOW_MAX else "red"


def traffic_lights(hits: Sequence[bool], window: int = TRAFFIC_WINDOW) -> list[str]:
    """Zones of consecutive, non-overlapping windows of ``window`` days (a shorter tail is left out)."""
    h = np.asarray(hits, dtype=bool)
    return [traffic_light(int(h[i : i + window].sum())) for i in range(0, h.size - window + 1, window)]


def largest_increase(im: ArrayLike, days: int) -> float:
    """Largest relative IM increase over ``days`` steps: max of ``im[t + days] / im[t] - 1``."""
    a = np.asarray(im, dtype=np.float64)
    if a.size <= days:
        return 0.0
    base, later = a[:-days], a[days:]
    ok = base > 0
    return float(np.max(later[ok] / base[ok] - 1.0)) if ok.any() else 0.0


def peak_to_trough(im: ArrayLike) -> float:
    a = np.asarray(im, dtype=np.float64)
    positive = a[a > 0]
    return float(positive.max() / positive.min()) if positive.size else 0.0


def crash_change(dates: Sequence[dt.date], im: ArrayLike, window: tuple[dt.date, dt.date]) -> float | None:
    """IM's largest rise within the window relative to its level on the window's first day
    (``max(im in window) / im at start - 1``); None when the window has no days."""
    a = np.asarray(im, dtype=np.float64)
    idx = [i for i, d in enumerate(dates) if window[0] <= d <= window[1]]
    if not idx or a[idx[0]] <= 0:
        return None
    return float(a[idx].max() / a[idx[0]] - 1.0)


def expected_shortfall(loss: ArrayLike, level: float = ES_LEVEL) -> float:
    """Empirical expected shortfall: the mean of the worst ``ceil(n (1 - level))`` losses
    (at least one), so 400 days at 97.5 % average the 10 largest."""
    a = np.sort(np.asarray(loss, dtype=np.float64))[::-1]
    if a.size == 0:
        raise ValueError("expected_shortfall: no losses")
    if not 0 < level < 1:
        raise ValueError(f"expected_shortfall: level must satisfy 0 < level < 1, got {level}")
    k = max(1, math.ceil(round(a.size * (1 - level), 9)))
    return float(a[:k].mean())


def breach_sizes(im: ArrayLike, loss: ArrayLike) -> tuple[float | None, float | None]:
    """Largest and mean loss / IM over the breaches (days with loss > IM > 0); None, None
    without a breach."""
    im_a, loss_a = np.asarray(im, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    hit = (loss_a > im_a) & (im_a > 0)
    if not hit.any():
        return None, None
    ratio = loss_a[hit] / im_a[hit]
    return float(ratio.max()), float(ratio.mean())


def window_breaches(
    dates: Sequence[dt.date], im: ArrayLike, loss: ArrayLike, window: tuple[dt.date, dt.date]
) -> tuple[int, int, float | None]:
    """Breaches, days and the largest loss / IM of the days within the window."""
    idx = [i for i, d in enumerate(dates) if window[0] <= d <= window[1]]
    im_a, loss_a = np.asarray(im, dtype=np.float64)[idx], np.asarray(loss, dtype=np.float64)[idx]
    ok = im_a > 0
    worst = float(np.max(loss_a[ok] / im_a[ok])) if ok.any() else None
    return int(np.sum(loss_a > im_a)), len(idx), worst


@dataclass(frozen=True)
class Summary:
    """Statistics of one model on one portfolio at one MPOR."""

    days: int
    breaches: int
    mm_breaches: int
    coverage: float
    kupiec: TestResult
    independence: TestResult
    conditional: TestResult
    lights: tuple[str, ...]
    mean_im: float
    mean_abs_loss: float
    peak_to_trough: float
    increase_1d: float
    increase_5d: float
    increase_30d: float
    crashes: dict[str, float | None]
    kupiec_tail: TestResult  # the same breaches at P_TAIL (99.5 %)
    expected_shortfall: float
    breach_max: float | None  # loss / IM
    breach_mean: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "days": self.days,
            "breaches": self.breaches,
            "mm_breaches": self.mm_breaches,
            "coverage": self.coverage,
            "kupiec_lr": self.kupiec.statistic,
            "kupiec_p": self.kupiec.p_value,
            "kupiec_too_many": too_many(self.breaches, self.days),
            "independence_lr": self.independence.statistic,
            "independence_p": self.independence.p_value,
            "conditional_lr": self.conditional.statistic,
            "conditional_p": self.conditional.p_value,
            "traffic_lights": list(self.lights),
            "mean_im": self.mean_im,
            "im_over_mean_abs_loss": self.mean_im / self.mean_abs_loss if self.mean_abs_loss else None,
            "peak_to_trough": self.peak_to_trough,
            "largest_increase_1d": self.increase_1d,
            "largest_increase_5d": self.increase_5d,
            "largest_increase_30d": self.increase_30d,
            "crash_im_change": self.crashes,
            "kupiec_995_lr": self.kupiec_tail.statistic,
            "kupiec_995_p": self.kupiec_tail.p_value,
            "kupiec_995_too_many": too_many(self.breaches, self.days, P_TAIL),
            "expected_shortfall_975": self.expected_shortfall,
            "es_over_mean_im": self.expected_shortfall / self.mean_im if self.mean_im else None,
            "breach_loss_over_im_max": self.breach_max,
            "breach_loss_over_im_mean": self.breach_mean,
        }


def summarise(
    dates: Sequence[dt.date], im: ArrayLike, mm: ArrayLike, loss: ArrayLike, p: float = 0.01
) -> Summary:
    im_a, mm_a, loss_a = (np.asarray(x, dtype=np.float64) for x in (im, mm, loss))
    hits = loss_a > im_a
    n = int(hits.size)
    if n == 0:
        raise ValueError("summarise: no days")
    ind, cc = christoffersen(hits.tolist(), p)
    largest, mean = breach_sizes(im_a, loss_a)
    return Summary(
        days=n,
        breaches=int(hits.sum()),
        mm_breaches=int((loss_a > mm_a).sum()),
        coverage=1.0 - float(hits.mean()),
        kupiec=kupiec_pof(int(hits.sum()), n, p),
        independence=ind,
        conditional=cc,
        lights=tuple(traffic_lights(hits.tolist())),
        mean_im=float(im_a.mean()),
        mean_abs_loss=float(np.abs(loss_a).mean()),
        peak_to_trough=peak_to_trough(im_a),
        increase_1d=largest_increase(im_a, 1),
        increase_5d=largest_increase(im_a, 5),
        increase_30d=largest_increase(im_a, 30),
        crashes={name: crash_change(dates, im_a, w) for name, w in CRASHES.items()},
        kupiec_tail=kupiec_pof(int(hits.sum()), n, P_TAIL),
        expected_shortfall=expected_shortfall(loss_a),
        breach_max=largest,
        breach_mean=mean,
    )

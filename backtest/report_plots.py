"""The backtest report's PNG plots: IM against the loss per portfolio (every model, breach
markers in their model's colour), IM through each crash, and coverage and procyclicality
per model (an axis that shows every bar)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backtest.models import MODELS
from backtest.report_figures import Stats, aggregate
from backtest.stats import CRASHES
from backtest.walk import BacktestRun

CRASH_PORTFOLIO = "levered-long-perp-eth"


def model_colour(model: str) -> str:
    """One colour per model, the same in every plot."""
    palette = ("#7f7f7f", "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b")
    return palette[MODELS.index(model) % len(palette)] if model in MODELS else "#17becf"


def coverage_axis(values: Sequence[float], target: float = 99.0) -> tuple[float, float]:
    """A y range (per cent) that shows every bar and the target line: from a little under
    the lowest value (and the target) to just over 100."""
    low = min([target, *values])
    return max(0.0, low - max(1.0, 0.05 * (100.0 - low))), 100.5


def _days(dates: Sequence[dt.date]) -> np.ndarray:
    """Dates as numpy days (what matplotlib's date axis takes)."""
    return np.array(dates, dtype="datetime64[D]")


def plots(run: BacktestRun, stats: Stats, folder: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    def concise(ax: Any) -> None:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=6)  # 5 years: no interval warning
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))

    made: dict[str, str] = {}
    h = run.mpors[0]
    for p in run.portfolios:
        fig, ax = plt.subplots(figsize=(10, 4))
        shown_loss = False
        for m in run.models:
            dates, im, _, loss = run.series[(m, p.name)].arrays(h)
            if not dates:
                continue
            if not shown_loss:
                shown_loss = True
                ax.plot(_days(dates), loss, color="0.75", lw=0.6, label=f"loss over {h} day(s)")
            colour = model_colour(m)
            ax.plot(_days(dates), im, lw=0.9, color=colour, label=f"IM {m}")
            hit = loss > im
            if hit.any():
                ax.scatter(_days(dates)[hit], loss[hit], s=16, marker="x", color=colour, label=f"breach {m}")
        concise(ax)
        ax.set_title(f"{p.name}: IM against the realised {h}-day loss")
        ax.set_ylabel("quote units (USD)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncol=3)
        name = f"im_vs_loss_{p.name}.png"
        fig.tight_layout()
        fig.savefig(folder / name, dpi=90)
        plt.close(fig)
        made[name] = f"{p.name}: IM of each model and the realised loss over {h} day(s); x marks a breach"
    names = [p.name for p in run.portfolios]
    crash_p = CRASH_PORTFOLIO if CRASH_PORTFOLIO in names else names[0]
    rows = (len(CRASHES) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(10, 3 * rows))
    for ax, (crash, (a, b)) in zip(axes.flat, CRASHES.items(), strict=False):
        for model in run.models:
            s = run.series[(model, crash_p)]
            pts = [
                (d, x) for d, x in zip(s.dates, s.im[h], strict=True) if a - dt.timedelta(days=10) <= d <= b
            ]
            if pts and pts[0][1] > 0:
                ax.plot(
                    _days([d for d, _ in pts]),
                    [x / pts[0][1] for _, x in pts],
                    color=model_colour(model),
                    label=model,
                )
        ax.axvspan(np.datetime64(a), np.datetime64(b), color="0.9")
        concise(ax)
        ax.set_title(crash, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(CRASHES) :]:
        ax.set_visible(False)
    if axes.flat[0].get_legend_handles_labels()[0]:
        axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{crash_p}: IM through each crash, relative to 10 days before")
    fig.tight_layout()
    fig.savefig(folder / "crashes.png", dpi=90)
    plt.close(fig)
    made["crashes.png"] = (
        f"IM paths through the crashes ({crash_p}), each model relative to its level 10 days before"
    )
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    models = list(run.models)
    agg = {m: aggregate(list(stats[h][m].values())) for m in models}
    coverage = [100 * agg[m].get("min_coverage", 0) for m in models]
    colours = [model_colour(m) for m in models]
    ax1.bar(models, coverage, color=colours)
    ax1.axhline(99, color="red", lw=0.8)
    ax1.set_ylim(*coverage_axis(coverage))
    for x, v in enumerate(coverage):
        ax1.annotate(f"{v:.2f}", (x, v), ha="center", va="bottom", fontsize=7)
    ax1.set_title(f"lowest coverage over the portfolios, MPOR {h} (%)", fontsize=9)
    ax2.bar(models, [agg[m].get("median_largest_increase_5d", 0) * 100 for m in models], color=colours)
    ax2.set_title("median largest 5-day IM increase (%)", fontsize=9)
    for ax in (ax1, ax2):
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(folder / "coverage_procyclicality.png", dpi=90)
    plt.close(fig)
    made["coverage_procyclicality.png"] = "coverage and procyclicality per model"
    return made

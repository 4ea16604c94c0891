"""The cascade report: ``figures.json`` (a list ``runs``, one entry per run), ``report.md``,
a self-contained ``report.html`` and its PNG plots (price with and without feedback,
liquidations over time, bad debt by model, the sweep as heat maps), written to a new
folder that replaces the output folder only once everything is written (the backtest's
rule, ``backtest.report``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backtest.report_plots import model_colour
from backtest.report_render import Section, Table, markdown, page
from cascade.simulate import RunResult
from engine.fileio import staged_folder

TITLE = "zkmargin liquidation cascades"
FORMAT = "zkmargin/cascade-figures@1"


def _usd(x: float) -> str:
    return f"{x:,.0f}"


def figures(runs: Sequence[tuple[str, RunResult]], setup: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "setup": setup,
        "runs": [{"point": point, **r.figures} for point, r in runs],
    }


def _base(runs: Sequence[tuple[str, RunResult]], point: str = "base") -> dict[tuple[str, str], RunResult]:
    return {(r.window, r.params.model): r for p, r in runs if p == point}


def plots(runs: Sequence[tuple[str, RunResult]], folder: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = _base(runs)
    windows = list(dict.fromkeys(w for w, _ in base))
    models = list(dict.fromkeys(m for _, m in base))
    made: list[tuple[str, str]] = []
    cols = min(2, len(windows))
    rows = (len(windows) + cols - 1) // cols
    for name, key, caption in (
        (
            "price.png",
            "index",
            "venue price index (log change from the first step): exogenous (black, dashed) and with the liquidations' impact, each model",
        ),
        (
            "liquidations.png",
            "liquidated_notional",
            "notional liquidated, cumulative (USD), each model, proof-gated keeper",
        ),
    ):
        fig, axes = plt.subplots(rows, cols, figsize=(10, 3.2 * rows), squeeze=False)
        for ax, w in zip(axes.flat, windows, strict=False):
            for m in models:
                r = base[(w, m)]
                hours = np.asarray(r.steps["hours"]) / 24.0
                if key == "index":
                    ax.plot(hours, r.steps["index_exo"], color="black", lw=1.2, ls="--")
                    ax.plot(hours, r.steps["index"], color=model_colour(m), lw=0.9, label=m)
                else:
                    ax.plot(hours, np.cumsum(r.steps[key]), color=model_colour(m), lw=0.9, label=m)
            ax.set_title(w, fontsize=9)
            ax.set_xlabel("days", fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in list(axes.flat)[len(windows) :]:
            ax.set_visible(False)
        axes.flat[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / name, dpi=90)
        plt.close(fig)
        made.append((name, caption))
    fig, ax = plt.subplots(figsize=(10, 3.5))
    width = 0.8 / max(1, len(models))
    for j, m in enumerate(models):
        values = [base[(w, m)].figures["bad_debt"] for w in windows]
        ax.bar(np.arange(len(windows)) + j * width, values, width, color=model_colour(m), label=m)
    ax.set_xticks(np.arange(len(windows)) + 0.4 - width / 2, windows, fontsize=8)
    ax.set_ylabel("USD")
    ax.legend(fontsize=7)
    ax.set_title("bad debt by model (proof-gated keeper)", fontsize=9)
    fig.tight_layout()
    fig.savefig(folder / "bad_debt.png", dpi=90)
    plt.close(fig)
    made.append(("bad_debt.png", "bad debt by model and window"))
    points = list(dict.fromkeys(p for p, _ in runs))
    if len(points) > 2:
        made.append(_heat(runs, windows, models, points, folder, plt))
    return made


def _heat(
    runs: Sequence[tuple[str, RunResult]],
    windows: list[str],
    models: list[str],
    points: list[str],
    folder: Path,
    plt: Any,
) -> tuple[str, str]:
    table = {(p, r.window, r.params.model): r.figures for p, r in runs}
    fig, axes = plt.subplots(len(windows), 2, figsize=(12, 2.6 * len(windows)), squeeze=False)
    for row, w in enumerate(windows):
        for col, (key, label) in enumerate(
            (("liquidated_notional", "liquidated, % of opening gross"), ("bad_debt", "bad debt, USD"))
        ):
            gross = {m: max(table[("base", w, m)]["opening_gross"], 1.0) for m in models}
            grid = np.array(
                [
                    [table[(p, w, m)][key] / (gross[m] / 100.0 if col == 0 else 1.0) for p in points]
                    for m in models
                ]
            )
            ax = axes[row, col]
            image = ax.imshow(grid, aspect="auto", cmap="magma_r")
            ax.set_yticks(range(len(models)), models, fontsize=7)
            ax.set_xticks(range(len(points)), points, fontsize=6, rotation=60, ha="right")
            ax.set_title(f"{w}: {label}", fontsize=8)
            fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(folder / "sweep.png", dpi=90)
    plt.close(fig)
    return "sweep.png", "the sweep: each model (rows) at each sweep point (columns), per window"


def sections(
    runs: Sequence[tuple[str, RunResult]], setup: dict[str, Any], images: list[tuple[str, str]]
) -> list[Section]:
    base, instant = _base(runs), _base(runs, "instant")
    head = ["window", "model", "liquidated", "notional liquidated", "bad debt", "insurance draw", "amplification",
            "margin calls", "hours to 95 % liquidated", "mean settle delay (s)", "bad debt if instant", "notional if instant"]  # fmt: skip
    rows = []
    for (w, m), r in base.items():
        f, g = r.figures, instant[(w, m)].figures if (w, m) in instant else None
        rows.append([
            w, m, f"{f['liquidated_accounts']} / {f['accounts']}", _usd(f["liquidated_notional"]), _usd(f["bad_debt"]),
            _usd(f["insurance_draw"]), f"{f['amplification']:.3f}" if f["amplification"] is not None else "-",
            str(f["margin_calls"]), f"{f['hours_to_95pct']:.0f}", f"{f['mean_settle_delay_s']:.1f}",
            _usd(g["bad_debt"]) if g else "-", _usd(g["liquidated_notional"]) if g else "-",
        ])  # fmt: skip
    summary = Section(
        "Runs at the base point",
        [
            "Each window's accounts under each model, the proof-gated keeper against instant settlement. "
            "Amplification is the deepest fall of the venue's price index with the liquidations' impact over the "
            "deepest exogenous fall (log moves; 1 = no feedback).",
            "Setup: " + ", ".join(f"{k} {v}" for k, v in setup.items() if not isinstance(v, dict | list)),
        ],
        [("base point", Table(head, rows))],
        [i for i in images if i[0] != "sweep.png"],
    )
    points = list(dict.fromkeys(p for p, _ in runs))
    sweep = Section("Sweep", [], [], [i for i in images if i[0] == "sweep.png"])
    for w in dict.fromkeys(r.window for _, r in runs):
        t = Table(["model", *points], [])
        for m in dict.fromkeys(r.params.model for _, r in runs):
            cells = {p: r.figures for p, r in runs if r.window == w and r.params.model == m}
            t.rows.append(
                [
                    m,
                    *(
                        f"{cells[p]['liquidated_accounts']} / {_usd(cells[p]['bad_debt'])}"
                        for p in points
                        if p in cells
                    ),
                ]
            )
        sweep.tables.append((f"{w}: accounts liquidated / bad debt (USD)", t))
    return [summary, sweep]


def write_report(
    runs: Sequence[tuple[str, RunResult]],
    setup: dict[str, Any],
    out: Path,
    skill: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write every report file into ``out`` (replacing it) and return the figures; ``skill``
    (``cascade.skill.forecast_skill``) adds the forecast-skill table."""
    with staged_folder(out) as tmp:
        figs = figures(runs, setup)
        if skill is not None:
            figs["forecast_skill"] = skill
        (tmp / "figures.json").write_text(json.dumps(figs, indent=2) + "\n", encoding="utf-8")
        images = plots(runs, tmp)
        secs = sections(runs, setup, images)
        if skill is not None:
            secs.append(_skill_section(skill))
        summary = _summary(runs)
        (tmp / "report.md").write_text(markdown(TITLE, secs, summary), encoding="utf-8")
        (tmp / "report.html").write_text(page(TITLE, summary, secs, tmp), encoding="utf-8")
    return figs


def _summary(runs: Sequence[tuple[str, RunResult]]) -> str:
    base, instant = _base(runs), _base(runs, "instant")
    liq = sum(r.figures["liquidated_accounts"] for r in base.values())
    bad = sum(r.figures["bad_debt"] for r in base.values())
    bad_i = sum(r.figures["bad_debt"] for r in instant.values())
    amp = max((r.figures["amplification"] or 1.0) for r in base.values())
    return (
        f"{len(runs)} runs over {len({r.window for _, r in runs})} windows. At the base point the proof-gated "
        f"keeper liquidated {liq} accounts in all with {_usd(bad)} USD of bad debt ({_usd(bad_i)} USD with "
        f"instant settlement); the largest amplification of the price fall was {amp:.3f}."
    )


def _skill_section(skill: dict[str, Any]) -> Section:
    head = ["model", "QLIKE", "MSE x1e6", "breaches", "rate", "beyond every forecast"]
    tables = []
    for label, caption in (("all", "every day"), ("crash", "the crash windows' days")):
        rows = [
            [m, f"{r[label]['qlike']:.3f}", f"{r[label]['mse_x1e6']:.2f}", str(r[label]["breaches"]),
             f"{100 * r[label]['breach_rate']:.2f}%", f"{100 * r[label]['beyond_share']:.0f}%"]
            for m, r in skill["models"].items()
        ]  # fmt: skip
        tables.append((f"forecast skill, {caption}", Table(head, rows)))
    text = (
        "Each model's charged volatility at a close against the next day's return, pooled over the assets "
        f"({skill['days']} days, {skill['crash_days']} in the crash windows): QLIKE (ln h + r^2/h) and MSE of the "
        f"variance, lower is better; a breach is |r| > {skill['z']:g} forecast standard deviations, and 'beyond "
        "every forecast' is the share of a model's breaches that exceeded every model's forecast of the day before."
    )
    return Section("Forecast skill", [text], tables)

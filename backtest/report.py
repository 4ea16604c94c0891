"""The backtest's report: ``figures.json``, ``report.md``, a self-contained ``report.html``
and the PNG plots, written to a new folder that replaces the output folder only when
everything is written (complete or absent)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import json
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backtest.stats import CRASHES, Summary, summarise, too_many
from backtest.walk import BacktestRun

GARCH_MODELS = ("garch", "garch_apc")
CRASH_PORTFOLIO = "levered-long-perp-eth"


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)
    tables: list[tuple[str, Table]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (file name, caption)


def summaries(run: BacktestRun) -> dict[int, dict[str, dict[str, Summary]]]:
    out: dict[int, dict[str, dict[str, Summary]]] = {}
    for h in run.mpors:
        out[h] = {}
        for m in run.models:
            out[h][m] = {}
            for p in run.portfolios:
                dates, im, mm, loss = run.series[(m, p.name)].arrays(h)
                if dates:
                    out[h][m][p.name] = summarise(dates, im, mm, loss)
    return out


def _days(dates: Sequence[dt.date]) -> np.ndarray:
    """Dates as numpy days (what matplotlib's date axis takes)."""
    return np.array(dates, dtype="datetime64[D]")


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _kupiec_cell(s: Summary) -> str:
    p = _num(s.kupiec.p_value, 3)
    if not s.kupiec.rejected():
        return p
    return f"{p} HIGH" if too_many(s.breaches, s.days) else f"{p} low"


def figures(run: BacktestRun, stats: dict[int, dict[str, dict[str, Summary]]]) -> dict[str, Any]:
    """Everything the report states, as JSON."""
    return {
        "format": "zkmargin/backtest-figures@1",
        "models": list(run.models),
        "mpors": list(run.mpors),
        "portfolios": [p.name for p in run.portfolios],
        "seconds": round(run.seconds, 1),
        "apc": dataclasses.asdict(run.apc),
        "scan_horizon": "h_days = MPOR",
        "garch_refits": {
            a: {"refits": p.refits, "degenerate": p.degenerate_fits} for a, p in run.paths.items()
        },
        "gaps": {
            a: [[x.isoformat(), y.isoformat()] for x, y in h.gaps] for a, h in run.history.items() if h.gaps
        },
        "results": {
            str(h): {m: {p: s.as_dict() for p, s in by_p.items()} for m, by_p in by_m.items()}
            for h, by_m in stats.items()
        },
        "aggregate": {
            str(h): {m: _aggregate(list(by_p.values())) for m, by_p in by_m.items()}
            for h, by_m in stats.items()
        },
    }


def _aggregate(items: Sequence[Summary]) -> dict[str, Any]:
    if not items:
        return {}
    return {
        "min_coverage": min(s.coverage for s in items),
        "portfolios_below_99": sum(s.coverage < 0.99 for s in items),
        "kupiec_rejected_5pct": sum(s.kupiec.rejected() for s in items),
        "kupiec_too_many_5pct": sum(too_many(s.breaches, s.days) for s in items),
        "median_peak_to_trough": float(np.median([s.peak_to_trough for s in items])),
        "median_largest_increase_5d": float(np.median([s.increase_5d for s in items])),
        "mean_im": float(np.mean([s.mean_im for s in items])),
    }


# ------------------------------------------------------------------- plots


def _plots(run: BacktestRun, stats: dict[int, dict[str, dict[str, Summary]]], folder: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    def concise(ax: Any) -> None:
        locator = mdates.AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))

    made: dict[str, str] = {}
    h = run.mpors[0]
    shown = [m for m in ("trailing30", "garch", "garch_apc", "garch_emir", "fixed") if m in run.models]
    for p in run.portfolios:
        fig, ax = plt.subplots(figsize=(10, 4))
        base_dates: list[dt.date] = []
        for m in shown:
            dates, im, _, loss = run.series[(m, p.name)].arrays(h)
            if not dates:
                continue
            if not base_dates:
                base_dates = dates
                ax.plot(_days(dates), loss, color="0.6", lw=0.6, label=f"loss over {h} day(s)")
            ax.plot(_days(dates), im, lw=1.0, label=f"IM {m}")
            hit = loss > im
            if hit.any():
                ax.scatter(_days(dates)[hit], loss[hit], s=14, marker="x", label=f"breach {m}")
        concise(ax)
        ax.set_title(f"{p.name}: IM against the realised {h}-day loss")
        ax.set_ylabel("quote units (USD)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncol=2)
        name = f"im_vs_loss_{p.name}.png"
        fig.tight_layout()
        fig.savefig(folder / name, dpi=90)
        plt.close(fig)
        made[name] = f"{p.name}: IM of each model and the realised loss over {h} day(s); x marks a breach"
    crash_p = (
        CRASH_PORTFOLIO if any(p.name == CRASH_PORTFOLIO for p in run.portfolios) else run.portfolios[0].name
    )
    fig, axes = plt.subplots(2, 2, figsize=(10, 6))
    for ax, (crash, (a, b)) in zip(axes.flat, CRASHES.items(), strict=True):
        for model in run.models:
            s = run.series[(model, crash_p)]
            pts = [
                (d, x) for d, x in zip(s.dates, s.im[h], strict=True) if a - dt.timedelta(days=10) <= d <= b
            ]
            if pts and pts[0][1] > 0:
                ax.plot(_days([d for d, _ in pts]), [x / pts[0][1] for _, x in pts], label=model)
        ax.axvspan(np.datetime64(a), np.datetime64(b), color="0.9")
        concise(ax)
        ax.set_title(crash, fontsize=9)
        ax.tick_params(labelsize=7)
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
    agg = {m: _aggregate(list(stats[h][m].values())) for m in models}
    ax1.bar(models, [100 * agg[m].get("min_coverage", 0) for m in models])
    ax1.axhline(99, color="red", lw=0.8)
    ax1.set_ylim(90, 100.5)
    ax1.set_title(f"lowest coverage over the portfolios, MPOR {h} (%)", fontsize=9)
    ax2.bar(models, [agg[m].get("median_largest_increase_5d", 0) * 100 for m in models])
    ax2.set_title("median largest 5-day IM increase (%)", fontsize=9)
    for ax in (ax1, ax2):
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(folder / "coverage_procyclicality.png", dpi=90)
    plt.close(fig)
    made["coverage_procyclicality.png"] = "coverage and procyclicality per model"
    return made


# --------------------------------------------------------------- sections


def sections(
    run: BacktestRun, stats: dict[int, dict[str, dict[str, Summary]]], images: dict[str, str]
) -> list[Section]:
    method = Section(
        "Method",
        [
            "Walk forward day by day with no look-ahead: on each day the market is built from closes up to "
            "that day only, by the engine's own row builder, and each portfolio is margined by the engine.",
            "Implied volatility is not in the data: the trailing 30-day realised volatility stands in for it "
            "(options are priced with it, and it is every engine model's quote vol, so sigma_eff = max(proxy, "
            "forecast) as in production).",
            "A breach is a day whose loss over the following MPOR days (full revaluation) exceeds IM. "
            "Expected breach rate 1% (99% one-tailed coverage).",
            "Models: fixed (fixed-fraction IM), trailing30 (proxy alone), ewma, garch (today's rule: max of "
            "EWMA and GARCH, EWMA for a degenerate fit), garch_apc (garch through the anti-procyclicality "
            "tools: by default a 10% daily speed limit on the forecast), garch_emir (garch through the "
            "long look-back floor of EMIR art. 28(1)(c) and the same speed limit).",
        ],
    )
    gaps = [f"{a}: {x} to {y}" for a, hist in run.history.items() for x, y in hist.gaps]
    if gaps:
        method.text.append(
            "Returns over gaps in the closes are scaled to one day (divided by the square root of the gap "
            "in days): " + "; ".join(gaps) + "."
        )
    degenerate = {a: p.degenerate_fits for a, p in run.paths.items() if p.degenerate_fits}
    if degenerate:
        method.text.append(
            "Degenerate GARCH fits (alpha < 1e-4) fell back to EWMA: "
            + ", ".join(f"{a} {n} of {run.paths[a].refits} refits" for a, n in degenerate.items())
            + "."
        )
    out = [method]
    for h, by_m in stats.items():
        sec = Section(f"Coverage, MPOR {h} day(s)")
        names = [p.name for p in run.portfolios]
        cov = Table(["model", *names], [])
        kup = Table(["model", *names], [])
        for m, by_p in by_m.items():
            cov.rows.append(
                [
                    m,
                    *[
                        f"{_pct(by_p[n].coverage)} ({by_p[n].breaches}/{by_p[n].days})" if n in by_p else "-"
                        for n in names
                    ],
                ]
            )
            kup.rows.append([m, *[_kupiec_cell(by_p[n]) if n in by_p else "-" for n in names]])
        sec.tables.append(("coverage (breaches / days)", cov))
        sec.tables.append(
            (
                "Kupiec POF p-value (reject below 0.05; 'low' = rejected for too few breaches, "
                "i.e. conservative; 'HIGH' = too many)",
                kup,
            )
        )
        chris = Table(["model", *names], [])
        for m, by_p in by_m.items():
            chris.rows.append(
                [m, *[_num(by_p[n].conditional.p_value, 3) if n in by_p else "-" for n in names]]
            )
        sec.tables.append(("Christoffersen conditional coverage p-value", chris))
        lights = Table(["model", *names], [])
        for m, by_p in by_m.items():
            lights.rows.append([m, *[" ".join(by_p[n].lights) if n in by_p else "-" for n in names]])
        sec.tables.append(("Basel traffic light per 250-day window", lights))
        out.append(sec)
    h = run.mpors[0]
    pro = Section("Procyclicality and cost")
    t = Table(
        [
            "model",
            "portfolio",
            "mean IM",
            "IM / mean |loss|",
            "peak/trough",
            "max 1d rise",
            "max 5d rise",
            "max 30d rise",
        ],
        [],
    )
    for m, by_p in stats[h].items():
        for n, s in by_p.items():
            t.rows.append(
                [
                    m,
                    n,
                    f"{s.mean_im:,.0f}",
                    _num(s.mean_im / s.mean_abs_loss if s.mean_abs_loss else None),
                    _num(s.peak_to_trough),
                    _pct(s.increase_1d),
                    _pct(s.increase_5d),
                    _pct(s.increase_30d),
                ]
            )
    pro.tables.append(("per model and portfolio", t))
    crash = Table(["model", "portfolio", *CRASHES], [])
    for m, by_p in stats[h].items():
        for n, s in by_p.items():
            crash.rows.append([m, n, *[_pct(v) if v is not None else "-" for v in s.crashes.values()]])
    pro.tables.append(("largest IM rise within each crash window, relative to its first day", crash))
    out.append(pro)
    plots = Section("Plots", images=list(images.items()))
    out.append(plots)
    return out


def _markdown(title: str, secs: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for s in secs:
        lines += [f"## {s.title}", ""]
        for p in s.text:
            lines += [p, ""]
        for caption, t in s.tables:
            lines += [f"**{caption}**", "", "| " + " | ".join(t.header) + " |", "|" + "---|" * len(t.header)]
            lines += ["| " + " | ".join(r) + " |" for r in t.rows]
            lines.append("")
        for name, caption in s.images:
            lines += [f"![{caption}]({name})", ""]
    return "\n".join(lines)


def _html(title: str, secs: list[Section], folder: Path) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<link rel='icon' href='data:,'>",  # self-contained: no request for /favicon.ico
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{e(title)}</title><style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}}"
        "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 6px}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for s in secs:
        parts.append(f"<h2>{e(s.title)}</h2>")
        parts += [f"<p>{e(p)}</p>" for p in s.text]
        for caption, t in s.tables:
            parts.append(
                f"<p><b>{e(caption)}</b></p><table><tr>"
                + "".join(f"<th>{e(c)}</th>" for c in t.header)
                + "</tr>"
            )
            parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in t.rows]
            parts.append("</table>")
        for name, caption in s.images:
            data = base64.b64encode((folder / name).read_bytes()).decode("ascii")
            parts.append(
                f"<figure><img alt='{e(caption)}' src='data:image/png;base64,{data}'><figcaption>{e(caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run: BacktestRun, out: Path) -> dict[str, Any]:
    """Write every report file into ``out`` (replacing it) and return the figures."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stats = summaries(run)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        images = _plots(run, stats, tmp)
        figs = figures(run, stats)
        (tmp / "figures.json").write_text(json.dumps(figs, indent=2) + "\n", encoding="utf-8")
        secs = sections(run, stats, images)
        title = "zkmargin margin backtest"
        (tmp / "report.md").write_text(_markdown(title, secs), encoding="utf-8")
        (tmp / "report.html").write_text(_html(title, secs, tmp), encoding="utf-8")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return figs

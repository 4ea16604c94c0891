"""The backtest's report: ``figures.json``, ``breaches.csv``, ``report.md``, a
self-contained ``report.html`` and the PNG plots, written to a new folder that replaces
the output folder only when everything is written (complete or absent).

The parts: statistics and JSON (:mod:`backtest.report_figures`), plots
(:mod:`backtest.report_plots`), sections (:mod:`backtest.report_sections`), Markdown and
HTML (:mod:`backtest.report_render`), the per-day file (:mod:`backtest.breaches`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backtest.breaches import write_breaches
from backtest.report_figures import figures, sample_summaries, summaries
from backtest.report_plots import plots
from backtest.report_render import markdown
from backtest.report_render import page as _html
from backtest.report_sections import sections, summary_paragraph
from backtest.walk import BacktestRun
from engine.fileio import staged_folder

TITLE = "zkmargin margin backtest"
__all__ = ["TITLE", "summaries", "write_report"]


def write_report(run: BacktestRun, out: Path) -> dict[str, Any]:
    """Write every report file into ``out`` (replacing it) and return the figures."""
    samples = sample_summaries(run)
    with staged_folder(out) as tmp:
        images = plots(run, samples["whole"], tmp)
        figs = figures(run, samples)
        figs["summary"] = summary_paragraph(run, samples, figs["targets"])
        figs["breaches_csv_rows"] = write_breaches(run, tmp / "breaches.csv")
        (tmp / "figures.json").write_text(json.dumps(figs, indent=2) + "\n", encoding="utf-8")
        secs = sections(run, samples, figs["targets"], images)
        (tmp / "report.md").write_text(markdown(TITLE, secs, figs["summary"]), encoding="utf-8")
        (tmp / "report.html").write_text(_html(TITLE, figs["summary"], secs, tmp), encoding="utf-8")
    return figs

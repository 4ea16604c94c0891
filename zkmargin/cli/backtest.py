"""zkmargin CLI command: ``backtest`` (the margin models walked forward over real closes)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path

import click

from engine.errors import InputError
from zkmargin.cli.options import IN_FILE
from zkmargin.cli.render import console

DEFAULT_PORTFOLIOS = Path(__file__).resolve().parents[2] / "examples" / "backtest" / "portfolios.json"
DEFAULT_PARAMS = Path(__file__).resolve().parents[2] / "examples" / "backtest" / "params.json"


def _date(option: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(option, f"must be an ISO date YYYY-MM-DD, got {text!r}") from None


@click.command("backtest")
@click.option(
    "--history", "history_path", type=IN_FILE, required=True, help="daily closes CSV (date,<asset>,...)"
)
@click.option(
    "--portfolios",
    "portfolios_path",
    type=IN_FILE,
    default=DEFAULT_PORTFOLIOS,
    show_default=True,
    help="portfolio file (zkmargin/backtest-portfolios@1)",
)
@click.option(
    "--params",
    "params_path",
    type=IN_FILE,
    default=DEFAULT_PARAMS,
    show_default=True,
    help="params file (zkmargin/params@2, ZKPM-2): mm_factor, kappa, row settings",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="report folder (replaced when the backtest succeeds)",
)
@click.option(
    "--mpor",
    "mpors",
    type=click.IntRange(1, 10),
    multiple=True,
    help="margin period of risk in days; repeat for several (default: 1 and 2)",
)
@click.option(
    "--models",
    "models_text",
    default=None,
    help="comma-separated models (default: fixed,trailing30,ewma,garch,garch_apc,garch_emir)",
)
@click.option("--start", "start_text", help="first day margined (ISO date)")
@click.option("--end", "end_text", help="last day margined (ISO date)")
def backtest_cmd(
    history_path: Path,
    portfolios_path: Path,
    params_path: Path,
    out_dir: Path,
    mpors: Sequence[int],
    models_text: str | None,
    start_text: str | None,
    end_text: str | None,
) -> None:
    """Backtest the margin models on real closes: coverage, procyclicality, report.

    Walks every model forward day by day with no look-ahead and reports coverage
    (Kupiec, Christoffersen, traffic light), procyclicality and cost.

    \b
    Example:
      zkmargin backtest --history ../shared/data/crypto-daily-closes.csv --out build/backtest
    """
    from tqdm import tqdm

    from backtest.history import load_history
    from backtest.models import MODELS
    from backtest.portfolios import load_portfolios
    from backtest.report import write_report
    from backtest.walk import BacktestRun, Walk
    from engine.calibration.procyclicality import ApcConfig
    from engine.formats import load_params

    models = tuple(MODELS) if models_text is None else tuple(m.strip() for m in models_text.split(","))
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise InputError(
            "--models", f"unknown model {unknown[0] if unknown else '(none)'}; known: {', '.join(MODELS)}"
        )
    start, end = _date("--start", start_text), _date("--end", end_text)
    if start and end and end < start:
        raise InputError("--end", f"must not be before --start ({start}), got {end}")
    began = time.perf_counter()
    portfolios = load_portfolios(portfolios_path)
    params = load_params(params_path)
    history = load_history(history_path, list(portfolios.assets))
    # the params' anti-procyclicality tools when it names them, else the default set
    apc = params.row_config.apc or ApcConfig()
    walk = Walk(history, portfolios, params, apc, tuple(sorted(set(mpors))) or (1, 2), models)
    days = walk.calendar(start, end)
    if not days:
        raise InputError("--start", "no day with closes between --start and --end")
    with tqdm(total=len(days), unit="day", desc="backtest", disable=None) as bar:
        series = walk.run(start, end, progress=bar.update)
    run = BacktestRun(models, walk.mpors, portfolios.portfolios, series, walk.paths, history, apc)
    run.seconds = time.perf_counter() - began
    if not any(s.dates for s in series.values()):
        raise InputError(
            "--history", "no day could be margined: too little history for the portfolios' assets"
        )
    figs = write_report(run, out_dir)
    for h, by_model in figs["aggregate"].items():
        for m, agg in by_model.items():
            if agg:
                console.print(
                    f"MPOR {h} {m:<11} lowest coverage {100 * agg['min_coverage']:.2f}%  "
                    f"Kupiec rejected {agg['kupiec_rejected_5pct']} "
                    f"(too many breaches {agg['kupiec_too_many_5pct']})  "
                    f"median peak/trough {agg['median_peak_to_trough']:.2f}  "
                    f"median max 5d rise {100 * agg['median_largest_increase_5d']:.1f}%"
                )
    console.print(
        f"wrote [bold]{out_dir}[/bold] (report.html, report.md, figures.json) in {run.seconds:.0f} s"
    )

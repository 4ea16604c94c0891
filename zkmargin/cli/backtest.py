"""zkmargin CLI command: ``backtest`` (the margin models walked forward over real closes)."""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path

import click

from backtest.validation import DEFAULT_MODEL, IN_SAMPLE, OUT_OF_SAMPLE, SENSITIVITY_MPORS
from engine.errors import InputError
from zkmargin.cli.options import EXAMPLE_PARAMS, EXAMPLE_PORTFOLIOS, IN_FILE, comma_names
from zkmargin.cli.render import console


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
    default=EXAMPLE_PORTFOLIOS,
    show_default=True,
    help="portfolio file (zkmargin/backtest-portfolios@1)",
)
@click.option(
    "--params",
    "params_path",
    type=IN_FILE,
    default=EXAMPLE_PARAMS,
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
    help="margin period of risk in days; repeat for several (default: "
    + ", ".join(map(str, SENSITIVITY_MPORS))
    + "); each portfolio's liquidity horizon is always added",
)
@click.option(
    "--models",
    "models_text",
    default=None,
    help=f"comma-separated models (default: all; the default model is {DEFAULT_MODEL})",
)
@click.option(
    "--stress-every",
    type=click.IntRange(0, 10_000),
    default=1,
    show_default=True,
    help="run the hypothetical stresses on every N-th margined day (0: none)",
)
@click.option(
    "--fit-z",
    is_flag=True,
    help=f"also fit z on the in-sample window ({DEFAULT_MODEL}, smallest z on 2.0..3.5 with every "
    "portfolio >= 99%% at its liquidity horizon) and report the evidence",
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
    stress_every: int,
    fit_z: bool,
) -> None:
    """Backtest the margin models on real closes: coverage, procyclicality, report.

    Walks every model forward day by day with no look-ahead and reports coverage
    (Kupiec, Christoffersen, traffic light) at each portfolio's liquidity horizon, in
    sample and out of sample, expected shortfall and breach sizes, hypothetical stresses,
    procyclicality and cost; breaches.csv holds every day's loss and IM.

    \b
    Example:
      zkmargin backtest --history ../shared/data/crypto-daily-closes.csv --out build/backtest
    """
    from tqdm import tqdm

    from backtest.fit_z import FIT_MPORS
    from backtest.fit_z import fit_z as fit_z_on
    from backtest.history import load_history
    from backtest.models import MODELS
    from backtest.portfolios import load_portfolios
    from backtest.report import write_report
    from backtest.stresses import run_stresses
    from backtest.validation import asset_horizon, portfolio_horizon
    from backtest.walk import BacktestRun, Walk
    from engine.calibration.procyclicality import ApcConfig
    from engine.formats import load_params

    models = comma_names("--models", models_text, tuple(MODELS), tuple(MODELS), noun="model")
    if fit_z and DEFAULT_MODEL not in models:
        raise InputError("--fit-z", f"needs the default model {DEFAULT_MODEL} in --models")
    start, end = _date("--start", start_text), _date("--end", end_text)
    if start and end and end < start:
        raise InputError("--end", f"must not be before --start ({start}), got {end}")
    # --fit-z fits on the in-sample part of --start..--end and evaluates on the rest
    fit_window = (max(IN_SAMPLE[0], start or IN_SAMPLE[0]), min(IN_SAMPLE[1], end or IN_SAMPLE[1]))
    later = (max(OUT_OF_SAMPLE[0], start or OUT_OF_SAMPLE[0]), min(OUT_OF_SAMPLE[1], end or OUT_OF_SAMPLE[1]))
    evaluate = later if later[0] <= later[1] else None
    if fit_z and fit_window[1] < fit_window[0]:
        raise InputError("--fit-z", f"needs days in the in-sample window {IN_SAMPLE[0]}..{IN_SAMPLE[1]}")
    began = time.perf_counter()
    portfolios = load_portfolios(portfolios_path)
    params = load_params(params_path)
    history = load_history(history_path, list(portfolios.assets))
    # the params' anti-procyclicality tools when it names them, else the default set
    apc = params.row_config.apc or ApcConfig()
    depths = {a: s.depth for a, s in portfolios.assets.items()}
    asset_horizons = {a: asset_horizon(d) for a, d in depths.items()}
    horizons = {p.name: portfolio_horizon(p.assets, depths) for p in portfolios.portfolios}
    chosen = set(mpors) or set(SENSITIVITY_MPORS)
    walk = Walk(history, portfolios, params, apc, tuple(sorted(chosen | set(horizons.values()))), models)
    days = walk.calendar(start, end)
    if not days:
        raise InputError("--start", "no day with closes between --start and --end")
    with tqdm(total=len(days), unit="day", desc="backtest", disable=None) as bar:
        series = walk.run(start, end, progress=bar.update)
    if not any(s.dates for s in series.values()):
        raise InputError(
            "--history", "no day could be margined: too little history for the portfolios' assets"
        )
    run = BacktestRun(models, walk.mpors, portfolios.portfolios, series, walk.paths, history, apc)
    run.horizons, run.asset_horizons, run.z = horizons, asset_horizons, params.row_config.z
    if stress_every and DEFAULT_MODEL in models:
        run.stresses = run_stresses(walk, series, DEFAULT_MODEL, horizons, every=stress_every)
    run.seconds = time.perf_counter() - began  # the backtest itself; the z fit is timed apart
    if fit_z:
        fit_began = time.perf_counter()
        fit_walk = copy.copy(walk)  # the same forecast paths, one model at the MPORs the fit covers
        fit_walk.models = (DEFAULT_MODEL,)
        fit_walk.mpors = tuple(sorted(set(horizons.values()) | set(FIT_MPORS)))
        run.z_fit = fit_z_on(fit_walk, horizons, window=fit_window, evaluate=evaluate)
        run.z_fit["seconds"] = round(time.perf_counter() - fit_began, 1)
        console.print(f"fitted z on the in-sample window: {run.z_fit['chosen']}")
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
        f"wrote [bold]{out_dir}[/bold] (report.html, report.md, figures.json, breaches.csv) "
        f"in {run.seconds:.0f} s; default model {DEFAULT_MODEL}"
    )

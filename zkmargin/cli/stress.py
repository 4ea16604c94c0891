"""zkmargin CLI group ``stress``: ``stress cascade`` (liquidation cascades through a crash)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from engine.errors import InputError
from zkmargin.cli.options import (
    EXAMPLE_HISTORY,
    EXAMPLE_PARAMS,
    EXAMPLE_PORTFOLIOS,
    IN_FILE,
    BoundedFloat,
    BoundedInt,
    comma_names,
)
from zkmargin.cli.render import console


@click.group("stress")
def stress_group() -> None:
    """Stress tests of the venue: liquidation cascades through a crash.

    \b
    Example:
      zkmargin stress cascade --out build/cascade
    """


@stress_group.command("cascade")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="report folder (replaced when every run is written)",
)
@click.option(
    "--history",
    "history_path",
    type=IN_FILE,
    default=EXAMPLE_HISTORY,
    show_default=True,
    help="daily closes CSV (date,<asset>,...)",
)
@click.option(
    "--portfolios",
    "portfolios_path",
    type=IN_FILE,
    default=EXAMPLE_PORTFOLIOS,
    show_default=True,
    help="backtest portfolio file: each asset's book depth D_a and the fixed model's rates",
)
@click.option(
    "--params",
    "params_path",
    type=IN_FILE,
    default=EXAMPLE_PARAMS,
    show_default=True,
    help="params file (zkmargin/params@2): mm_factor, kappa, row settings",
)
@click.option(
    "--accounts",
    "count",
    type=BoundedInt(10, 100_001, "10 <= accounts <= 100,000"),
    default=10_000,
    show_default=True,
    help="accounts generated per window",
)
@click.option(
    "--accounts-file",
    type=IN_FILE,
    default=None,
    help="accounts to use instead (zkmargin/cascade-accounts@1: equity and legs)",
)
@click.option("--seed", type=BoundedInt(0, 2**32, "0 <= seed < 2**32"), default=1, show_default=True)
@click.option(
    "--median-notional",
    type=BoundedFloat(1.0, 1e9, unit="USD"),
    default=20_000.0,
    show_default=True,
    help="median gross notional of a generated account",
)
@click.option(
    "--windows",
    "windows_text",
    default=None,
    help="comma-separated crash windows (default: all four; 'shock' with --shock)",
)
@click.option(
    "--shock",
    type=BoundedFloat(-0.95, 1.0),
    default=None,
    help="also a hypothetical joint move of every asset (e.g. -0.3) after the last close",
)
@click.option(
    "--shock-days",
    type=BoundedInt(1, 31, "1 <= days <= 30"),
    default=1,
    show_default=True,
    help="days the hypothetical move is spread over",
)
@click.option("--models", "models_text", default=None, help="comma-separated models (default: all six)")
@click.option(
    "--sweep",
    type=click.Choice(["base", "default"]),
    default="default",
    show_default=True,
    help="base: the base point and instant settlement; default: one parameter at a time",
)
@click.option(
    "--steps-per-day", type=BoundedInt(1, 1441, "1 <= steps <= 1440"), default=24, show_default=True
)
@click.option(
    "--bridge-vol",
    type=BoundedFloat(0.0, 5.0),
    default=0.0,
    show_default=True,
    help="intraday Brownian-bridge noise, in daily volatilities (0: log-linear between closes)",
)
@click.option(
    "--impact", "impact_law", type=click.Choice(["sqrt", "linear"]), default="sqrt", show_default=True
)
@click.option(
    "--impact-y",
    type=BoundedFloat(0.0, 10.0),
    default=1.0,
    show_default=True,
    help="Y of the square-root law",
)
@click.option(
    "--impact-lambda",
    type=BoundedFloat(0.0, 100.0),
    default=None,
    help="lambda of the linear law (default: 2 kappa_a, the liquidity add-on's own)",
)
@click.option(
    "--half-life",
    "half_life_h",
    type=BoundedFloat(0.01, 1e4, unit="hours"),
    default=6.0,
    show_default=True,
    help="half-life of the price impact",
)
@click.option(
    "--depth-factor",
    type=BoundedFloat(0.01, 100.0),
    default=1.0,
    show_default=True,
    help="book depth D_a times this, for the add-on and the impact",
)
@click.option(
    "--latency",
    "latency_s",
    type=BoundedFloat(0.0, 3600.0, unit="seconds"),
    default=None,
    help="seconds from a batch's start to its settlement [default: the crash drill's 6.3]",
)
@click.option(
    "--k",
    "k",
    type=BoundedInt(1, 1025, "1 <= K <= 1024"),
    default=8,
    show_default=True,
    help="accounts per proof",
)
@click.option(
    "--proofs-per-s",
    type=BoundedFloat(1e-4, 1e4, unit="proofs per second"),
    default=0.317,
    show_default=True,
    help="the keeper's proving throughput",
)
@click.option(
    "--topup-share",
    type=BoundedFloat(0.0, 1.0),
    default=0.3,
    show_default=True,
    help="share of accounts that top up a margin call",
)
@click.option(
    "--reduce-share",
    type=BoundedFloat(0.0, 1.0),
    default=0.3,
    show_default=True,
    help="share that cuts its positions instead (the rest ignore the call)",
)
@click.option(
    "--restore",
    type=BoundedFloat(0.0, 10.0),
    default=0.2,
    show_default=True,
    help="a call is answered up to (1 + restore) x IM",
)
@click.option(
    "--fund-share",
    type=BoundedFloat(0.0, 1.0),
    default=0.01,
    show_default=True,
    help="insurance fund, as a share of the accounts' opening equity",
)
def cascade_cmd(out_dir: Path, history_path: Path, portfolios_path: Path, params_path: Path, count: int,
                accounts_file: Path | None, seed: int, median_notional: float, windows_text: str | None,
                shock: float | None, shock_days: int, models_text: str | None, sweep: str, steps_per_day: int,
                bridge_vol: float, impact_law: str, impact_y: float, impact_lambda: float | None,
                half_life_h: float, depth_factor: float, latency_s: float | None, k: int, proofs_per_s: float,
                topup_share: float, reduce_share: float, restore: float, fund_share: float) -> None:  # fmt: skip
    """Liquidation cascades: the venue's accounts through a crash, liquidations moving prices.

    Every step the engine margins every account under each model; accounts below MM are
    liquidated by a proof-gated keeper (against instant settlement) into books of depth
    D_a whose price impact moves the next step; the report compares the models over the
    crash windows and the sweep (report.html, report.md, figures.json).

    \b
    Example:
      zkmargin stress cascade --accounts 2000 --sweep base --out build/cascade
    """
    from tqdm import tqdm

    from backtest.history import load_history
    from backtest.models import MODELS
    from backtest.portfolios import load_portfolios
    from backtest.stats import CRASHES
    from backtest.walk import Walk
    from cascade.keeper import DRILL_LATENCY_S
    from cascade.prices import with_shock
    from cascade.report import write_report
    from cascade.simulate import CascadeParams
    from cascade.skill import SKILL_MODELS, forecast_skill
    from cascade.sweep import SHOCK, SWEEPS, populations_for, run_grid, window_path
    from engine.calibration.procyclicality import ApcConfig
    from engine.formats import load_params

    if topup_share + reduce_share > 1.0:
        raise InputError(
            "--reduce-share",
            f"--topup-share + --reduce-share must be <= 1, got {topup_share + reduce_share:g}",
        )
    known = (*CRASHES, SHOCK)
    windows = comma_names(
        "--windows", windows_text, known, tuple(CRASHES) + ((SHOCK,) if shock is not None else ())
    )
    if SHOCK in windows and shock is None:
        raise InputError("--windows", "the shock window needs --shock")
    models = comma_names("--models", models_text, tuple(MODELS), tuple(MODELS))
    began = time.perf_counter()
    portfolios = load_portfolios(portfolios_path)
    params = load_params(params_path)
    history = load_history(history_path, list(portfolios.assets))
    spans = {w: CRASHES[w] for w in windows if w != SHOCK}
    if shock is not None:
        history, first, last = with_shock(history, shock, shock_days)
        spans[SHOCK] = (first, last)
    console.print("fitting the models' forecast paths ...")
    walk = Walk(history, portfolios, params, params.row_config.apc or ApcConfig(), (1,), models)
    paths = [
        window_path(walk, history, w, a, b, steps_per_day, bridge_vol, seed) for w, (a, b) in spans.items()
    ]
    populations = populations_for(paths, count, seed, median_notional, accounts_file)
    base = CascadeParams(
        depth_factor=depth_factor, impact_law=impact_law, impact_y=impact_y, impact_lambda=impact_lambda,
        half_life_h=half_life_h, latency_s=DRILL_LATENCY_S if latency_s is None else latency_s, k=k,
        proofs_per_s=proofs_per_s, topup_share=topup_share, reduce_share=reduce_share, restore=restore,
        fund_share=fund_share,
    )  # fmt: skip
    points = SWEEPS[sweep]
    with tqdm(total=len(paths) * len(models) * len(points), unit="run", desc="cascade", disable=None) as bar:
        runs = run_grid(walk, paths, populations, models, points, base, progress=bar.update)
    seconds = time.perf_counter() - began
    setup = {
        "accounts": count if accounts_file is None else str(accounts_file), "seed": seed,
        "steps_per_day": steps_per_day, "bridge_vol": bridge_vol, "impact": impact_law, "impact_y": impact_y,
        "impact_lambda": impact_lambda if impact_lambda is not None else "2 kappa_a", "half_life_h": half_life_h,
        "depth_factor": depth_factor, "latency_s": base.latency_s, "K": k, "proofs_per_s": proofs_per_s,
        "topup_share": topup_share, "reduce_share": reduce_share, "restore": restore, "fund_share": fund_share,
        "median_notional": median_notional, "sweep": sweep, "windows": list(spans), "models": list(models),
        "seconds": round(seconds, 1),
    }  # fmt: skip
    skill_models = [m for m in models if m in SKILL_MODELS]
    skill = forecast_skill(walk, params.row_config.z, skill_models) if skill_models else None
    write_report(runs, setup, out_dir, skill)
    for point, r in runs:
        if point == "base":
            f = r.figures
            console.print(
                f"{f['window']:<13} {f['model']:<11} liquidated {f['liquidated_accounts']:>6} "
                f"notional {f['liquidated_notional']:>14,.0f}  bad debt {f['bad_debt']:>12,.0f}  "
                f"amplification {f['amplification'] or 1.0:.3f}"
            )
    console.print(f"wrote [bold]{out_dir}[/bold] (report.html, report.md, figures.json) in {seconds:.0f} s")

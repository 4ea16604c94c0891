"""The backtest report's summary paragraph and sections (tables and text), from the
statistics of :mod:`backtest.report_figures`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from backtest.report_figures import Stats, crash_breaches, headline
from backtest.report_render import Section, Table
from backtest.stats import CRASHES, Summary, too_many
from backtest.stresses import STRESSES
from backtest.validation import DEFAULT_MODEL, IN_SAMPLE, OUT_OF_SAMPLE, P_TAIL, SAMPLES
from backtest.walk import BacktestRun

SAMPLE_LABELS = {
    "whole": "whole",
    "in_sample": f"in sample {IN_SAMPLE[0]:%Y-%m}..{IN_SAMPLE[1]:%Y-%m}",
    "out_of_sample": f"out of sample {OUT_OF_SAMPLE[0]:%Y-%m}..{OUT_OF_SAMPLE[1]:%Y-%m}",
}
TARGET_NAMES = {
    "coverage_99": "every portfolio at or above 99% coverage in and out of sample (MPOR 1 and 2)",
    "kupiec_6_of_8": "Kupiec not rejected for at least three quarters of the portfolios (the issue: 6 of 8)",
    "pair_im_over_var99": "BTC/ETH pair's mean IM at most 1.5x its 99% one-day loss",
    "rise_5d_at_or_below_trailing30": "largest 5-day IM rise at or below trailing30's on every portfolio",
    "mean_im_within_15pct_of_trailing30": "mean IM at most 15% above trailing30's",
    "runtime_2_minutes": "the whole backtest within 2 minutes",
}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def kupiec_cell(s: Summary, p: float = 0.01) -> str:
    result = s.kupiec if p == 0.01 else s.kupiec_tail
    text = _num(result.p_value, 3)
    if not result.rejected():
        return text
    return f"{text} HIGH" if too_many(s.breaches, s.days, p) else f"{text} low"


def _cov(s: Summary | None) -> str:
    return "-" if s is None else f"{_pct(s.coverage)} ({s.breaches}/{s.days})"


def summary_paragraph(run: BacktestRun, samples: dict[str, Stats], targets: dict[str, Any]) -> str:
    """The paragraph that opens the report: the default model, its coverage in and out of
    sample at the liquidity horizon, and each target met or not."""
    m = DEFAULT_MODEL
    tools = ", ".join(
        f"{k.replace('_', ' ')} {v:g}" if isinstance(v, float) else k.replace("_", " ")
        for k, v in dataclasses.asdict(run.apc).items()
        if v and not (k == "stress_ratio" and run.apc.buffer is None)
    )
    parts = [f"The default model is {m} (z = {run.z:g}; anti-procyclicality tools: {tools or 'none'})."]
    if m in run.models:
        lows = []
        for name in ("in_sample", "out_of_sample"):
            head = headline(run, samples[name]).get(m, {})
            if head:
                low = min(head.values(), key=lambda s: s.coverage)
                passed = sum(not s.kupiec.rejected() for s in head.values())
                lows.append(
                    f"{SAMPLE_LABELS[name]}: lowest coverage {_pct(low.coverage)}, "
                    f"Kupiec not rejected on {passed} of {len(head)}"
                )
        if lows:
            parts.append("At each portfolio's liquidity horizon, " + "; ".join(lows) + ".")
    checks = [
        f"{TARGET_NAMES[k]}: {'met' if v['met'] else 'NOT met'}"
        for k, v in targets.items()
        if k in TARGET_NAMES and isinstance(v, dict) and v.get("met") is not None
    ]
    if checks:
        parts.append("Targets: " + "; ".join(checks) + ".")
    return " ".join(parts)


def _method(run: BacktestRun) -> Section:
    sec = Section(
        "Method",
        [
            "Walk forward day by day with no look-ahead: on each day the market is built from closes up to "
            "that day only, by the engine's own row builder, and each portfolio is margined by the engine.",
            "Implied volatility is not in the data: the trailing 30-day realised volatility stands in for it.",
            "A breach is a day whose loss over the following MPOR days (full revaluation) exceeds IM. "
            f"Expected breach rate 1% (99%); the same breaches are also tested at {100 * P_TAIL:g}% (99.5%).",
            "Liquidity horizon: 1 day for an asset of book depth at least 20 M, 2 days from 4 M, 3 days below; "
            "a portfolio's is its longest: "
            + ", ".join(f"{p} {h}d" for p, h in run.horizons.items())
            + ". The headline tables are at that horizon; MPOR 1, 2 and 5 are sensitivities.",
            f"Samples: {SAMPLE_LABELS['in_sample']} (any fitted choice sees only this part) and "
            f"{SAMPLE_LABELS['out_of_sample']}, by the margined day.",
        ],
    )
    gaps = [f"{a}: {x} to {y}" for a, hist in run.history.items() for x, y in hist.gaps]
    if gaps:
        sec.text.append("Returns over gaps are scaled to one day: " + "; ".join(gaps) + ".")
    degenerate = {a: p.degenerate_fits for a, p in run.paths.items() if p.degenerate_fits}
    if degenerate:
        sec.text.append(
            "Degenerate GARCH fits (alpha < 1e-4) fell back to EWMA: "
            + ", ".join(f"{a} {n} of {run.paths[a].refits} refits" for a, n in degenerate.items())
            + "."
        )
    return sec


def _headline(run: BacktestRun, samples: dict[str, Stats]) -> Section:
    sec = Section("Liquidity horizon (headline): in sample and out of sample side by side")
    names = [p.name for p in run.portfolios]
    heads = {k: headline(run, samples[k]) for k in SAMPLES}
    cov = Table(["model", "sample", *names], [])
    kup = Table(["model", "sample", *names], [])
    tail = Table(["model", "sample", *names], [])
    for m in run.models:
        for k in SAMPLES:
            by_p = heads[k].get(m, {})
            cov.rows.append([m, SAMPLE_LABELS[k], *[_cov(by_p.get(n)) for n in names]])
            kup.rows.append(
                [m, SAMPLE_LABELS[k], *[kupiec_cell(by_p[n]) if n in by_p else "-" for n in names]]
            )
            tail.rows.append(
                [m, SAMPLE_LABELS[k], *[kupiec_cell(by_p[n], P_TAIL) if n in by_p else "-" for n in names]]
            )
    sec.tables.append(("coverage (breaches / days) at each portfolio's liquidity horizon", cov))
    sec.tables.append(
        ("Kupiec p at 99% ('low' = rejected for too few breaches, conservative; 'HIGH' = too many)", kup)
    )
    sec.tables.append(("sensitivity: the same breaches tested at 99.5% (Kupiec p at 0.005)", tail))
    es = Table(
        [
            "model",
            "portfolio",
            "sample",
            "ES 97.5% / mean IM",
            "largest breach loss/IM",
            "mean breach loss/IM",
        ],
        [],
    )
    for m in run.models:
        for n in names:
            for k in SAMPLES:
                s = heads[k].get(m, {}).get(n)
                if s is not None:
                    es.rows.append(
                        [
                            m,
                            n,
                            SAMPLE_LABELS[k],
                            _num(s.expected_shortfall / s.mean_im if s.mean_im else None),
                            _num(s.breach_max),
                            _num(s.breach_mean),
                        ]
                    )
    sec.tables.append(("expected shortfall (97.5%) of the losses against mean IM, and breach sizes", es))
    return sec


def _coverage(run: BacktestRun, stats: Stats) -> list[Section]:
    out = []
    names = [p.name for p in run.portfolios]
    for h, by_m in stats.items():
        sec = Section(f"Sensitivity: MPOR {h} day(s), whole history")
        cov = Table(["model", *names], [[m, *[_cov(by_p.get(n)) for n in names]] for m, by_p in by_m.items()])
        kup = Table(
            ["model", *names],
            [[m, *[kupiec_cell(by_p[n]) if n in by_p else "-" for n in names]] for m, by_p in by_m.items()],
        )
        chris = Table(
            ["model", *names],
            [
                [m, *[_num(by_p[n].conditional.p_value, 3) if n in by_p else "-" for n in names]]
                for m, by_p in by_m.items()
            ],
        )
        lights = Table(
            ["model", *names],
            [
                [m, *[" ".join(by_p[n].lights) if n in by_p else "-" for n in names]]
                for m, by_p in by_m.items()
            ],
        )
        es = Table(
            ["model", *names],
            [
                [
                    m,
                    *[
                        _num(by_p[n].expected_shortfall / by_p[n].mean_im) if n in by_p else "-"
                        for n in names
                    ],
                ]
                for m, by_p in by_m.items()
            ],
        )
        sec.tables += [
            ("coverage (breaches / days)", cov),
            ("Kupiec POF p-value (reject below 0.05; 'low' = too few breaches; 'HIGH' = too many)", kup),
            ("Christoffersen conditional coverage p-value", chris),
            ("Basel traffic light per 250-day window", lights),
            ("expected shortfall 97.5% / mean IM", es),
        ]
        out.append(sec)
    return out


def _stresses(run: BacktestRun) -> Section:
    sec = Section(
        f"Hypothetical stresses beyond history ({DEFAULT_MODEL}, IM at the liquidity horizon)",
        [
            "Every margined day: a joint -50% and a joint +50% move of every asset (the long books' and the "
            "short books' crash); the hedge failing (one asset moves by its "
            "scan range, the others by the stressed correlation (0 or -0.5) times theirs, worst leader and "
            "direction); vol x3 (options revalued at three times the implied proxy). Revalued by the engine's "
            "row builder. A ratio above 1 is a stressed loss the IM does not cover."
        ],
    )
    t = Table(
        ["portfolio", *[f"{s}: worst loss / IM (day)" for s in STRESSES], *[f"{s}: mean" for s in STRESSES]],
        [],
    )
    for p, by_s in run.stresses.items():
        worst = [
            f"{r.worst_ratio:.2f} ({r.worst_ratio_date})" if r is not None else "-"
            for r in (by_s.get(s) for s in STRESSES)
        ]
        mean = [f"{r.mean_ratio:.2f}" if r is not None else "-" for r in (by_s.get(s) for s in STRESSES)]
        t.rows.append([p, *worst, *mean])
    sec.tables.append(("stressed loss / IM", t))
    return sec


def _pair_crashes(run: BacktestRun) -> Section | None:
    table = crash_breaches(run)
    if not table:
        return None
    sec = Section("The hedged BTC/ETH pair in each crash window")
    for h, by_m in table.items():
        t = Table(["model", *CRASHES], [])
        for m, by_w in by_m.items():
            t.rows.append(
                [
                    m,
                    *[
                        f"{v['breaches']}/{v['days']} (max loss/IM {_num(v['worst_loss_over_im'])})"
                        for v in by_w.values()
                    ],
                ]
            )
        sec.tables.append((f"breaches / days in the window, MPOR {h}", t))
    return sec


def _procyclicality(run: BacktestRun, stats: Stats) -> Section:
    h = run.mpors[0]
    sec = Section(f"Procyclicality and cost, MPOR {h}")
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
    crash = Table(["model", "portfolio", *CRASHES], [])
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
            crash.rows.append([m, n, *[_pct(v) for v in s.crashes.values()]])
    sec.tables.append(("per model and portfolio", t))
    sec.tables.append(("largest IM rise within each crash window, relative to its first day", crash))
    return sec


def _worst_cell(w: dict[str, Any] | None) -> str:
    if not w:
        return "-"
    return f"{_pct(w['coverage'])} ({w['breaches']}/{w['days']}, MPOR {w['mpor']}, {w['period'][0][:4]})"


def _z_fit(run: BacktestRun) -> Section | None:
    fit = run.z_fit
    if fit is None:
        return None
    chosen = fit["chosen"] if fit["chosen"] is not None else "none on the grid"
    periods = ", ".join(f"{a}..{b}" for a, b in fit.get("periods", []))
    sec = Section(
        "Fitting z on the in-sample window",
        [
            f"Grid {fit['grid']}; the rule: the {fit['rule']} ({fit['model']}, {fit['window'][0]}.."
            f"{fit['window'][1]}): z = {chosen}. Each portfolio's worst year ({periods}) is shown as evidence, "
            "not as a criterion: 99% of a year's 360 days allows 3 breaches, and a model breaching exactly "
            "1% of days has 4 or more in about a quarter of its years.",
        ],
    )
    names = [p.name for p in run.portfolios]
    t = Table(["z", "all >= 99%", *names], [])
    rows = [(f"{row['z']:g}", row) for row in fit["table"]]
    if "evaluation" in fit:
        rows.append((f"{fit['chosen']:g}, out of sample {fit['evaluation_window'][0]}..", fit["evaluation"]))
    for label, row in rows:
        t.rows.append(
            [
                label,
                "yes" if row["all_at_least_99"] else "no",
                *[
                    f"{_pct(row['coverage'].get(n))} (Kupiec p {_num(row['kupiec_p'].get(n), 3)})"
                    for n in names
                ],
            ]
        )
    sec.tables.append(
        ("coverage at the liquidity horizon per z, in sample (the last row: evaluated only)", t)
    )
    worst = Table(["z", *names], [])
    for row in fit["table"]:
        if "worst_period" in row:
            worst.rows.append([f"{row['z']:g}", *[_worst_cell(row["worst_period"].get(n)) for n in names]])
    if worst.rows:
        sec.tables.append(("the worst year per z, in sample (coverage, breaches/days, MPOR, year)", worst))
    return sec


def target_figures(key: str, v: dict[str, Any]) -> str:
    """A target's figures in words (``figures.json`` keeps the numbers)."""
    if key == "coverage_99":
        return "lowest: " + ", ".join(f"{k.replace('_', ' ')} {_pct(c)}" for k, c in v["lowest"].items())
    if key == "kupiec_6_of_8":
        passed = ", ".join(f"{k} {n} of {v['of']}" for k, n in v["not_rejected"].items())
        return f"not rejected: {passed} (needed: {v.get('needed', 6)})"
    if key == "pair_im_over_var99":
        return f"mean IM {v['mean_im']:,.0f} / 99% one-day loss {v['var99_1d']:,.0f} = {v['ratio']:.2f}x"
    if key == "rise_5d_at_or_below_trailing30":
        above = [f"{k}: {', '.join(ps)}" for k, ps in v["portfolios_above"].items() if ps]
        return "above trailing30: " + ("; ".join(above) if above else "none")
    if key == "mean_im_within_15pct_of_trailing30":
        return "mean IM / trailing30's: " + ", ".join(
            f"{k} {r:.3f}" if r is not None else f"{k} -" for k, r in v["ratio"].items()
        )
    if key == "runtime_2_minutes":
        return f"{v['seconds']:g} s"
    return str({a: b for a, b in v.items() if a != "met"})


def _targets(targets: dict[str, Any]) -> Section:
    t = Table(["target", "figures", "met"], [])
    for k, name in TARGET_NAMES.items():
        v = targets.get(k)
        if isinstance(v, dict):
            t.rows.append(
                [name, target_figures(k, v), "-" if v.get("met") is None else ("yes" if v["met"] else "NO")]
            )
    return Section(f"Targets ({targets.get('model')})", tables=[("the issue's targets", t)])


def sections(
    run: BacktestRun, samples: dict[str, Stats], targets: dict[str, Any], images: dict[str, str]
) -> list[Section]:
    out = [_targets(targets), _method(run), _headline(run, samples)]
    out += [s for s in (_pair_crashes(run), _z_fit(run)) if s is not None]
    if run.stresses:
        out.append(_stresses(run))
    out += _coverage(run, samples["whole"])
    out.append(_procyclicality(run, samples["whole"]))
    out.append(Section("Plots", images=list(images.items())))
    return out

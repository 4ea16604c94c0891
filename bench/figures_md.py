"""Render the document of ``bench.run_all`` as markdown tables (bench/results/figures.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _int(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) else "-"


def _num(x: Any, digits: int = 2) -> str:
    return f"{x:,.{digits}f}" if isinstance(x, int | float) else "-"


def _median(prove: Any, key: str) -> Any:
    if isinstance(prove, dict) and isinstance(prove.get(key), dict):
        return prove[key].get("median")
    return None


def machine_section(doc: dict[str, Any]) -> list[str]:
    m = doc["machine"]
    load = ", ".join(str(x) for x in m.get("load_average_at_start", []))
    return [
        f"Measured {m.get('date_utc')} on {m.get('cpus')} CPUs ({m.get('cpu_model')}), "
        f"load average at start {load}; Python {m.get('python')}, node {m.get('node')}, "
        f"snarkjs {m.get('snarkjs', '-')}, {m.get('circom', '-')}. Command: `{doc['command']}`.",
        "",
    ]


def runs_section(doc: dict[str, Any]) -> list[str]:
    rows = [
        [r["name"], "ok" if r["ok"] else f"**FAILED**: {r.get('error', '')}", _num(r["seconds"], 0)]
        for r in doc["runs"]
    ]
    return ["## Runs", "", *_table(["part", "result", "seconds"], rows)]


def engine_section(engine: dict[str, Any] | None) -> list[str]:
    if not engine:
        return []
    rows = [
        ["accounts (all slots held)", _int(engine.get("accounts"))],
        [
            "profile / slots / instruments",
            f"{engine.get('profile')} / {engine.get('slots')} / {engine.get('instruments')}",
        ],
        ["compute_margins (s)", _num(engine.get("compute_margins_s"), 3)],
        ["accounts per second (margins)", _int(engine.get("compute_margins_accounts_per_s"))],
        ["accounts per second (batch + margins)", _int(engine.get("batch_plus_margins_accounts_per_s"))],
        ["single compute_margin (us)", _num((engine.get("compute_margin_single_s") or 0) * 1e6, 0)],
        [
            "mismatches batch vs single",
            f"{engine.get('mismatches')} of {engine.get('checked_against_single')}",
        ],
    ]
    return ["## Engine (vectorised section-3 margins)", "", *_table(["figure", "value"], rows)]


def prover_section(prover: dict[str, Any]) -> list[str]:
    profiles = [name for name, fig in prover.items() if fig]
    if not profiles:
        return []

    def row(label: str, get: Callable[[dict[str, Any]], str]) -> list[str]:
        return [label, *(get(prover[p]) for p in profiles)]

    rows = [
        row("constraints", lambda f: _int(f.get("constraints"))),
        row("ptau power needed", lambda f: str(f.get("ptau_power_needed", "-"))),
        row("compile (s, recorded)", lambda f: _num(f.get("compile_seconds_recorded"), 1)),
        row("Groth16 setup (s, recorded)", lambda f: _num(f.get("setup_seconds_total"), 1)),
        row("zkey (MB)", lambda f: _num((f.get("zkey_bytes") or 0) / 1e6, 1)),
        row(
            "witness, worker (s, median)",
            lambda f: _num(_median(f.get("prove"), "worker_witness_seconds"), 3),
        ),
        row("proof, worker (s, median)", lambda f: _num(_median(f.get("prove"), "worker_total_seconds"))),
        row("proof, snarkjs CLI (s, median)", lambda f: _num(_median(f.get("prove"), "cli_total_seconds"))),
        row(
            "verify, snarkjs (ms, median)",
            lambda f: _num((_median(f.get("prove"), "snarkjs_verify_worker_seconds") or 0) * 1e3, 0),
        ),
        row("verify, py_ecc (s, median)", lambda f: _num(_median(f.get("prove"), "py_ecc_verify_seconds"))),
        row("setup method", lambda f: "native" if f.get("ptau") is None else "snarkjs over a ptau"),
        row(
            "proof, arkworks: prove only (s, median)",
            lambda f: _num(_median(f.get("prove"), "arkworks_prove_seconds")),
        ),
        row(
            "proof, arkworks: with witness (s, median)",
            lambda f: _num(_median(f.get("prove"), "arkworks_total_seconds")),
        ),
        row(
            "proof, rapidsnark: prove only (s, median)",
            lambda f: _num(_median(f.get("prove"), "rapidsnark_prove_seconds")),
        ),
        row(
            "arkworks key load (s, once)",
            lambda f: _num((f.get("prove") or {}).get("arkworks_key_load_seconds")),
        ),
        row(
            "MSM floor, G1 + G2 (s)",
            lambda f: _num(
                ((f.get("prove") or {}).get("msm_floor_g1_seconds") or 0)
                + ((f.get("prove") or {}).get("msm_floor_g2_seconds") or 0)
            ),
        ),
        row(
            "arkworks proof / floor",
            lambda f: _num((f.get("prove") or {}).get("arkworks_prove_over_msm_floor")),
        ),
        row(
            "peak memory, bench process (MB)",
            lambda f: _num((f.get("prove") or {}).get("bench_process_peak_rss_mb"), 0),
        ),
    ]
    return ["## Prover (Groth16: snarkjs, arkworks, rapidsnark)", "", *_table(["figure", *profiles], rows)]


def batch_section(doc: dict[str, Any] | None) -> list[str]:
    if not doc:
        return []
    rows = []
    for key in sorted((k for k in doc if k.startswith("K")), key=lambda k: int(k[1:])):
        f = doc[key]
        rows.append(
            [
                key[1:],
                _int(f["constraints_per_account"]),
                _num(f["constraints_per_account_vs_single"], 3),
                _num(f["prove_seconds_per_account"], 2),
                _int(f["liquidate_gas_per_account"]),
                _int(f["liquidate_gas_per_account_existing_record"]),
                _int(f["attest_gas_per_account"]),
                _int(f["attest_gas_per_account_existing_record"]),
            ]
        )
    header = [
        "K",
        "constraints / account",
        "vs one-account circuit",
        "prove s / account",
        "liquidate gas / account (first record)",
        "(record exists)",
        "attest gas / account (first record)",
        "(record exists)",
    ]
    single = doc.get("single", {})
    note = (
        f"MarginBatch, profile {doc.get('profile')}, real proofs, BatchGate on py-evm; one-account circuit: "
        f"{_int(single.get('constraints'))} constraints, {_num(single.get('prove_seconds_per_account'), 2)} s."
    )
    return ["## Batched proofs", "", note, "", *_table(header, rows)]


def margin_cli_section(doc: dict[str, Any] | None) -> list[str]:
    if not doc:
        return []
    rows = [
        [
            _int(r["accounts"]),
            r["poseidon"],
            _num(r["seconds"], 1),
            _num(r["cpu_seconds"], 1),
            _num(r["peak_rss_mb"], 0),
        ]
        for r in doc.get("runs", [])
    ]
    header = ["accounts", "Poseidon", "seconds", "CPU seconds", "peak MB"]
    return ["## `zkmargin margin` end to end (standard profile, 16 slots)", "", *_table(header, rows)]


def prove_command_section(doc: dict[str, Any] | None) -> list[str]:
    if not doc:
        return []
    rows = []
    for backend, f in doc.get("backends", {}).items():
        c, w, p = f["command_seconds"], f["witness_seconds"], f["prove_seconds"]
        rows.append(
            [backend, _num(c["min"]), _num(c["median"]), _num(w["median"]), _num(p["median"]), str(c["n"])]
        )
    header = ["backend", "whole command, min s", "median s", "witness s", "proof s", "runs"]
    met = "met" if doc.get("target_met") else "not met"
    note = (
        f"A fresh process each run, profile {doc.get('profile')}, interleaved; target "
        f"{_num(doc.get('target_seconds'), 1)} s for arkworks (best run): {met}."
    )
    return ["## `zkmargin prove` as a whole command", "", note, "", *_table(header, rows)]


def backtest_section(doc: dict[str, Any] | None) -> list[str]:
    if not doc:
        return []
    rows = []
    for mpor, by_model in doc["aggregate"].items():
        for model, a in by_model.items():
            rows.append(
                [
                    mpor,
                    model,
                    f"{100 * a['min_coverage']:.2f}%",
                    str(a["kupiec_too_many_5pct"]),
                    _num(a["median_peak_to_trough"], 2),
                    f"{100 * a['median_largest_increase_5d']:.0f}%",
                    _num(a["mean_im_vs_trailing30"], 3),
                ]
            )
    header = [
        "MPOR",
        "model",
        "lowest coverage",
        "Kupiec: too many",
        "peak/trough",
        "max 5d rise",
        "IM / trailing30",
    ]
    note = f"`zkmargin backtest` on the 2017-2022 closes, every model and portfolio: {_num(doc['seconds'], 0)} s."
    return ["## Margin backtest (medians over the portfolios)", "", note, "", *_table(header, rows)]


def crash_drill_section(doc: dict[str, Any] | None) -> list[str]:
    if not doc:
        return []
    header = ("mode", "to last confirmed s", "reconcile s", "proofs", "proofs/s", "cores busy", "head share")
    rows = [
        (
            m["mode"],
            _num(m["seconds"], 1),
            _num(m["reconcile_seconds"]),
            _int(m["proofs"]),
            _num(m["proofs_per_second"], 3),
            _num(100 * m["cores_busy"], 0) + " %",
            _num(100 * m["head_share"], 1) + " %",
        )
        for m in doc.get("modes", [])
    ]
    note = (
        f"{_int(doc.get('accounts'))} accounts on anvil, {doc.get('crash_statuses')} after the crash; "
        f"profile {doc.get('profile')}, K = {doc.get('batch_size')}."
    )
    return ["## Crash drill (Dask keeper)", "", note, "", *_table(header, rows)]


def reconcile_section(doc: dict[str, Any] | None) -> list[str]:
    if not doc:
        return []
    header = ("case", "snapshot processed s", "accounts s", "file reused", "commitments hashed")
    rows = [
        (
            case,
            _num(c["seconds"]),
            _num(c["accounts_seconds"]),
            "yes" if c["file_reused"] else "no",
            _int(c["commitments_hashed"]),
        )
        for case, c in (doc.get("cases") or {}).items()
    ]
    note = f"{_int(doc.get('accounts'))} accounts on anvil ({doc.get('profile')}), no account liquidatable."
    return ["## Reconciliation (keeper, new snapshot)", "", note, "", *_table(header, rows)]


def web_audit_section(doc: dict[str, Any] | None) -> list[str]:
    if not doc:
        return []
    page, liq = doc.get("page") or {}, doc.get("liquidation") or {}
    header = ("user", "page load to ready ms (median)", "audit, click to verdict ms (median, min-max)")
    rows = [
        (
            user,
            _num(page[user]["ready_ms"]["median"], 0),
            f"{_num(page[user]['audit_ms']['median'], 0)} ({_num(page[user]['audit_ms']['min'], 0)}-"
            f"{_num(page[user]['audit_ms']['max'], 0)})",
        )
        for user in ("liquidated", "healthy")
        if user in page
    ]
    sizes = page.get("site_bytes") or {}
    note = (
        f"Headless Chromium, profile {page.get('profile')} (K = {page.get('batch_size')}), the demo's files, "
        f"offline. Site build {_num(page.get('site_build_seconds'))} s; app.js {_int(sizes.get('app.js'))} B, "
        f"snarkjs.min.js {_int(sizes.get('vendor/snarkjs.min.js'))} B."
    )
    lines = ["## Browser audit", "", note, "", *_table(header, rows)]
    if liq:
        searched = f"{liq['searched_accounts']} of {liq['accounts']} accounts searched (the others are liquidatable now)"
        lines += _table(
            ("liquidation prices, per searched account", "page (JS, node) ms median / max",
             "engine (Python) ms median / max"),
            [(searched,
              f"{_num(liq['page_ms_per_searched_account']['median'], 1)} / "
              f"{_num(liq['page_ms_per_searched_account']['max'], 1)}",
              f"{_num(liq['engine_ms_per_searched_account']['median'], 1)} / "
              f"{_num(liq['engine_ms_per_searched_account']['max'], 1)}")],
        )  # fmt: skip
    return lines


def render_markdown(doc: dict[str, Any]) -> str:
    """The whole figures page."""
    lines = ["# zkmargin benchmark figures", "", "Written by `python -m bench.run_all` (`make bench`).", ""]
    lines += machine_section(doc)
    lines += engine_section(doc.get("engine"))
    lines += prover_section(doc.get("prover") or {})
    lines += batch_section(doc.get("batch"))
    lines += margin_cli_section(doc.get("margin_cli"))
    lines += prove_command_section(doc.get("prove_command"))
    lines += backtest_section(doc.get("backtest"))
    lines += crash_drill_section(doc.get("crash_drill"))
    lines += reconcile_section(doc.get("reconcile"))
    lines += web_audit_section(doc.get("web_audit"))
    lines += runs_section(doc)
    return "\n".join(lines)

"""``bench.run_all``: a failing part is reported, not hidden; figures are gathered and rendered."""

from __future__ import annotations

import json
from pathlib import Path

from bench.figures_md import render_markdown
from bench.run_all import Part, collect, machine_facts, run_part


def test_failing_part_is_reported_with_its_output(tmp_path: Path) -> None:
    out = tmp_path / "never.json"
    part = Part("broken", "bench.no_such_benchmark", (), out)
    record = run_part(part)
    assert record["ok"] is False
    assert record["exit_code"] != 0
    assert any("no_such_benchmark" in line for line in record["output_tail"])
    assert record["figures"] is None


def test_part_that_succeeds_without_writing_results_fails(tmp_path: Path) -> None:
    part = Part("silent", "json.tool", ("--help",), tmp_path / "missing.json")
    record = run_part(part)
    assert record["exit_code"] == 0
    assert record["ok"] is False
    assert "no readable results" in record["error"]


def test_collect_gathers_figures_and_renders(tmp_path: Path) -> None:
    prover = tmp_path / "prover.json"
    prover.write_text(json.dumps({"test": {"constraints": 15904, "prove": {}}}), encoding="utf-8")
    # json.tool only reads (and echoes) the file each part "wrote"
    batch = tmp_path / "batch.json"
    k32 = {
        "constraints_per_account": 16372,
        "constraints_per_account_vs_single": 1.029,
        "prove_seconds_per_account": 0.27,
        "liquidate_gas_per_account": 38901,
        "liquidate_gas_per_account_existing_record": 21801,
        "attest_gas_per_account": 38241,
        "attest_gas_per_account_existing_record": 21141,
    }
    batch.write_text(json.dumps({"profile": "test", "single": {}, "K32": k32}), encoding="utf-8")
    reconcile = tmp_path / "reconcile.json"
    case = {"seconds": 0.75, "accounts_seconds": 0.03, "file_reused": True, "commitments_hashed": 0}
    reconcile.write_text(json.dumps({"accounts": 100000, "cases": {"unchanged": case}}), encoding="utf-8")
    parts = [
        Part("prover-test", "json.tool", (str(prover),), prover, key="test"),
        Part("batch", "json.tool", (str(batch),), batch),
        Part("reconcile", "json.tool", (str(reconcile),), reconcile),
        Part("prover-demo", "json.tool", (str(prover),), prover, key="demo"),  # no such entry
    ]
    document = collect(parts, machine_facts(), ["--only", "x"])
    assert document["ok"] is False
    assert [r["ok"] for r in document["runs"]] == [True, True, True, False]
    assert document["batch"]["K32"]["liquidate_gas_per_account"] == 38901
    assert document["prover"]["test"]["constraints"] == 15904
    text = render_markdown(document)
    assert "| constraints | 15,904 |" in text
    assert "| 32 | 16,372 | 1.029 | 0.27 | 38,901 | 21,801 | 38,241 | 21,141 |" in text
    assert "| unchanged | 0.75 | 0.03 | yes | 0 |" in text
    assert "**FAILED**" in text and "has no entry 'demo'" in text
    assert document["machine"]["cpus"] >= 1


def test_the_browser_audit_figures_render(tmp_path: Path) -> None:
    spread = {"median": 330.0, "min": 300.0, "max": 360.0}
    user = {"ready_ms": spread, "audit_ms": spread, "liquidation_shown": []}
    doc = {
        "page": {
            "profile": "demo",
            "batch_size": 8,
            "site_build_seconds": 0.1,
            "site_bytes": {"app.js": 454701, "vendor/snarkjs.min.js": 688758},
            "liquidated": user,
            "healthy": user,
        },
        "liquidation": {
            "accounts": 36,
            "searched_accounts": 18,
            "page_ms_per_searched_account": {"median": 5.1, "max": 14.6},
            "engine_ms_per_searched_account": {"median": 158.8, "max": 236.5},
        },
    }
    path = tmp_path / "web_audit.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    document = collect([Part("web-audit", "json.tool", (str(path),), path)], machine_facts(), [])
    assert document["ok"] and document["web_audit"]["page"]["profile"] == "demo"
    text = render_markdown(document)
    assert "## Browser audit" in text and "app.js 454,701 B" in text
    assert "| healthy | 330 | 330 (300-360) |" in text
    assert (
        "| 18 of 36 accounts searched (the others are liquidatable now) | 5.1 / 14.6 | 158.8 / 236.5 |"
        in text
    )


def test_the_prove_command_figures_render() -> None:
    from bench.figures_md import prove_command_section

    spread = {"min": 1.92, "median": 2.06, "max": 2.2, "n": 5}
    part = {"min": 0.3, "median": 0.29, "max": 0.3, "n": 5}
    backend = {"command_seconds": spread, "witness_seconds": part, "prove_seconds": part}
    doc = {
        "profile": "standard",
        "backends": {"arkworks": backend},
        "target_seconds": 2.0,
        "target_met": True,
    }
    text = "\n".join(prove_command_section(doc))
    assert (
        "## `zkmargin prove` as a whole command" in text
        and "target 2.0 s for arkworks (best run): met" in text
    )
    assert "| arkworks | 1.92 | 2.06 | 0.29 | 0.29 | 5 |" in text
    assert prove_command_section(None) == []

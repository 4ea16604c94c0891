"""Recomputing a published market's rows from its quotes (the section 4 audit)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner

from engine.formats import load_market
from engine.model import Market
from engine.row_audit import compare_rows
from zkmargin.cli.main import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _build(tmp_path: Path) -> Path:
    out = tmp_path / "market.json"
    result = CliRunner().invoke(
        cli,
        [
            "market",
            "build",
            "--quotes",
            str(EXAMPLES / "quotes.json"),
            "--params",
            str(EXAMPLES / "params.json"),
            "--profile",
            "demo",
            "--epoch",
            "3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_published_market_agrees_with_its_quotes(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["market", "check", str(_build(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["ok"] and doc["max_deviation"] == 0 and doc["rows"] > 0


def test_compare_rows_tolerates_one_unit_only(tmp_path: Path) -> None:
    market = load_market(_build(tmp_path)).market
    iid = next(iter(market.rows))
    row = market.rows[iid]

    def shifted(units: int) -> Market:
        ra = (row.ra[0] + units, *row.ra[1:])
        rows = dict(market.rows) | {iid: dataclasses.replace(row, ra=ra)}
        return dataclasses.replace(market, rows=rows)

    one = compare_rows(market, shifted(1))
    assert one.ok and one.max_deviation == 1 and one.worst == f"row {iid} ra[0]"
    two = compare_rows(market, shifted(-2))
    assert not two.ok and two.max_deviation == 2
    fewer = dict(market.rows)
    fewer.pop(iid)
    missing = compare_rows(market, dataclasses.replace(market, rows=fewer))
    assert not missing.ok and "instrument ids differ" in missing.problems[0]

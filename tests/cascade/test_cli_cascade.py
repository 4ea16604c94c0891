"""``zkmargin stress cascade`` end to end on the small world (two assets, one window, a
short sweep), and its bad input: exit 2 naming the field, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cascade.conftest import write_small_inputs
from tests.test_cli_engine import run_cli

REQUIRED = {"model", "window", "depth_factor", "latency_s", "K", "accounts", "liquidated_accounts",
            "liquidated_notional", "bad_debt", "amplification"}  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_small_inputs(tmp_path_factory.mktemp("cascade-cli"))


def _argv(inputs: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    csv_path, portfolios = inputs
    return ["stress", "cascade", "--history", str(csv_path), "--portfolios", str(portfolios), "--out", str(out),
            "--windows", "may-2021", "--accounts", "60", "--steps-per-day", "2", *extra]  # fmt: skip


def test_the_report_is_complete(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "stale.txt").write_text("replaced")
    code, stdout, err = run_cli(
        _argv(inputs, out, "--models", "garch_apc,fixed", "--depth-factor", "0.1"), capsys
    )
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    assert names >= {"report.html", "report.md", "figures.json", "price.png", "liquidations.png", "bad_debt.png",
                     "sweep.png"} and "stale.txt" not in names  # fmt: skip
    figs = json.loads((out / "figures.json").read_text())
    assert figs["format"] == "zkmargin/cascade-figures@1"
    assert len(figs["runs"]) == 2 * 13
    for run in figs["runs"]:
        assert set(run) >= REQUIRED and run["conserved"]
    assert "may-2021" in stdout and "garch_apc" in (out / "report.md").read_text()
    assert "<img" in (out / "report.html").read_text()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--windows", "may-2021,moon"], "--windows: unknown name moon"),
        (["--models", "garch,gar"], "--models: unknown name gar"),
        (["--topup-share", "0.8", "--reduce-share", "0.5"], "--reduce-share"),
        (["--windows", "shock"], "--windows: the shock window needs --shock"),
        (["--shock", "nan"], "--shock"),
        (["--accounts", "5"], "--accounts"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    extra: list[str],
    words: str,
    inputs: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "report"
    argv = _argv(inputs, out)
    argv = (
        argv[: argv.index("--windows")] + argv[argv.index("--accounts") :] + extra
        if "--windows" in extra
        else argv + extra
    )
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and words in err, err
    assert not out.exists() and not list(tmp_path.glob(".report*"))


def test_a_bad_accounts_file_exits_2_naming_the_leg(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps({"format": "zkmargin/cascade-accounts@1", "accounts": [
        {"equity": 1000, "legs": [{"asset": "BTC", "kind": "perp", "notional": 5000}]},
        {"equity": 1000, "legs": [{"asset": "DOGE", "kind": "perp", "notional": 5000}]},
    ]}))  # fmt: skip
    out = tmp_path / "report"
    code, _, err = run_cli(_argv(inputs, out, "--accounts-file", str(accounts), "--models", "fixed"), capsys)
    assert code == 2 and "accounts[1].legs[0].asset" in err, err
    assert not out.exists()

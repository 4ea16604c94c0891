"""The engine CLI end to end on the example data: market build, margin, calibrate, explain.

Also the check that every example account has the status it was written to show.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.formats import load_accounts, load_market, load_params
from engine.margin import compute_margin
from zkmargin.cli.main import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HISTORY = EXAMPLES / "data" / "closes-excerpt.csv"

#: The status each example account is meant to show (see examples/README.md).
INTENDED = {
    "alice-hedged-btc": "healthy",
    "bob-covered-eth": "restricted",
    "carol-short-vol": "liquidatable",
    "dave-levered-sol": "insolvent",
    "dave-levered-btc": "insolvent",
    "erin-multi-asset": "healthy",
}
#: profile -> (quotes, params, accounts) of the examples.
SETS = {
    "test": ("quotes-test.json", "params-test.json", "accounts-test.json"),
    "demo": ("quotes.json", "params.json", "accounts.json"),
}


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the console entry point."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    captured = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def _build(profile: str, out: Path, history: bool = True) -> list[str]:
    quotes, params, _ = SETS[profile]
    argv = ["market", "build", "--quotes", str(EXAMPLES / quotes), "--params", str(EXAMPLES / params)]
    argv += ["--profile", profile, "--epoch", "7", "--out", str(out)]
    return [*argv, "--history", str(HISTORY)] if history else argv


@pytest.fixture(scope="module")
def markets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Markets of the examples in the test and demo profiles, calibrated from the excerpt."""
    out: dict[str, Path] = {}
    for profile in SETS:
        path = tmp_path_factory.mktemp(profile) / "market.json"
        with pytest.raises(SystemExit) as info:
            main(_build(profile, path))
        assert info.value.code == 0
        out[profile] = path
    return out


def _margin_json(
    profile: str, market: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    _, params, accounts = SETS[profile]
    argv = ["margin", "--market", str(market), "--params", str(EXAMPLES / params), str(EXAMPLES / accounts)]
    code, out, err = run_cli([*argv, "--json", *extra], capsys)
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


# ------------------------------------------------------------------ market build


def test_market_build_writes_a_calibrated_market(markets: dict[str, Path]) -> None:
    mf = load_market(markets["demo"])
    assert mf.market.profile.name == "demo"
    assert mf.market.epoch == 7
    assert mf.market.asset_names == ("BTC", "ETH", "SOL")
    assert mf.calibrated_rho is not None
    assert 0 < mf.calibrated_rho[0][1] < 10**6  # BTC/ETH: positive, below 1
    assert set(mf.config.forecast) == {"BTC", "ETH", "SOL"}
    doc = json.loads(markets["demo"].read_text())
    assert doc["format"] == "zkmargin/market@1"
    assert isinstance(doc["market_root"], str)


def test_market_build_without_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    code, stdout, err = run_cli(_build("test", out, history=False), capsys)
    assert code == 0, err
    mf = load_market(out)
    assert mf.calibrated_rho is None
    assert mf.config.forecast == {}
    assert "market_root" in stdout


# ------------------------------------------------------------------ statuses


@pytest.mark.parametrize("profile", list(SETS))
def test_every_example_account_has_its_intended_status(
    profile: str, markets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    report = _margin_json(profile, markets[profile], capsys)
    got = {line["label"]: line["status_name"] for line in report["accounts"]}
    assert got == {label: INTENDED[label] for label in got}
    assert set(got.values()) == {"healthy", "restricted", "liquidatable", "insolvent"}


def test_margin_report_file_equals_json_output(
    tmp_path: Path, markets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    printed = _margin_json("test", markets["test"], capsys, "--out", str(out))
    assert json.loads(out.read_text()) == printed
    assert printed["format"] == "zkmargin/report@1"
    assert printed["counts"] == {"healthy": 1, "restricted": 1, "liquidatable": 1, "insolvent": 1}
    for line in printed["accounts"]:
        assert line["shortfall"] == max(0, int(line["mm"]) - int(line["equity"]))


def test_margin_table(markets: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, params, accounts = SETS["demo"]
    argv = [
        "margin",
        "--market",
        str(markets["demo"]),
        "--params",
        str(EXAMPLES / params),
        str(EXAMPLES / accounts),
    ]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    for label, status in INTENDED.items():
        if label != "dave-levered-btc":
            assert label in out
            assert status in out


def test_batch_path_equals_single_path(
    tmp_path: Path, markets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Ten accounts (the vectorised path) give the same lines as one by one."""
    doc = json.loads((EXAMPLES / "accounts.json").read_text())
    many = [dict(a, account_id=100 + i, label=f"copy-{i}") for i, a in enumerate(doc["accounts"] * 2)]
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"format": "zkmargin/accounts@1", "accounts": many}))
    argv = ["margin", "--market", str(markets["demo"]), "--params", str(EXAMPLES / "params.json"), str(path)]
    code, out, err = run_cli([*argv, "--json"], capsys)
    assert code == 0, err
    lines = json.loads(out)["accounts"]
    mf = load_market(markets["demo"])
    params = load_params(EXAMPLES / "params.json").resolve(
        mf.market.asset_names, mf.market.profile, mf.calibrated_rho
    )
    for line, acc in zip(lines, load_accounts(path, mf.market), strict=True):
        r = compute_margin(mf.market, params, acc.account)
        assert (line["status"], int(line["equity"]), int(line["im"]), int(line["mm"])) == (
            r.status,
            r.E,
            r.IM,
            r.MM,
        )


def test_several_account_files(
    markets: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # the examples' accounts without carol, then carol's own file (an id twice is refused)
    doc = json.loads((EXAMPLES / "accounts.json").read_text())
    doc["accounts"] = [a for a in doc["accounts"] if a.get("label") != "carol-short-vol"]
    others = tmp_path / "others.json"
    others.write_text(json.dumps(doc))
    argv = ["margin", "--market", str(markets["demo"]), "--params", str(EXAMPLES / "params.json")]
    argv += [str(others), str(EXAMPLES / "account-carol.json"), "--json"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert [line["label"] for line in json.loads(out)["accounts"]][-1] == "carol-short-vol"
    twice = run_cli(
        [*argv[:5], str(EXAMPLES / "accounts.json"), str(EXAMPLES / "account-carol.json")], capsys
    )
    assert twice[0] == 2 and "account id 1003 appears twice" in twice[2]


# ------------------------------------------------------------------ calibrate


def test_calibrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "calib.json"
    code, stdout, err = run_cli(
        ["calibrate", "--history", str(HISTORY), "--assets", "BTC, ETH", "--json", "--out", str(out)], capsys
    )
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc == json.loads(out.read_text())
    assert doc["format"] == "zkmargin/calibration@1"
    assert doc["assets"] == ["BTC", "ETH"]
    assert doc["rho"][0][0] == 10**6
    assert doc["forecast"]["BTC"] == max(doc["ewma"]["BTC"], doc["garch"]["BTC"]["forecast"])


def test_calibrate_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["calibrate", "--history", str(HISTORY), "--assets", "SOL,BTC"], capsys)
    assert code == 0, err
    assert "GARCH" in out and "SOL" in out and "correlation" in out


def test_missing_input_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    argv = _build("test", out, history=False)
    argv[argv.index("--quotes") + 1] = str(tmp_path / "nope.json")
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert "nope.json" in err
    assert not out.exists()


# ------------------------------------------------------------------ explain


def _explain(
    markets: dict[str, Path], capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    argv = ["explain", "--market", str(markets["demo"]), "--params", str(EXAMPLES / "params.json")]
    return run_cli([*argv, *extra], capsys)


def test_explain_json_with_what_if(markets: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    # Buying back carol's short BTC call and put halves her scenario risk.
    code, out, err = _explain(
        markets,
        capsys,
        str(EXAMPLES / "account-carol.json"),
        "--trade",
        "2:10000000",
        "--trade",
        "3:10000000",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["format"] == "zkmargin/explanation@1"
    assert doc["status_name"] == "liquidatable"
    btc = doc["assets"][0]
    assert btc["name"] == "BTC" and btc["held"] and btc["liquidatable_now"]
    assert not doc["assets"][2]["held"]  # SOL
    before, after = doc["what_if"]["before"], doc["what_if"]["after"]
    assert before["status_name"] == "liquidatable"
    assert int(after["im"]) < int(before["im"])
    assert after["status_name"] in ("restricted", "healthy")


def test_explain_liquidation_price_is_a_real_boundary(
    markets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _explain(
        markets, capsys, str(EXAMPLES / "accounts.json"), "--select", "alice-hedged-btc", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status_name"] == "healthy"
    btc = doc["assets"][0]
    assert not btc["liquidatable_now"]
    bounds = [b for b in (btc["liquidation_below"], btc["liquidation_above"]) if b is not None]
    assert bounds, "a hedged BTC book still liquidates for some BTC spot"
    for b in bounds:
        assert b != btc["spot"]


def test_explain_table(markets: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _explain(markets, capsys, str(EXAMPLES / "accounts.json"), "--select", "1005")
    assert code == 0, err
    assert "erin-multi-asset" in out and "per asset" in out and "worst loss" in out


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--trade", "2x5"], "--trade: must be ID:Q"),
        (["--trade", "2:1_000"], "--trade: must be ID:Q"),
        (["--trade", "2:1.5"], "--trade: must be ID:Q"),
        (["--select", "1001", "--trade", "63:1"], "--trade[0]: unknown instrument 63"),
        (["--select", "1001", "--trade", f"2:{2**48}"], "|q| must be < 2**48"),
        (["--select", "1001", "--trade", f"0:{2**48 - 2 * 10**6}"], "trade[0].q: |q| must be < 2**48"),
        (["--select", "nobody"], "--select: must name exactly one account"),
        ([], "--select: the file holds 5 accounts"),
    ],
)
def test_explain_bad_input(
    extra: list[str], words: str, markets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _explain(markets, capsys, str(EXAMPLES / "accounts.json"), *extra)
    assert code == 2
    assert "error: invalid input:" in err
    assert words in " ".join(err.split())


@pytest.mark.parametrize("profile", list(SETS))
def test_examples_readme_shows_the_cli_figures_to_the_cent(
    profile: str, markets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every amount in the accounts table of examples/README.md is the one `margin` shows."""
    import re

    from engine.money import money_amount

    report = _margin_json(profile, markets[profile], capsys)
    lines = {line["label"]: line for line in report["accounts"]}
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    keys = {"E": "equity", "IM": "im", "MM": "mm", "shortfall": "shortfall"}
    checked = 0
    for row in readme.splitlines():
        label = re.match(r"\| `([a-z-]+)` \|", row)
        if label is None or label.group(1) not in lines:
            continue
        column = row.split("|")[3 if profile == "demo" else 4]
        for name, amount in re.findall(r"\b(E|IM|MM|shortfall) (-?[\d,]+\.\d\d)", column):
            assert amount == money_amount(int(lines[label.group(1)][keys[name]])), (label.group(1), name)
            checked += 1
    assert checked >= (10 if profile == "demo" else 1)


def test_margin_table_summarises_many_accounts(
    tmp_path: Path, markets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Beyond MARGIN_TABLE_ROWS accounts the table shows the counts by status and the
    accounts in most trouble first; the report file still holds every account."""
    from zkmargin.cli.render import MARGIN_TABLE_ROWS

    _, params, accounts = SETS["test"]
    doc = json.loads((EXAMPLES / accounts).read_text())
    base = doc["accounts"]
    many = [
        dict(base[i % len(base)], label=f"copy-{i}", account_id=100_000 + i)
        for i in range(MARGIN_TABLE_ROWS + 40)
    ]
    path = tmp_path / "many.json"
    path.write_text(json.dumps({**doc, "accounts": many}))
    out_file = tmp_path / "report.json"
    argv = ["margin", "--market", str(markets["test"]), "--params", str(EXAMPLES / params), str(path)]
    code, out, err = run_cli([*argv, "--out", str(out_file)], capsys)
    assert code == 0, err
    n = MARGIN_TABLE_ROWS + 40
    assert f"{n} accounts: " in out and "every account: --out FILE or --json" in out
    assert f"the {MARGIN_TABLE_ROWS} accounts in most trouble" in out
    rows = [line for line in out.splitlines() if "copy-" in line]
    assert len(rows) == MARGIN_TABLE_ROWS
    assert "insolvent" in rows[0] and "healthy" not in "".join(rows[:10])
    assert len(json.loads(out_file.read_text())["accounts"]) == n

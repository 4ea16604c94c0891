"""``zkmargin backtest`` end to end (a short window of the real closes), its bad input
(exit 2, nothing written) and ``market build --history`` using only closes up to as_of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli_engine import EXAMPLES, run_cli

CSV = EXAMPLES / "data" / "crypto-daily-closes.csv"
REPORT_FILES = {
    "report.html",
    "report.md",
    "figures.json",
    "breaches.csv",
    "crashes.png",
    "coverage_procyclicality.png",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bt") / "report"
    argv = [
        "backtest",
        "--history",
        str(CSV),
        "--out",
        str(out),
        "--start",
        "2020-01-01",
        "--end",
        "2020-06-30",
    ]
    with pytest.raises(SystemExit) as info:
        from zkmargin.cli.main import main

        main(argv)
    assert info.value.code == 0
    return out


def test_the_report_is_complete(report: Path) -> None:
    names = {p.name for p in report.iterdir()}
    assert names >= REPORT_FILES
    assert len([n for n in names if n.startswith("im_vs_loss_")]) == 9  # one per portfolio
    figs = json.loads((report / "figures.json").read_text())
    assert figs["mpors"] == [1, 2, 3, 5]  # the sensitivities and the basket's 3-day horizon
    assert figs["default_model"] == "garch_apc"
    lookback = figs["apc_lookback"]
    assert lookback["years_required"] == 10 and 0 < lookback["years_used"]["BTC"] < 10  # 2017-2022
    assert figs["liquidity_horizon_rule"]["portfolios"]["multi-asset-long-short"] == 3
    assert figs["liquidity_horizon_rule"]["portfolios"]["btc-eth-pair"] == 1
    for key in ("whole", "in_sample", "out_of_sample"):
        assert set(figs[key]) >= {"window", "results", "aggregate", "liquidity_horizon"}
    assert figs["whole"]["results"] == figs["results"]
    assert figs["in_sample"]["results"]["1"]["garch"] == figs["results"]["1"]["garch"]  # all of 2020-H1
    basket = figs["whole"]["liquidity_horizon"]["garch_apc"]["multi-asset-long-short"]
    assert basket == figs["results"]["3"]["garch_apc"]["multi-asset-long-short"]
    assert basket["expected_shortfall_975"] > 0 and "kupiec_995_p" in basket
    stress = figs["stresses"]["results"]["btc-eth-pair"]
    assert stress["corr_-0.5"]["worst_loss"] > stress["corr_0"]["worst_loss"] > 0
    assert figs["stresses"]["results"]["long-spot-btc"]["joint_-50%"]["worst_loss"] == pytest.approx(
        5e5, rel=1e-6
    )
    assert set(figs["pair_crash_breaches"]["1"]["garch_apc"]) >= {"luna-2022-05", "ftx-2022-11"}
    assert set(figs["results"]["1"]) == {"fixed", "trailing30", "ewma", "garch", "garch_apc", "garch_emir"}
    covid = figs["results"]["1"]["garch"]["levered-long-perp-eth"]
    assert covid["days"] > 150 and 0.9 < covid["coverage"] <= 1.0
    # the 20x fixed-fraction margin is breached in March 2020; the engine's is not as often
    fixed = figs["results"]["1"]["fixed"]["levered-long-perp-eth"]
    assert fixed["breaches"] > covid["breaches"]
    html = (report / "report.html").read_text()
    assert "data:image/png;base64," in html and "Kupiec" in html
    assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in html
    assert "overflow-x:auto" in html and "img{max-width:100%" in html
    body = html.split("<body>", 1)[1]
    first = body.split("</p>", 1)[0]
    assert "id='summary'" in first and "The default model is garch_apc" in first
    assert figs["summary"] in (report / "report.md").read_text()
    assert "Targets:" in figs["summary"] and "in sample" in figs["summary"]
    assert "Kupiec" in (report / "report.md").read_text()


def test_breaches_csv_recomputes_the_figures(report: Path) -> None:
    """An auditor's check: coverage and Kupiec of figures.json from breaches.csv alone."""
    import csv
    import math

    from scipy.stats import chi2

    figs = json.loads((report / "figures.json").read_text())
    counts: dict[tuple[str, str, str], list[int]] = {}
    with open(report / "breaches.csv", newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == ["date", "model", "portfolio", "mpor", "loss", "im", "breach"]
        for day, model, portfolio, mpor, loss, im, breach in reader:
            assert len(day) == 10 and day[4] == "-"
            assert "e" not in loss.lower() and "e" not in im.lower()  # plain decimals
            assert breach == ("1" if float(loss) > float(im) else "0")
            c = counts.setdefault((mpor, model, portfolio), [0, 0])
            c[0] += 1
            c[1] += int(breach)
    assert len(counts) == 4 * 6 * 9  # MPORs x models x portfolios
    for (mpor, model, portfolio), (n, x) in counts.items():
        stats = figs["results"][mpor][model][portfolio]
        assert (stats["days"], stats["breaches"]) == (n, x)
        assert stats["coverage"] == pytest.approx(1 - x / n)
        p, phat = 0.01, x / n
        null = (n - x) * math.log(1 - p) + (x * math.log(p) if x else 0.0)
        alt = ((n - x) * math.log(1 - phat) if x < n else 0.0) + (x * math.log(phat) if x else 0.0)
        lr = max(0.0, -2 * (null - alt))
        assert stats["kupiec_lr"] == pytest.approx(lr, abs=1e-9)
        assert stats["kupiec_p"] == pytest.approx(chi2.sf(lr, 1), abs=1e-12)


def _bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], history: Path = CSV) -> str:
    out = tmp_path / "report"
    code, _, err = run_cli(["backtest", "--history", str(history), "--out", str(out), *extra], capsys)
    assert code == 2, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report")]
    return err


def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "unknown model gar;" in _bad(tmp_path, capsys, ["--models", "garch,gar"])
    assert "--fit-z" in _bad(tmp_path, capsys, ["--models", "garch", "--fit-z"])
    assert "--end" in _bad(tmp_path, capsys, ["--start", "2021-01-01", "--end", "2020-01-01"])
    gap = tmp_path / "nonpositive.csv"
    gap.write_text("date,BTC\n2020-01-01,100\n2020-01-02,-5\n")
    portfolios = tmp_path / "p.json"
    doc = json.loads((EXAMPLES / "backtest" / "portfolios.json").read_text())
    doc["assets"] = {"BTC": doc["assets"]["BTC"]}
    doc["portfolios"] = [p for p in doc["portfolios"] if p["name"] == "long-spot-btc"]
    portfolios.write_text(json.dumps(doc))
    err = _bad(tmp_path, capsys, ["--portfolios", str(portfolios)], history=gap)
    assert "finite and > 0" in err
    single = tmp_path / "single.csv"
    single.write_text("date,BTC\n2020-01-01,100\n")
    assert "at least 3 closes" in _bad(tmp_path, capsys, ["--portfolios", str(portfolios)], history=single)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("date,ETH\n2020-01-01,100\n2020-01-02,101\n2020-01-03,102\n")
    assert "BTC" in _bad(tmp_path, capsys, ["--portfolios", str(portfolios)], history=unknown)
    doc["portfolios"][0]["legs"][0]["asset"] = "XRP"
    portfolios.write_text(json.dumps(doc))
    assert "portfolios[0].legs[0].asset" in _bad(tmp_path, capsys, ["--portfolios", str(portfolios)])


def test_market_build_uses_no_close_after_as_of(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same market from the full history and from the history cut at as_of."""
    lines = CSV.read_text().splitlines()
    quotes = json.loads((EXAMPLES / "quotes.json").read_text())
    quotes["as_of"] = "2021-01-04"
    for ins in quotes["instruments"]:
        ins.pop("expiry", None)
    quotes["instruments"] = [i for i in quotes["instruments"] if i["kind"] in ("spot", "perp")]
    qpath = tmp_path / "quotes.json"
    qpath.write_text(json.dumps(quotes))
    cut = tmp_path / "cut.csv"
    cut.write_text(
        "\n".join(line for line in lines if line[:10] <= "2021-01-04" or line.startswith("date")) + "\n"
    )
    roots = []
    for history in (CSV, cut):
        out = tmp_path / f"market-{history.stem}.json"
        argv = ["market", "build", "--quotes", str(qpath), "--params", str(EXAMPLES / "params.json")]
        argv += ["--profile", "demo", "--epoch", "1", "--history", str(history), "--out", str(out)]
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
        roots.append(json.loads(out.read_text())["market_root"])
    assert roots[0] == roots[1]


def test_a_failure_while_writing_leaves_the_old_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import backtest.report

    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").write_text("the previous report\n")

    def broken(*args: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(backtest.report, "_html", broken)
    argv = [
        "backtest",
        "--history",
        str(CSV),
        "--out",
        str(out),
        "--start",
        "2020-03-01",
        "--end",
        "2020-03-20",
    ]
    code, _, err = run_cli([*argv, "--models", "garch", "--mpor", "1"], capsys)
    assert code != 0 and "disk full" in err
    assert [p.name for p in out.iterdir()] == ["report.md"]
    assert (out / "report.md").read_text() == "the previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_fit_z_on_the_in_sample_part_of_a_short_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    argv = [
        "backtest",
        "--history",
        str(CSV),
        "--out",
        str(out),
        "--models",
        "trailing30,garch_apc",
        "--mpor",
        "1",
    ]
    argv += ["--start", "2020-11-01", "--end", "2021-01-31", "--fit-z", "--stress-every", "0"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    fit = json.loads((out / "figures.json").read_text())["z_fit"]
    assert fit["window"] == ["2020-11-01", "2020-12-31"] and fit["evaluation_window"][0] == "2021-01-01"
    assert [row["z"] for row in fit["table"]] == [2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5]
    assert fit["chosen"] in fit["grid"] or fit["chosen"] is None
    assert "Fitting z on the in-sample window" in (out / "report.md").read_text()
    (tmp_path / "bad").mkdir()
    assert "in-sample window" in _bad(tmp_path / "bad", capsys, ["--start", "2021-06-01", "--fit-z"])


@pytest.mark.circuit  # needs node_modules (playwright-core) and chromium, as the browser audit
def test_the_report_opens_in_the_browser_without_errors(report: Path, tmp_path: Path) -> None:
    """A smoke test: the HTML report loads in headless Chromium with no console or page error
    and every embedded plot decodes."""
    from tests.web.browser import drive
    from zkmargin.web_audit import SiteServer

    with SiteServer(report) as server:
        [opened] = drive([{"url": f"{server.url}report.html", "open_only": True}], tmp_path)
    assert opened["consoleErrors"] == [] and opened["pageErrors"] == []
    assert opened["images"] and all(img["width"] > 0 for img in opened["images"]), opened["images"]
    assert opened["title"]

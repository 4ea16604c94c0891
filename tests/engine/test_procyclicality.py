"""Anti-procyclicality tools on the charged scan volatility and the one forecast path
(engine/calibration/procyclicality.py, apc.py, forecast.py; spec section 4)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest

from backtest.history import load_history
from backtest.models import vol_paths
from engine.calibration.apc import LOOKBACK_RETURNS, ApcConfig, lookback_years_used
from engine.calibration.calibrate import calibrate_histories, load_histories
from engine.calibration.procyclicality import apply_apc, long_run_vol, stressed_vol
from engine.model import AssetQuote, InstrumentSpec

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "examples" / "data" / "crypto-daily-closes.csv"
OFF = ApcConfig(speed_limit=None)
NAN = float("nan")


def _apc(x: list[float], returns: list[float] | None = None, **tools: object) -> list[float]:
    r = np.zeros(len(x)) if returns is None else np.asarray(returns)
    return apply_apc(np.asarray(x), r, ApcConfig(**{"speed_limit": None, **tools})).tolist()  # type: ignore[arg-type]


# ------------------------------------------------------------ each tool by hand


def test_speed_limit_caps_rises_not_falls() -> None:
    assert _apc([1.0, 2.0, 2.0, 0.5, 0.6], speed_limit=0.1) == pytest.approx([1.0, 1.1, 1.21, 0.5, 0.55])


def test_leading_nan_is_skipped_and_a_hole_refused() -> None:
    out = _apc([NAN, NAN, 1.0, 3.0], speed_limit=0.5)
    assert math.isnan(out[0]) and out[2:] == pytest.approx([1.0, 1.5])
    with pytest.raises(Exception, match="apc"):
        _apc([1.0, NAN, 1.0], speed_limit=0.5)


def test_floor_is_the_volatility_of_the_look_back() -> None:
    r = [NAN, 0.01, 0.03, 0.0]
    # day 1: sqrt(365 * 1e-4); day 2: sqrt(365 * (1e-4 + 9e-4) / 2); day 3: the same sum over 3
    expected = [NAN, math.sqrt(365e-4), math.sqrt(365 * 5e-4), math.sqrt(365 * 1e-3 / 3)]
    got = long_run_vol(np.asarray(r)).tolist()
    assert math.isnan(got[0]) and got[1:] == pytest.approx(expected[1:])
    assert _apc([0.1, 0.1, 0.1, 0.5], r, floor=True) == pytest.approx([0.1, *expected[1:3], 0.5])


def test_the_ten_year_look_back_drops_older_returns() -> None:
    r = np.full(LOOKBACK_RETURNS + 2, 0.01)
    r[0] = np.nan
    r[1] = 1.0  # one huge return, 3,650 returns before the last day but one
    got = long_run_vol(r)
    assert got[LOOKBACK_RETURNS] > 0.3  # still inside the ten years
    assert got[-1] == pytest.approx(0.01 * math.sqrt(365))  # out of the window
    r = np.concatenate((r, np.full(40, 0.01)))
    s = stressed_vol(r)  # the 30-day window holding it is day 30's, a stressed observation
    assert s[30 + LOOKBACK_RETURNS - 1] > 1.0  # for ten years
    assert s[30 + LOOKBACK_RETURNS] == pytest.approx(0.01 * math.sqrt(365))


def test_stressed_weight_blends_the_worst_30_days() -> None:
    r = np.concatenate(([NAN], np.full(30, 0.01), np.full(30, 0.02), np.full(40, 0.01)))
    s = stressed_vol(r)
    assert np.isnan(s[:30]).all() and s[30] == pytest.approx(0.01 * math.sqrt(365))
    assert s[60:] == pytest.approx(0.02 * math.sqrt(365))  # the stressed observation stays
    x = np.full(r.size, 0.2)
    out = _apc(x.tolist(), r.tolist(), stress_weight=0.25)
    assert out[80] == pytest.approx(math.sqrt(0.75 * 0.04 + 0.25 * 365 * 4e-4))
    assert out[10] == pytest.approx(0.2)  # no stressed observation yet


def test_buffer_released_in_stress() -> None:
    # ten calm days (1.25 charged), then x above 1.5 x its median: the buffer absorbs the
    # rise (1.6, not 2.0), holds while stressed, and is rebuilt once calm again.
    x = [1.0] * 10 + [1.6, 1.7, 1.65, 1.2]
    out = _apc(x, buffer=0.25)
    assert out[:10] == pytest.approx([1.25] * 10)
    assert out[10:] == pytest.approx([1.6, 1.7, 1.7, 1.5])


def test_lookback_years_used_says_when_history_is_short() -> None:
    assert lookback_years_used(730) == pytest.approx(2.0)
    assert lookback_years_used(LOOKBACK_RETURNS + 100) == 10.0
    cal = calibrate_histories(load_histories(CSV, ["BTC", "SOL"], end=dt.date(2022, 5, 8)))
    assert cal.lookback_years["BTC"] == pytest.approx(1636 / 365)
    assert cal.lookback_years["SOL"] == pytest.approx(758 / 365)
    from engine.formats.report import dump_calibration

    doc = dump_calibration(cal)
    assert doc["lookback_years_required"] == 10 and doc["lookback_years"]["SOL"] < 10


# ------------------------------------------------------------ the one path


DAY = dt.date(2022, 5, 8)


def test_one_forecast_path_whatever_else_is_quoted() -> None:
    """BTC's forecast on 2022-05-08 is from its own 1,637 closes, quoted with SOL (759
    common closes) or not, and is the backtest's path value that day."""
    alone = calibrate_histories(load_histories(CSV, ["BTC"], end=DAY))
    with_sol = calibrate_histories(load_histories(CSV, ["BTC", "SOL"], end=DAY))
    assert alone.forecast["BTC"] == with_sol.forecast["BTC"]
    assert with_sol.closes == {"BTC": 1637, "SOL": 759} and with_sol.n_closes == 759
    h = load_history(CSV, ["BTC"])["BTC"]
    path = vol_paths(h, ApcConfig()).garch
    assert alone.forecast["BTC"] == path[h.index()[DAY]]


def _quotes(tmp: Path, day: dt.date, vols: dict[str, float]) -> Path:
    doc = {
        "format": "zkmargin/quotes@1",
        "as_of": day.isoformat(),
        "assets": [{"name": a, "spot": 100.0, "vol": v, "depth": 1e9} for a, v in vols.items()],
        "instruments": [
            {"id": i + 1, "name": f"{a}-PERP", "asset": a, "kind": "perp"} for i, a in enumerate(vols)
        ],
    }
    path = tmp / "quotes.json"
    path.write_text(json.dumps(doc))
    return path


def _params(tmp: Path, assets: list[str], apc: dict[str, object] | None) -> Path:
    doc = json.loads((ROOT / "examples" / "backtest" / "params.json").read_text())
    doc["kappa"] = {a: doc["kappa"][a] for a in assets}
    for key in ("haircut", "borrow"):
        doc["row_config"][key] = {a: doc["row_config"][key][a] for a in assets}
    doc["row_config"].pop("apc", None)
    if apc is not None:
        doc["row_config"]["apc"] = apc
    path = tmp / "params.json"
    path.write_text(json.dumps(doc))
    return path


def _market_build(tmp: Path, day: dt.date, vols: dict[str, float], apc: dict[str, object] | None) -> dict:
    from zkmargin.cli.main import main

    out = tmp / "market.json"
    argv = ["market", "build", "--quotes", str(_quotes(tmp, day, vols))]
    argv += ["--params", str(_params(tmp, list(vols), apc)), "--profile", "demo", "--epoch", "1"]
    argv += ["--history", str(CSV), "--out", str(out)]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code in (0, None)
    return json.loads(out.read_text())


def test_market_build_and_calibrate_give_the_backtest_forecast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zkmargin.cli.main import main

    h = load_history(CSV, ["BTC"])["BTC"]
    expected = float(vol_paths(h, ApcConfig()).garch[h.index()[DAY]])
    doc = _market_build(tmp_path, DAY, {"BTC": 0.5, "SOL": 0.9}, None)
    assert doc["source"]["row_config"]["forecast"]["BTC"] == expected
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["calibrate", "--history", str(CSV), "--assets", "BTC,SOL", "--json"])
    out = capsys.readouterr().out
    btc_today = calibrate_histories(load_histories(CSV, ["BTC", "SOL"])).forecast["BTC"]
    assert json.loads(out)["forecast"]["BTC"] == btc_today


def test_the_speed_limit_limits_what_is_charged(tmp_path: Path) -> None:
    """ETH on 2020-03-12: the 30-day proxy (the implied stand-in) jumps from 106 % to
    219 %; the charged scan volatility rises at most 10 %, the market built for the day
    from history holds the backtest's charged value, and its rows use it."""
    day = dt.date(2020, 3, 12)
    h = load_history(CSV, ["ETH"])["ETH"]
    paths = vol_paths(h, ApcConfig(speed_limit=0.10))
    i = h.index()[day]
    assert paths.realised30[i] > 2.0 * paths.realised30[i - 1]
    charged = float(paths.garch_apc[i])
    assert charged <= 1.10 * paths.garch_apc[i - 1] + 1e-12 and charged < paths.realised30[i]
    doc = _market_build(tmp_path, day, {"ETH": float(paths.realised30[i])}, {"speed_limit": 0.10})
    config = doc["source"]["row_config"]
    assert config["scan_vol"]["ETH"] == pytest.approx(charged, rel=1e-12)
    from engine.formats import load_market
    from engine.market_builder import asset_scan_ranges
    from engine.scenarios import scan_range

    mf = load_market(tmp_path / "market.json")
    m = asset_scan_ranges(mf.source.assets, mf.config)[0]
    assert m == scan_range(config["scan_vol"]["ETH"], mf.config)
    q = AssetQuote("ETH", 100.0, float(paths.realised30[i]), 1e9)
    assert m < scan_range(q.vol, mf.config)  # the proxy alone would charge more
    assert InstrumentSpec(1, "ETH-PERP", "ETH", "perp").kind == "perp"


def test_apc_is_a_governed_option_of_the_params(tmp_path: Path) -> None:
    """row_config.apc is read from the params file, written into the market file, and a
    bad setting names its field."""
    from engine.formats import load_market, load_params

    doc = _market_build(tmp_path, DAY, {"BTC": 0.5}, {"speed_limit": 0.05, "floor": True})
    assert load_params(tmp_path / "params.json").row_config.apc == ApcConfig(speed_limit=0.05, floor=True)
    assert load_market(tmp_path / "market.json").config.apc == ApcConfig(speed_limit=0.05, floor=True)
    assert "BTC" in doc["source"]["row_config"]["scan_vol"]
    _params(tmp_path, ["BTC"], {"buffer": 3})
    with pytest.raises(Exception, match=r"params\.row_config\.apc\.buffer"):
        load_params(tmp_path / "params.json")

"""Calibration from the closes CSV (engine/calibration/calibrate.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from engine.calibration.calibrate import calibrate, load_closes_csv, load_closes_table
from engine.calibration.correlation import is_psd
from engine.errors import InputError
from engine.fixedpoint import SCALE
from engine.model import RowConfig

EXCERPT = Path(__file__).resolve().parents[2] / "examples" / "data" / "closes-excerpt.csv"
ASSETS = ["BTC", "ETH", "SOL", "BNB", "AVAX", "DOT"]


def test_excerpt_loads_aligned() -> None:
    table = load_closes_table(EXCERPT)
    assert list(table.closes) == ASSETS
    assert len(table.dates) == 400
    assert table.dates[-1] == dt.date(2022, 11, 14)
    assert dt.date(2022, 5, 12) in table.dates  # LUNA collapse
    assert all(len(v) == 400 for v in table.closes.values())
    window = load_closes_csv(EXCERPT, ["ETH", "BTC"], start=dt.date(2022, 1, 1), end=dt.date(2022, 1, 31))
    assert list(window) == ["ETH", "BTC"] and len(window["BTC"]) == 31


def test_calibrate_the_excerpt() -> None:
    cal = calibrate(load_closes_csv(EXCERPT))
    assert cal.assets == tuple(ASSETS) and cal.n_closes == 400
    for name in ASSETS:
        assert cal.forecast[name] == max(cal.ewma[name], cal.garch[name].forecast)
        assert 0.3 < cal.forecast[name] < 4.0
    assert 0.3 < cal.forecast["BTC"] < 1.5
    c = cal.correlation
    assert np.array_equal(c, c.T) and np.all(np.diag(c) == 1.0) and is_psd(c)
    assert 0.5 < c[0, 1] < 1.0  # BTC/ETH move together
    r = np.array(cal.rho)
    assert r.shape == (6, 6) and np.all(np.diag(r) == SCALE) and np.array_equal(r, r.T)
    sub = np.array(cal.rho_for(["ETH", "BTC"], 4))
    assert sub[0, 1] == r[1, 0] and sub[2, 2] == SCALE and sub[0, 2] == 0
    cfg = cal.row_config(RowConfig(z=2.5))
    assert cfg.z == 2.5 and cfg.forecast["SOL"] == cal.forecast["SOL"]


def test_empty_cells_before_listing_are_dropped(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text("date,A,B\n2022-01-01,1.0,\n2022-01-02,1.1,5.0\n2022-01-03,1.2,5.5\n")
    assert load_closes_csv(p) == {"A": [1.1, 1.2], "B": [5.0, 5.5]}
    assert load_closes_csv(p, ["A"]) == {"A": [1.0, 1.1, 1.2]}


@pytest.mark.parametrize(
    ("text", "field_part"),
    [
        ("", "c.csv"),
        ("day,A\n2022-01-01,1\n", "line 1"),
        ("date,A\n2022-01-01,1,2\n", "line 2"),
        ("date,A\n01/02/2022,1\n", "line 2].date"),
        ("date,A\n2022-01-02,1\n2022-01-01,1\n", "line 3].date"),
        ("date,A\n2022-01-01,abc\n", "line 2].A"),
        ("date,A\n2022-01-01,-4\n", "line 2].A"),
        ("date,A,B\n2022-01-01,1,\n", "c.csv"),  # no date where both have a close
    ],
)
def test_malformed_csv(tmp_path: Path, text: str, field_part: str) -> None:
    p = tmp_path / "c.csv"
    p.write_text(text)
    with pytest.raises(InputError) as err:
        load_closes_csv(p)
    assert field_part in err.value.field


def test_unknown_asset_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_closes_csv(EXCERPT, ["BTC", "LUNA"])
    assert err.value.field == "assets" and "LUNA" in err.value.message
    with pytest.raises(InputError):
        load_closes_csv(tmp_path / "missing.csv")


def test_calibrate_rejects_misaligned_or_short_series() -> None:
    with pytest.raises(InputError):
        calibrate({"A": [1.0] * 40, "B": [1.0] * 41})
    with pytest.raises(InputError):
        calibrate({"A": [1.0 + i for i in range(10)]})
    with pytest.raises(InputError) as err:
        calibrate({"A": [1.0 + i for i in range(40)], "B": [1.0] * 39 + [-1.0]})
    assert err.value.field.startswith("closes_by_asset[B]")

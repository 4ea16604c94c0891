"""A small world for the cascade tests: BTC and ETH closes from mid-2020 to the end of the
May 2021 crash (the forecast paths are causal, so the window's values are the ones a
longer history would give but for the ten-year look-back of the APC tools), a
two-asset portfolio file for the depths and the fixed model's rates."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from backtest.history import AssetHistory, load_history
from backtest.portfolios import load_portfolios
from backtest.stats import CRASHES
from backtest.walk import Walk
from cascade.prices import PricePath
from cascade.sweep import window_path
from engine.calibration.procyclicality import ApcConfig
from engine.formats import load_params

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
WINDOW = "may-2021"


def write_small_inputs(folder: Path) -> tuple[Path, Path]:
    """A closes CSV (BTC, ETH, 2020-06-01..2021-05-25) and a portfolio file for both."""
    rows = list(csv.reader((EXAMPLES / "data" / "crypto-daily-closes.csv").open()))
    head = rows[0]
    keep = [head.index("date"), head.index("BTC"), head.index("ETH")]
    csv_path = folder / "closes.csv"
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([head[i] for i in keep])
        for r in rows[1:]:
            if "2020-06-01" <= r[0] <= "2021-05-25":
                w.writerow([r[i] for i in keep])
    doc = json.loads((EXAMPLES / "backtest" / "portfolios.json").read_text())
    doc["assets"] = {a: doc["assets"][a] for a in ("BTC", "ETH")}
    doc["portfolios"] = [p for p in doc["portfolios"] if p["name"] == "btc-eth-pair"]
    portfolios = folder / "portfolios.json"
    portfolios.write_text(json.dumps(doc))
    return csv_path, portfolios


@dataclasses.dataclass
class World:
    walk: Walk
    history: dict[str, AssetHistory]
    csv: Path
    portfolios: Path

    def path(self, steps_per_day: int = 4, days: int | None = None) -> PricePath:
        first, last = CRASHES[WINDOW]
        if days is not None:
            last = first + dt.timedelta(days=days)
        return window_path(self.walk, self.history, WINDOW, first, last, steps_per_day, 0.0, 0)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("cascade")
    csv_path, portfolios_path = write_small_inputs(folder)
    portfolios = load_portfolios(portfolios_path)
    params = load_params(EXAMPLES / "backtest" / "params.json")
    history = load_history(csv_path, list(portfolios.assets))
    walk = Walk(history, portfolios, params, params.row_config.apc or ApcConfig(), (1,))
    return World(walk, history, csv_path, portfolios_path)

"""``zkmargin backtest`` over the whole 2017-2022 history, timed as a user runs it.

    python -m bench.backtest_run [--out bench/results/backtest.json]

Runs the CLI (every model, every example portfolio, MPOR 1 and 2) into a temporary
folder and keeps its aggregate figures, with the wall time and each model's average IM
relative to the trailing-30-day model's (the cost the anti-procyclicality targets cap).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from engine.fileio import write_json_atomic

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "backtest.json"
CSV = ROOT / "examples" / "data" / "crypto-daily-closes.csv"


def run(out: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report"
        began = time.perf_counter()
        cmd = [
            sys.executable,
            "-m",
            "zkmargin.cli.main",
            "backtest",
            "--history",
            str(CSV),
            "--out",
            str(report),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        seconds = time.perf_counter() - began
        figs = json.loads((report / "figures.json").read_text(encoding="utf-8"))
    aggregate = figs["aggregate"]
    for by_model in aggregate.values():
        base = by_model.get("trailing30", {}).get("mean_im")
        for a in by_model.values():
            a["mean_im_vs_trailing30"] = a["mean_im"] / base if base else None
    doc = {"seconds": round(seconds, 1), "aggregate": aggregate, "apc": figs["apc"], "models": figs["models"]}
    write_json_atomic(out, doc)
    return doc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    doc = run(args.out)
    print(json.dumps({"seconds": doc["seconds"]}))
    for mpor, by_model in doc["aggregate"].items():
        for model, a in by_model.items():
            print(
                f"MPOR {mpor} {model:<11} lowest coverage {100 * a['min_coverage']:.2f}% "
                f"IM/trailing30 {a['mean_im_vs_trailing30']:.3f} "
                f"peak/trough {a['median_peak_to_trough']:.2f} max 5d rise {100 * a['median_largest_increase_5d']:.0f}%"
            )


if __name__ == "__main__":
    main()

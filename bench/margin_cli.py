"""``zkmargin margin`` end to end on many accounts: file in, margins, commitments, report out.

    python -m bench.margin_cli [--accounts 100000 1000000] [--python-accounts 20000]

Builds the example market (standard profile: 4 assets, 16 slots), writes an accounts file
of random accounts with every slot held and random 250-bit salts, then times the CLI as a
user runs it (``zkmargin margin --market M --params P ACCOUNTS --out report.json``) and
records its peak memory (the child's max RSS). Each size runs with the native Poseidon
(the default when built) and, for the smaller ``--python-accounts``, with
``ZKMARGIN_NATIVE=0`` (pure Python) for comparison. Figures go to
``bench/results/margin_cli.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.engine_throughput import random_accounts
from engine.fileio import write_json_atomic
from engine.formats import LabeledAccount, dump_accounts, load_market
from engine.poseidon import native_poseidon_available

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "margin_cli.json"
ZKMARGIN = [sys.executable, "-m", "zkmargin.cli.main"]
#: Runs a command and reports that one child's CPU time and peak memory on stderr.
_MEASURED = [
    sys.executable,
    "-c",
    "import json, resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(json.dumps({'cpu': u.ru_utime + u.ru_stime, 'maxrss_kb': u.ru_maxrss}), file=sys.stderr); "
    "sys.exit(r.returncode)",
]


def _market(folder: Path) -> Path:
    out = folder / "market.json"
    subprocess.run(
        [
            *ZKMARGIN,
            "market",
            "build",
            "--quotes",
            str(ROOT / "examples/quotes.json"),
            "--params",
            str(ROOT / "examples/params.json"),
            "--profile",
            "standard",
            "--epoch",
            "1",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


def _accounts(market_path: Path, n: int, folder: Path, seed: int = 7) -> Path:
    market = load_market(market_path).market
    rng = np.random.default_rng(seed)
    salts = rng.integers(0, 2**62, size=(n, 4), dtype=np.int64)
    accounts = []
    for i, a in enumerate(random_accounts(market, n, rng)):
        salt = int.from_bytes(b"".join(int(x).to_bytes(8, "little") for x in salts[i]), "little") >> 6
        accounts.append(LabeledAccount(a.__class__(10_000 + i, 0, salt, a.cash, a.slots)))
    path = folder / f"accounts-{n}.json"
    write_json_atomic(path, dump_accounts(accounts))
    return path


def _run(market: Path, accounts: Path, out: Path, native: bool) -> dict[str, Any]:
    env = os.environ | {"ZKMARGIN_NATIVE": "1" if native else "0"}
    cmd = [
        *ZKMARGIN,
        "margin",
        "--market",
        str(market),
        "--params",
        str(ROOT / "examples/params.json"),
        str(accounts),
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    proc = subprocess.run([*_MEASURED, *cmd], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"zkmargin margin failed ({proc.returncode}): {proc.stderr[-2000:]}")
    usage = json.loads(proc.stderr.strip().splitlines()[-1])
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(usage["cpu"], 2),
        "peak_rss_mb": round(usage["maxrss_kb"] / 1024, 1),
        "report_bytes": out.stat().st_size,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100_000])
    parser.add_argument("--python-accounts", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"native_built": native_poseidon_available(), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        market = _market(folder)
        sizes = sorted({*args.accounts, args.python_accounts})
        for n in sizes:
            accounts = _accounts(market, n, folder)
            modes = [True] if n != args.python_accounts else [True, False]
            for native in modes:
                if native and not results["native_built"]:
                    continue
                figures = _run(market, accounts, folder / "report.json", native)
                row = {"accounts": n, "poseidon": "native" if native else "python", **figures}
                results["runs"].append(row)
                print(json.dumps(row), flush=True)
            accounts.unlink()
    results["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["cpus"] = os.cpu_count()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""`zkmargin prove` as a whole command (a fresh process each run: imports, reading the
files, keys, witness, proof, the check of the new proof, the bundle), arkworks and snarkjs
side by side in one run, interleaved.

    .venv/bin/python -m bench.prove_command                       # standard profile, 5 runs each
    .venv/bin/python -m bench.prove_command --profile demo --runs 3

The profile's one-account keys are made first if missing (`zkmargin setup --circuit
margin`, cached), and a market is built from examples/ (`zkmargin market build`); the
account is examples/accounts.json's carol-short-vol, as in the README. Each run's wall
time is measured around the whole process; the command's own figures (witness, proof)
come from its --json output. Figures go to bench/results/prove_command.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.fileio import write_json_atomic

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "prove_command.json"
EXAMPLES = ROOT / "examples"
BACKENDS = ("arkworks", "snarkjs")
ACCOUNT = "carol-short-vol"
TARGET_SECONDS = 2.0  # issue 27: arkworks, standard profile, the whole command


def _zkmargin(*args: str) -> list[str]:
    return [sys.executable, "-m", "zkmargin.cli.main", *args]


def _check(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[2:])} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return proc.stdout


def prepare(profile: str, folder: Path) -> Path:
    """The profile's MarginCheck keys (cached) and a market of examples/; the market's path."""
    _check(_zkmargin("setup", "--profile", profile, "--circuit", "margin"))
    market = folder / "market.json"
    _check(
        _zkmargin(
            "market", "build", "--quotes", str(EXAMPLES / "quotes.json"), "--params",
            str(EXAMPLES / "params.json"), "--profile", profile, "--epoch", "1", "--out", str(market),
        )
    )  # fmt: skip
    return market


def prove_once(market: Path, backend: str, out: Path) -> dict[str, Any]:
    """One whole `zkmargin prove` in a fresh process: its wall time and its --json figures."""
    cmd = _zkmargin(
        "prove", "--market", str(market), "--params", str(EXAMPLES / "params.json"), "--account",
        str(EXAMPLES / "accounts.json"), "--select", ACCOUNT, "--out", str(out), "--prover", backend, "--json",
    )  # fmt: skip
    started = time.perf_counter()
    stdout = _check(cmd)
    wall = time.perf_counter() - started
    report = json.loads(stdout)
    return {
        "wall_seconds": wall,
        "backend": report["backend"],
        "witness_seconds": report["witness_seconds"],
        "prove_seconds": report["prove_seconds"],
        "status": report["status"],
    }


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


def run(profile: str, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="zkmargin-bench-") as tmp:
        folder = Path(tmp)
        market = prepare(profile, folder)
        prove_once(market, BACKENDS[0], folder / "warm.json")  # page cache: the keys, node, the wasm
        samples: dict[str, list[dict[str, Any]]] = {b: [] for b in BACKENDS}
        for i in range(runs):
            for backend in BACKENDS if i % 2 == 0 else BACKENDS[::-1]:  # interleaved, both orders
                samples[backend].append(prove_once(market, backend, folder / f"{backend}-{i}.json"))
    figures: dict[str, Any] = {}
    for backend, rows in samples.items():
        figures[backend] = {
            "command_seconds": _stats([r["wall_seconds"] for r in rows]),
            "witness_seconds": _stats([r["witness_seconds"] for r in rows]),
            "prove_seconds": _stats([r["prove_seconds"] for r in rows]),
            "backend_reported": sorted({r["backend"] for r in rows}),
        }
    ark, snark = (figures[b]["command_seconds"]["min"] for b in BACKENDS)
    return {
        "profile": profile,
        "account": ACCOUNT,
        "runs": runs,
        "backends": figures,
        "snarkjs_over_arkworks_min": round(snark / ark, 2),
        "target_seconds": TARGET_SECONDS,
        "target_met": ark <= TARGET_SECONDS,
        "cores": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(args.profile, args.runs)
    write_json_atomic(args.out, result)
    for backend in BACKENDS:
        f = result["backends"][backend]
        c, w, p = f["command_seconds"], f["witness_seconds"], f["prove_seconds"]
        print(
            f"{backend:9s} whole command min {c['min']:.2f} s, median {c['median']:.2f} s "
            f"(witness {w['median']:.2f} s, proof {p['median']:.2f} s; {c['n']} runs)"
        )
    met = "met" if result["target_met"] else "NOT met"
    print(
        f"snarkjs / arkworks (min): {result['snarkjs_over_arkworks_min']}x; "
        f"target {TARGET_SECONDS} s for arkworks: {met}; figures in {args.out}"
    )


if __name__ == "__main__":
    main()

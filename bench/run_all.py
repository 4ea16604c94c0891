"""Every benchmark in one command; all figures in bench/results/figures.json and figures.md.

    python -m bench.run_all                # engine, prover (test, demo), batch gas (real proofs), margin CLI, backtest,
                                           # crash drill, reconciliation, browser audit
    python -m bench.run_all --standard     # also the standard profile (compile + setup: many minutes)
    python -m bench.run_all --only batch   # one part (names: engine, prover-test, prover-demo, batch, ...)

Each part runs as its own process (``python -m bench.<module>``), exactly as it runs
alone, writing its own JSON in the results folder; this command then gathers those
files with the machine's facts (cores, load average at start, Python and node versions,
date). A failing part is reported with its exit code and the end of its output, the
other parts still run, and the command exits non-zero if any part failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures_md import render_markdown

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
TAIL_LINES = 40


@dataclass(frozen=True)
class Part:
    """One sub-benchmark: its name, module, arguments and the JSON it writes."""

    name: str
    module: str
    args: tuple[str, ...]
    output: Path
    key: str | None = None  # the entry of a shared results file (prover.json: the profile)

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]


def plan(args: argparse.Namespace) -> list[Part]:
    """The parts to run, in order."""
    out: Path = args.results
    engine = out / "engine_throughput.json"
    prover = out / "prover.json"
    profiles = ["test", "demo", *(["standard"] if args.standard else [])]
    parts = [
        Part(
            "engine",
            "bench.engine_throughput",
            ("--accounts", str(args.accounts), "--out", str(engine)),
            engine,
        )
    ]
    for profile in profiles:
        prover_args = ("--profile", profile, "--reps", str(args.reps), "--out", str(prover))
        parts.append(Part(f"prover-{profile}", "bench.prover_bench", prover_args, prover, key=profile))
    batch = out / "batch.json"
    parts.append(Part("batch", "bench.batch_gas", ("--sha256", "--out", str(batch)), batch))
    margin_cli = out / "margin_cli.json"
    parts.append(
        Part(
            "margin-cli",
            "bench.margin_cli",
            ("--accounts", str(args.accounts), "--python-accounts", "10000", "--out", str(margin_cli)),
            margin_cli,
        )
    )
    backtest = out / "backtest.json"
    parts.append(Part("backtest", "bench.backtest_run", ("--out", str(backtest)), backtest))
    drill = out / "crash_drill.json"
    parts.append(Part("crash-drill", "bench.crash_drill", ("--out", str(drill)), drill))
    reconcile = out / "reconcile.json"
    parts.append(Part("reconcile", "bench.reconcile", ("--out", str(reconcile)), reconcile))
    web_audit = out / "web_audit.json"
    parts.append(Part("web-audit", "bench.web_audit", ("--out", str(web_audit)), web_audit))
    parts.append(Part("prove-command", "bench.prove_command", ("--profile", profiles[-1], "--out", str(out / "prove_command.json")), out / "prove_command.json"))  # fmt: skip
    if args.only:
        unknown = set(args.only) - {p.name for p in parts}
        if unknown:
            raise SystemExit(
                f"unknown part(s): {', '.join(sorted(unknown))}; known: {', '.join(p.name for p in parts)}"
            )
        parts = [p for p in parts if p.name in args.only]
    return parts


def _version(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unavailable ({exc})"
    return proc.stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts() -> dict[str, Any]:
    """Where and when the figures were measured."""
    facts: dict[str, Any] = {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        from prover.toolchain.tools import find_toolchain

        tools = find_toolchain()
        facts["node"] = _version([str(tools.node), "--version"])
        facts["snarkjs"] = tools.snarkjs_version
        facts["circom"] = tools.circom_version
    except Exception as exc:  # the facts must not stop the benchmarks
        facts["node"] = f"unavailable ({exc})"
    return facts


def run_part(part: Part) -> dict[str, Any]:
    """Run one part, echoing its output; return what happened and the figures it wrote."""
    print(f"\n==> {part.name}: {' '.join(part.command()[1:])}", flush=True)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            part.command(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            tail.append(line.rstrip("\n"))
        code = proc.wait()
    except OSError as exc:
        code, tail = -1, deque([f"could not start: {exc}"])
    seconds = round(time.perf_counter() - started, 1)
    shown = " ".join(part.command()[1:]).replace(f"{ROOT}/", "")
    record: dict[str, Any] = {"name": part.name, "command": shown, "seconds": seconds}
    figures, problem = _read_figures(part) if code == 0 else (None, None)
    record["ok"] = code == 0 and figures is not None
    record["exit_code"] = code
    if not record["ok"]:
        record["error"] = problem or f"exit code {code}"
        record["output_tail"] = list(tail)
        print(f"==> {part.name} FAILED ({record['error']})", flush=True)
    else:
        print(f"==> {part.name}: ok in {seconds:.0f} s", flush=True)
    record["figures"] = figures
    return record


def _read_figures(part: Part) -> tuple[dict[str, Any] | None, str | None]:
    try:
        data = json.loads(part.output.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"no readable results in {part.output}: {exc}"
    if part.key is not None:
        data = data.get(part.key)
        if data is None:
            return None, f"{part.output} has no entry {part.key!r}"
    return data, None


def collect(parts: list[Part], machine: dict[str, Any], argv: list[str]) -> dict[str, Any]:
    """Run every part and gather one document."""
    runs = [run_part(part) for part in parts]
    document: dict[str, Any] = {
        "format": "zkmargin-bench/1",
        "command": " ".join(["python -m bench.run_all", *argv]),
        "machine": machine,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "ok": all(r["ok"] for r in runs),
        "runs": [{k: v for k, v in r.items() if k != "figures"} for r in runs],
        "engine": None,
        "prover": {},
        "batch": None,
        "margin_cli": None,
        "backtest": None,
        "crash_drill": None,
        "reconcile": None,
        "web_audit": None,
        "prove_command": None,
    }
    for run in runs:
        name = run["name"]
        if name == "engine":
            document["engine"] = run["figures"]
        elif name.startswith("prover-"):
            document["prover"][name.removeprefix("prover-")] = run["figures"]
        elif name == "batch":
            document["batch"] = run["figures"]
        elif name == "margin-cli":
            document["margin_cli"] = run["figures"]
        elif name == "crash-drill":
            document["crash_drill"] = run["figures"]
        elif name == "reconcile":
            document["reconcile"] = run["figures"]
        elif name == "backtest":
            document["backtest"] = run["figures"]
        elif name == "web-audit":
            document["web_audit"] = run["figures"]
        elif name == "prove-command":
            document["prove_command"] = run["figures"]
    return document


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--standard", action="store_true", help="also bench the standard profile (slow)")
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts of the engine benchmark")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each prover measurement")
    parser.add_argument("--only", nargs="+", default=None, metavar="PART", help="run only these parts")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results folder")
    args = parser.parse_args(argv)
    machine = machine_facts()
    parts = plan(args)
    args.results.mkdir(parents=True, exist_ok=True)
    document = collect(parts, machine, argv)
    json_path = args.results / "figures.json"
    md_path = args.results / "figures.md"
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(document), encoding="utf-8")
    print(f"\nfigures: {json_path} and {md_path}")
    failed = [r["name"] for r in document["runs"] if not r["ok"]]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("all benchmarks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

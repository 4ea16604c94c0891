"""Prover figures for one circuit: compile, setup, witness, proof (worker vs CLI), verify, key size.

    python -m bench.prover_bench --profile toy            # the test fixture circuit
    python -m bench.prover_bench --profile test --input examples/circuit-input.json
    python -m bench.prover_bench --profile standard --fresh-compile --reps 5

A margin profile is compiled and set up through the normal cache (a missing ptau
is resolved as ``zkmargin setup`` does). The circuit input is ``--input`` if given,
else one of the example accounts (``--account``, default the first) priced on a
market built from ``examples/`` with ``zkmargin market build``; if that fails,
only the build and setup figures are recorded.
``--fresh-compile`` compiles again into a throw-away cache to time the compiler.
``--build-dir`` benches one existing build folder of the cache as it is.
Results are merged per profile into ``bench/results/prover.json``.
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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.profiles import PROFILES
from prover.backends.node_worker import NodeWorker
from prover.backends.snarkjs_cli import cli_prove, cli_verify
from prover.keys.artifacts import CircuitArtifacts, artifacts_from_dir, prepare_artifacts
from prover.toolchain.build import MARGIN_PUBLIC, CircuitSpec, build_circuit
from prover.toolchain.tools import find_toolchain
from prover.verification.verify_py import verify_groth16

RESULTS = Path(__file__).resolve().parent / "results" / "prover.json"
ROOT = Path(__file__).resolve().parent.parent
TOY_SPEC = CircuitSpec("toy-4", ROOT / "tests/prover/fixtures/toy.circom", "Toy", (4,), MARGIN_PUBLIC)
TOY_INPUT = {
    "commitment": "29",
    "market_root": "7",
    "params_hash": "11",
    "x": ["2", "3", "2", "2"],
    "salt": "5",
}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _stats(samples: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(samples), 4),
        "min": round(min(samples), 4),
        "max": round(max(samples), 4),
        "n": len(samples),
    }


def bench_build(arts: CircuitArtifacts, fresh: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "constraints": arts.constraints,
        "wires": arts.build.manifest["r1cs"]["wires"],
        "public_signals": arts.public_signals,
        "ptau_power_needed": arts.ptau_power,
        "compile_seconds_recorded": arts.build.manifest["compile_seconds"],
    }
    if fresh:
        with tempfile.TemporaryDirectory(prefix="zkmargin-bench-") as tmp:
            seconds, _ = _timed(lambda: build_circuit(arts.spec, cache=Path(tmp)))
        out["compile_seconds_fresh"] = round(seconds, 3)
    assert arts.setup is not None
    record = arts.setup.record
    out |= {
        "setup_seconds": record["seconds"],
        "setup_seconds_total": round(sum(record["seconds"].values()), 3),
        "ptau": record["ptau"],
        "zkey_bytes": arts.zkey.stat().st_size,
        "verifier_sol_bytes": arts.verifier_sol.stat().st_size,
    }
    return out


def bench_prove(arts: CircuitArtifacts, circuit_input: dict[str, Any], reps: int) -> dict[str, Any]:
    vkey = arts.vkey_json()
    worker = NodeWorker()
    start_s, _ = _timed(worker.start)
    try:
        first_s, first = _timed(lambda: worker.prove(arts.wasm, arts.zkey, circuit_input))
        warm = [worker.prove(arts.wasm, arts.zkey, circuit_input) for _ in range(reps)]
        warm_total = [
            _timed(lambda: worker.prove(arts.wasm, arts.zkey, circuit_input))[0] for _ in range(reps)
        ]
        snarkjs_verify = [
            _timed(lambda: worker.verify(vkey, first.public_signals, first.proof))[0] for _ in range(reps)
        ]
        assert worker.verify(vkey, first.public_signals, first.proof)
    finally:
        worker.stop()
    cli_runs = [_timed(lambda: cli_prove(arts.wasm, arts.zkey, circuit_input)) for _ in range(reps)]
    cli_verify_s, ok = _timed(lambda: cli_verify(arts.vkey, first.public_signals, first.proof))
    assert ok
    py = [_timed(lambda: verify_groth16(vkey, first.public_signals, first.proof)) for _ in range(reps)]
    assert all(result.ok for _, result in py)
    native = bench_native(arts, circuit_input, reps, first.public_signals, statistics.median(warm_total))
    return native | {
        "public_signals": first.public_signals,
        "worker_start_seconds": round(start_s, 3),
        "worker_first_proof_seconds": round(first_s, 3),
        "worker_witness_seconds": _stats([r.witness_seconds for r in warm]),
        "worker_prove_seconds": _stats([r.prove_seconds for r in warm]),
        "worker_total_seconds": _stats(warm_total),
        "cli_witness_seconds": _stats([r.witness_seconds for _, r in cli_runs]),
        "cli_prove_seconds": _stats([r.prove_seconds for _, r in cli_runs]),
        "cli_total_seconds": _stats([s for s, _ in cli_runs]),
        "worker_speedup_vs_cli": round(
            statistics.median([s for s, _ in cli_runs]) / statistics.median(warm_total), 2
        ),
        "snarkjs_verify_worker_seconds": _stats(snarkjs_verify),
        "snarkjs_verify_cli_seconds": round(cli_verify_s, 3),
        "py_ecc_verify_seconds": _stats([s for s, _ in py]),
    }


def bench_native(
    arts: CircuitArtifacts, circuit_input: dict[str, Any], reps: int, signals: list[str], snarkjs_warm: float
) -> dict[str, Any]:
    """arkworks (in process) and rapidsnark (helper process), interleaved on the same
    witness: key load, first and warm proofs (wall; CPU of this process for arkworks, whose
    threads all run here), the full path with the witness, and peak memory."""
    import resource

    from prover.backends.native import NativeProver, native_available, proving_key
    from prover.backends.rapidsnark import RapidsnarkHelper, RapidsnarkProver, rapidsnark_available

    out: dict[str, Any] = {}
    if not native_available():
        return {"arkworks": "not built"}
    worker = NodeWorker().start()
    wtns = Path(tempfile.mkdtemp()) / "bench.wtns"
    worker.witness(arts.wasm, circuit_input, wtns)
    data = wtns.read_bytes()
    native = NativeProver(worker)
    helper = RapidsnarkHelper() if rapidsnark_available() else None
    try:
        load_s, key = _timed(lambda: proving_key(arts.zkey))
        first_s, first = _timed(lambda: native.prove(arts.wasm, arts.zkey, circuit_input))
        ark_prove: list[float] = []
        ark_cpu: list[float] = []
        rs_prove: list[float] = []
        rs_first = None
        if helper is not None:
            helper.start()
            rs_first, _ = _timed(lambda: helper.prove_wtns(arts.zkey, wtns))
        for _ in range(max(reps, 5)):
            cpu = time.process_time()
            ark_prove.append(_timed(lambda: key.prove_wtns(data))[0])
            ark_cpu.append(time.process_time() - cpu)
            if helper is not None:
                rs_prove.append(_timed(lambda: helper.prove_wtns(arts.zkey, wtns))[0])
        full = [
            _timed(lambda: native.prove(arts.wasm, arts.zkey, circuit_input)) for _ in range(max(reps, 5))
        ]
        floors = [key.msm_floor(data) for _ in range(3)]  # the proof's own MSMs, alone
        floor_g1 = statistics.median(g1 for g1, _ in floors)
        floor_g2 = statistics.median(g2 for _, g2 in floors)
        if helper is not None:
            rs_full = RapidsnarkProver(worker, helper)
            rs_result = rs_full.prove(arts.wasm, arts.zkey, circuit_input)
            assert rs_result.public_signals == signals
            assert verify_groth16(arts.vkey_json(), rs_result.public_signals, rs_result.proof).ok
            out |= {
                "rapidsnark_first_proof_seconds": round(rs_first or 0.0, 3),
                "rapidsnark_prove_seconds": _stats(rs_prove),
                "rapidsnark_speedup_vs_snarkjs_worker": round(snarkjs_warm / statistics.median(rs_prove), 2),
            }
        else:
            out["rapidsnark"] = "not built"
    finally:
        if helper is not None:
            helper.stop()
        native.stop()
        wtns.unlink(missing_ok=True)
    assert first.public_signals == signals  # the same statement as snarkjs's proof
    assert verify_groth16(arts.vkey_json(), first.public_signals, first.proof).ok
    warm = statistics.median([w for w, _ in full])
    return out | {
        "arkworks_key_load_seconds": round(load_s, 3),
        "arkworks_first_proof_seconds": round(first_s, 3),
        "arkworks_prove_seconds": _stats(ark_prove),
        "arkworks_cpu_seconds_in_process": _stats(ark_cpu),
        "arkworks_witness_seconds": _stats([r.witness_seconds for _, r in full]),
        "arkworks_total_seconds": _stats([w for w, _ in full]),
        "arkworks_speedup_vs_snarkjs_worker": round(snarkjs_warm / warm, 2),
        "msm_floor_g1_seconds": round(floor_g1, 4),
        "msm_floor_g2_seconds": round(floor_g2, 4),
        "arkworks_prove_over_msm_floor": round(statistics.median(ark_prove) / (floor_g1 + floor_g2), 2),
        "bench_process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


EXAMPLES = {"test": ("quotes-test.json", "params-test.json", "accounts-test.json")}
EXAMPLES_DEFAULT = ("quotes.json", "params.json", "accounts.json")


def example_input(profile: str, account: int) -> tuple[dict[str, Any], str]:
    """Circuit input for an example account: market built by the CLI, input by ``prover.statements.witness_input``."""
    from engine.formats import load_accounts, load_market, load_params
    from prover.offline.witness_input import build_input

    quotes, params, accounts = (ROOT / "examples" / n for n in EXAMPLES.get(profile, EXAMPLES_DEFAULT))
    with tempfile.TemporaryDirectory(prefix="zkmargin-bench-") as tmp:
        market_path = Path(tmp) / "market.json"
        cmd = [sys.executable, "-m", "zkmargin.cli.main", "market", "build", "--quotes", str(quotes)]
        cmd += ["--params", str(params), "--profile", profile, "--epoch", "1", "--out", str(market_path)]
        subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
        mf = load_market(market_path)
    risk = load_params(params).resolve(mf.market.asset_names, mf.market.profile, mf.calibrated_rho)
    chosen = load_accounts(accounts, mf.market)[account]
    return build_input(mf.market, risk, chosen.account), chosen.label


def run(
    profile: str,
    input_path: Path | None,
    reps: int,
    fresh: bool,
    ptau: Path | None,
    account: int = 0,
    build_dir: Path | None = None,
) -> dict[str, Any]:
    spec: str | CircuitSpec = TOY_SPEC if profile == "toy" else profile
    if build_dir is not None:
        setup_s, arts = _timed(lambda: artifacts_from_dir(build_dir))
        if arts.setup is None:
            raise SystemExit(f"{build_dir} has no keys: run zkmargin setup first")
    else:
        setup_s, arts = _timed(lambda: prepare_artifacts(spec, ptau=ptau, notify=print))
    result: dict[str, Any] = {
        "profile": profile,
        "circuit": arts.spec.label,
        "build_key": arts.key,
        "prepare_seconds_this_run": round(setup_s, 3),
        **bench_build(arts, fresh),
    }
    circuit_input: dict[str, Any] | None = TOY_INPUT if profile == "toy" else None
    if input_path is not None:
        circuit_input = json.loads(input_path.read_text(encoding="utf-8"))
        result["input"] = str(input_path)
    elif circuit_input is None:
        try:
            circuit_input, label = example_input(profile, account)
            result["input"] = f"examples account {label}"
        except Exception as exc:  # the bench still records build and setup figures
            result["input"] = f"none: example input failed ({exc})"
    if circuit_input is None:
        result["prove"] = "skipped: no circuit input"
    else:
        result["prove"] = bench_prove(arts, circuit_input, reps)
    tools = find_toolchain()
    result["machine"] = {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "node": str(tools.node),
        "snarkjs": tools.snarkjs_version,
        "compiler": tools.circom_version,
    }
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def save(result: dict[str, Any], path: Path = RESULTS) -> None:
    """Merge this profile's figures into the results file."""
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        existing = {}
    existing[result["profile"]] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(existing, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="toy", choices=["toy", *sorted(PROFILES)])
    parser.add_argument("--input", type=Path, default=None, help="circuit input JSON for proving")
    parser.add_argument("--account", type=int, default=0, help="index of the example account to prove")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--fresh-compile", action="store_true", help="also time a compile into a temp cache")
    parser.add_argument("--ptau", type=Path, default=None)
    parser.add_argument("--build-dir", type=Path, default=None, help="bench this existing build folder as is")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(
        args.profile,
        args.input,
        max(1, args.reps),
        args.fresh_compile,
        args.ptau,
        args.account,
        args.build_dir,
    )
    save(result, args.out)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

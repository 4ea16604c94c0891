"""Batched proofs: gas per account, constraints per account and proving time per account for
batch sizes K, from real MarginBatch proofs on the embedded chain (py-evm, Prague).

    .venv/bin/python -m bench.batch_gas [--profile test] [--sizes 1 4 8 32] [--out bench/results/batch.json]

For each K the batch circuit ``MarginBatch(A, k, d, K, D)`` of the profile is compiled and
given the native development setup (single-party), K liquidatable accounts of the demo's
crashed market are proved in one batch (arkworks), and the proof goes to a BatchGate:

* ``liquidate`` / ``attest`` with **fresh records**: the first proof these accounts ever
  had on this gate, so each record is a new storage slot (20,000 gas of the EVM's own);
* ``liquidate`` / ``attest`` with **existing records**: the accounts were proven before
  (by the other call), so each record slot is overwritten (2,900 gas).

Per account = the transaction's gas (21,000 intrinsic included) / K. The single-account
MarginCheck circuit of the same profile is proved too, for the ratios; the cost of posting
an accounts root is measured on the same gate. With ``--sha256`` the constraints of the
alternative design, one sha256 of the entries as the only public entry input, are
measured on circomlib's Sha256 (docs/circuit.md section 11 compares both).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.margin_scenario import LIQUIDATABLE, MarginScenario, build_scenario
from engine.accounts_tree import AccountsTree
from engine.commitments import commitment
from engine.fileio import write_json_atomic
from engine.profiles import get_profile
from prover.backends.prove import Prover
from prover.keys.artifacts import prepare_artifacts
from prover.statements.prove_batch import prove_batch
from prover.toolchain.build import CircuitSpec, batch_spec, build_circuit, margin_spec
from verifier_contracts.batch_gate import BatchGate, batch_calldata
from verifier_contracts.chain import embedded
from verifier_contracts.gate import deploy_verifier
from zkmargin.cli.render import console

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "batch.json"
DEFAULT_SIZES = (1, 4, 8, 32)
SHOCK = {"BTC": -0.12, "ETH": -0.16}  # the demo's crash on the test profile's assets
SHOCK_VOL = 1.35
TARGETS = {"K32": 20_000, "K8": 45_000}  # liquidate gas per account (issue: batched proofs)


def crashed_scenario(profile: str, accounts: int) -> MarginScenario:
    return build_scenario(profile, accounts=accounts).at_epoch(2, SHOCK, SHOCK_VOL)


def liquidatable(scenario: MarginScenario, count: int) -> list[int]:
    """``count`` ids of status 2 or 3 (lowest ids first)."""
    ids = [i for i in sorted(scenario.accounts) if scenario.status(i) >= LIQUIDATABLE]
    if len(ids) < count:
        raise SystemExit(f"the scenario has {len(ids)} liquidatable accounts, {count} needed")
    return ids[:count]


def measure_size(profile: str, size: int) -> dict[str, Any]:
    prof = get_profile(profile)
    started = time.perf_counter()
    artifacts = prepare_artifacts(batch_spec(prof, size), method="native")
    prepare_seconds = time.perf_counter() - started
    scenario = crashed_scenario(profile, max(16, 4 * size))
    ids = liquidatable(scenario, size)
    tree = AccountsTree({i: commitment(a) for i, a in scenario.accounts.items()}, depth=prof.accounts_depth)
    accounts = [scenario.accounts[i] for i in ids]
    with Prover() as prover:
        prove_batch(
            scenario.market, scenario.params, accounts, tree, artifacts, prover, self_check=False
        )  # warm
        proof = prove_batch(scenario.market, scenario.params, accounts, tree, artifacts, prover)
        backend = prover.backend
    call = batch_calldata(proof.proof.proof, proof.public_signals)
    verifier_sol = artifacts.verifier_sol.read_text(encoding="utf-8")

    def gate() -> BatchGate:
        chain = embedded()
        verifier, _ = deploy_verifier(chain, verifier_sol)
        deployed, _ = BatchGate.deploy(chain, verifier, size)
        deployed.post_market(scenario.market_root, scenario.epoch)
        deployed.set_params(scenario.params_hash)
        deployed.post_accounts(tree.root, 1)
        return deployed

    first = gate()
    attest_fresh = first.attest_batch(call).gas_used
    liquidate_existing = first.liquidate_batch(call).gas_used
    second = gate()
    liquidate_fresh = second.liquidate_batch(call).gas_used
    attest_existing = second.attest_batch(call).gas_used
    post_accounts = second.post_accounts(tree.root ^ 1, 2).gas_used
    result = proof.proof
    return {
        "batch_size": size,
        "constraints": artifacts.constraints,
        "constraints_per_account": round(artifacts.constraints / size),
        "public_signals": artifacts.public_signals,
        "prepare_seconds": round(prepare_seconds, 1),
        "backend": backend,
        "witness_seconds": round(result.witness_seconds, 3),
        "prove_seconds": round(result.prove_seconds, 3),
        "prove_seconds_per_account": round((result.witness_seconds + result.prove_seconds) / size, 3),
        "liquidate_gas": liquidate_fresh,
        "liquidate_gas_per_account": round(liquidate_fresh / size),
        "liquidate_gas_per_account_existing_record": round(liquidate_existing / size),
        "attest_gas": attest_fresh,
        "attest_gas_per_account": round(attest_fresh / size),
        "attest_gas_per_account_existing_record": round(attest_existing / size),
        "post_accounts_gas": post_accounts,
        "accounts_tree_depth": prof.accounts_depth,
    }


def measure_single(profile: str) -> dict[str, Any]:
    """The one-account circuit of the same profile: constraints and proving time."""
    artifacts = prepare_artifacts(margin_spec(get_profile(profile)), method="native")
    scenario = crashed_scenario(profile, 16)
    account_id = liquidatable(scenario, 1)[0]
    with Prover() as prover:
        scenario.prove(account_id, artifacts, prover)  # warm
        made = scenario.prove(account_id, artifacts, prover)
    return {
        "constraints": artifacts.constraints,
        "witness_seconds": round(made.proof.witness_seconds, 3),
        "prove_seconds": round(made.proof.prove_seconds, 3),
        "prove_seconds_per_account": round(made.proof.witness_seconds + made.proof.prove_seconds, 3),
    }


def sha256_constraints(size: int) -> int:
    """Constraints of circomlib's Sha256 over K entries of 256 bits (the hashed design)."""
    template = (
        Path(__file__).resolve().parent.parent
        / "node_modules"
        / "circomlib"
        / "circuits"
        / "sha256"
        / "sha256.circom"
    )
    spec = CircuitSpec(
        label=f"sha256-entries-K{size}",
        template_file=template,
        template="Sha256",
        args=(256 * size,),
        public=(),
    )
    return build_circuit(spec).constraints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="test")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--sha256", action="store_true", help="also measure the sha256 design's constraints")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    single = measure_single(args.profile)
    document: dict[str, Any] = {
        "profile": args.profile,
        "single": single,
        "setup": "native, single-party (development)",
    }
    for size in args.sizes:
        console.print(f"[bold]K = {size}[/]: compile, setup, prove, gas")
        figures = measure_size(args.profile, size)
        figures["constraints_per_account_vs_single"] = round(
            figures["constraints_per_account"] / single["constraints"], 3
        )
        figures["prove_time_per_account_vs_single"] = round(
            figures["prove_seconds_per_account"] / single["prove_seconds_per_account"], 3
        )
        document[f"K{size}"] = figures
    if args.sha256:
        document["sha256_alternative"] = {
            f"K{size}": {
                "constraints": (c := sha256_constraints(size)),
                "constraints_per_account": round(c / size),
            }
            for size in (4, 8)
        }
    write_json_atomic(args.out, document)

    table = Table(
        title=f"Batched proofs, profile {args.profile} (gas per account; 21,000 intrinsic included)"
    )
    for column in (
        "K",
        "constraints/acct",
        "vs single",
        "prove s/acct",
        "liquidate (fresh)",
        "liquidate (existing)",
        "attest (fresh)",
        "attest (existing)",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        "1 (MarginCheck)",
        f"{single['constraints']:,}",
        "1.000",
        f"{single['prove_seconds_per_account']:.2f}",
        "",
        "",
        "",
        "",
    )
    for size in args.sizes:
        f = document[f"K{size}"]
        table.add_row(
            str(size),
            f"{f['constraints_per_account']:,}",
            f"{f['constraints_per_account_vs_single']:.3f}",
            f"{f['prove_seconds_per_account']:.2f}",
            f"{f['liquidate_gas_per_account']:,}",
            f"{f['liquidate_gas_per_account_existing_record']:,}",
            f"{f['attest_gas_per_account']:,}",
            f"{f['attest_gas_per_account_existing_record']:,}",
        )
    console.print(table)
    for key, target in TARGETS.items():
        if key in document:
            got = document[key]["liquidate_gas_per_account_existing_record"]
            fresh = document[key]["liquidate_gas_per_account"]
            console.print(
                f"target {key}: <= {target:,} gas per liquidated account: {got:,} (existing records), {fresh:,} (fresh)"
            )
    console.print(
        f"posting an accounts root: {document[f'K{args.sizes[0]}']['post_accounts_gas']:,} gas, whatever the number of accounts"
    )
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

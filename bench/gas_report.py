"""Gas of the on-chain gate on the embedded chain (py-evm, Prague): a table and bench/results/gas.json.

    .venv/bin/python -m bench.gas_report [--out bench/results/gas.json]

Measured: deployment of verifier and gate, postMarket, setParams, commitAccounts per account
for batches of 1, 10 and 100 (new accounts and re-commitments), attest and liquidate (first
proof of an account, a later one, and a shortfall of 2**96 or more).

Proofs come from a proof source (the test circuit with MarginCheck's five public signals
unless one is passed to :func:`measure`). The verifier's work depends only on the number
of public signals, so the figures hold for the margin circuit's verifier as well.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Protocol

from rich.table import Table

from verifier_contracts.chain import embedded
from verifier_contracts.gate import MarginGate, deploy_verifier
from verifier_contracts.solc import EVM_VERSION, OPTIMIZER_RUNS, solc_version
from zkmargin.cli_support import console, write_json_atomic

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "gas.json"
BATCHES = (1, 10, 100)
LIQUIDATE_TARGET = 300_000
ROOT = 0x0B1E5D6A7C1F2E3D4C5B6A798867564534231201F0E0D0C0B0A0908070605040
PARAMS = 0x2F00D5EED0000000000000000000000000000000000000000000000000000001


class ProofSource(Protocol):
    """A circuit's Solidity verifier and proofs for chosen public values."""

    @property
    def verifier_sol(self) -> str: ...

    def prove(
        self, status: int, shortfall: int, commitment: int, market_root: int, params_hash: int
    ) -> dict[str, Any]: ...


def _commitment(account: int) -> int:
    return 0x1D0000000000000000000000000000000000000000000000000000000000 + account * 7919


def measure(proofs: ProofSource) -> dict[str, Any]:
    """Run every gate operation once on a fresh embedded chain; return the gas figures."""
    chain = embedded()
    gas: dict[str, Any] = {}
    verifier, result = deploy_verifier(chain, proofs.verifier_sol)
    gas["deploy_verifier"] = result.gas_used
    gate, result = MarginGate.deploy(chain, verifier)
    gas["deploy_gate"] = result.gas_used
    gas["post_market_first"] = gate.post_market(ROOT - 1, 1).gas_used
    gas["post_market"] = gate.post_market(ROOT, 2).gas_used
    gas["set_params"] = gate.set_params(PARAMS).gas_used

    commit: dict[str, dict[str, int]] = {}
    next_id = 1
    for size in BATCHES:
        ids = list(range(next_id, next_id + size))
        next_id += size
        new = gate.commit_accounts(ids, [_commitment(i) for i in ids]).gas_used
        again = gate.commit_accounts(ids, [_commitment(i) + 1 for i in ids]).gas_used
        commit[str(size)] = {
            "new_total": new,
            "new_per_account": new // size,
            "recommit_total": again,
            "recommit_per_account": again // size,
        }
    gas["commit_accounts"] = commit

    a, b, c = 1, 2, 3  # committed in the batch of one and the batch of ten above

    def bundle(account: int, status: int, shortfall: int) -> dict[str, Any]:
        return proofs.prove(status, shortfall, _commitment(account) + 1, ROOT, PARAMS)

    gas["attest_first"] = gate.attest(a, bundle(a, 0, 0)).gas_used
    gas["attest_again"] = gate.attest(a, bundle(a, 1, 5)).gas_used
    gas["liquidate_first_proof"] = gate.liquidate(b, bundle(b, 2, 10**20)).gas_used
    gate.attest(c, bundle(c, 2, 10**20))
    gas["liquidate_after_attest"] = gate.liquidate(c, bundle(c, 3, 10**21)).gas_used
    gas["liquidate_shortfall_ge_2_96"] = gate.liquidate(4, bundle(4, 3, 2**100)).gas_used
    return gas


def report(gas: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: figures plus the compiler settings they were measured with."""
    return {
        "chain": "embedded py-evm (Prague)",
        "solc": solc_version(),
        "evm_version": EVM_VERSION,
        "optimizer_runs": OPTIMIZER_RUNS,
        "liquidate_target": LIQUIDATE_TARGET,
        "liquidate_within_target": gas["liquidate_first_proof"] < LIQUIDATE_TARGET,
        "gas": gas,
    }


def table(gas: dict[str, Any]) -> Table:
    """A rich table of the figures."""
    out = Table(title="MarginGate gas (embedded py-evm, Prague)")
    out.add_column("operation")
    out.add_column("gas", justify="right")
    for key, value in gas.items():
        if isinstance(value, int):
            out.add_row(key, f"{value:,}")
    for size, row in gas["commit_accounts"].items():
        out.add_row(f"commitAccounts x{size}, new (per account)", f"{row['new_per_account']:,}")
        out.add_row(f"commitAccounts x{size}, re-commit (per account)", f"{row['recommit_per_account']:,}")
    return out


def default_proof_source() -> ProofSource:
    """The test circuit's proof source (tests/contracts/toy_prover.py)."""
    from tests.contracts.toy_prover import toy_proof_source

    return toy_proof_source()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    args = parser.parse_args(argv)
    document = report(measure(default_proof_source()))
    write_json_atomic(args.out, document)
    console.print(table(document["gas"]))
    console.print(f"written to {args.out}")
    return document


if __name__ == "__main__":
    main()

"""Gas of the on-chain gate on the embedded chain (py-evm, Prague): a table and bench/results/gas.json.

    .venv/bin/python -m bench.gas_report [--profile test] [--out bench/results/gas.json]
    .venv/bin/python -m bench.gas_report --toy     # the throw-away test circuit (tests/ needed)

Measured: deployment of verifier and gate, postMarket, setParams, commitAccounts per account
for batches of 1, 10 and 100 (new accounts and re-commitments), attest and liquidate (first
proof of an account, a later one), and the verifier alone (``verifyProof`` as a transaction).

By default the proofs are real: the MarginCheck circuit of ``--profile`` (default ``test``),
its generated Solidity verifier, the demo's market, and accounts proven healthy,
liquidatable and insolvent (``bench.margin_scenario``). ``--toy`` uses the test circuit
with MarginCheck's five public signals instead; only that one can also show a shortfall of
2**96 or more (a real account cannot reach it: |cash| < 2**80).
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.margin_scenario import HEALTHY, INSOLVENT, LIQUIDATABLE, build_scenario, bundle_dict
from engine.fileio import write_json_atomic
from engine.fixedpoint import FIELD_P
from verifier_contracts.chain import Chain, embedded
from verifier_contracts.gate import PROOF_GAS_LIMIT, MarginGate, deploy_verifier, proof_calldata
from verifier_contracts.solc import EVM_VERSION, OPTIMIZER_RUNS, compile_verifier, solc_version
from zkmargin.cli.render import console

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "gas.json"
BATCHES = (1, 10, 100)
LIQUIDATE_TARGET = 300_000
TOY_ROOT = 0x0B1E5D6A7C1F2E3D4C5B6A798867564534231201F0E0D0C0B0A0908070605040
TOY_PARAMS = 0x2F00D5EED0000000000000000000000000000000000000000000000000000001

Bundle = dict[str, Any]


@dataclass(frozen=True)
class GateProofs:
    """A circuit's verifier, the public values its proofs were made against, and the proofs.

    ``first_root`` is posted before ``market_root`` (epochs ``market_epoch - 1`` and
    ``market_epoch``) so that both a first and a later ``postMarket`` are measured.
    """

    source: dict[str, Any]  # what made the proofs, for the report
    verifier_sol: str
    first_root: int
    market_root: int
    market_epoch: int
    params_hash: int
    commitments: dict[int, int]  # proven account id -> commitment
    healthy: tuple[int, Bundle]  # status 0 or 1: attested twice
    liquidatable: tuple[int, Bundle]  # status 2 or 3: liquidated on a first proof
    insolvent: tuple[int, Bundle]  # status 2 or 3: attested, then liquidated
    large_shortfall: tuple[int, Bundle] | None = None  # shortfall >= 2**96 (toy only)


def batch_commitment(account: int, version: int) -> int:
    """A random-looking field element (like a Poseidon output: calldata has few zero bytes)."""
    digest = hashlib.sha256(f"zkmargin-gas/{account}/{version}".encode()).digest()
    return int.from_bytes(digest, "big") % FIELD_P or 1


def _commit_batches(gate: MarginGate, first_id: int) -> dict[str, dict[str, int]]:
    commit: dict[str, dict[str, int]] = {}
    next_id = first_id
    for size in BATCHES:
        ids = list(range(next_id, next_id + size))
        next_id += size
        new = gate.commit_accounts(ids, [batch_commitment(i, 0) for i in ids]).gas_used
        again = gate.commit_accounts(ids, [batch_commitment(i, 1) for i in ids]).gas_used
        commit[str(size)] = {
            "new_total": new,
            "new_per_account": new // size,
            "recommit_total": again,
            "recommit_per_account": again // size,
        }
    return commit


def verify_gas(chain: Chain, verifier: str, verifier_sol: str, bundle: Bundle) -> int:
    """Gas of ``verifyProof`` sent as a transaction (21,000 base and calldata included)."""
    abi = compile_verifier(verifier_sol).abi
    contract = chain.w3.eth.contract(address=chain.w3.to_checksum_address(verifier), abi=abi)
    (a, b, c), public = proof_calldata(bundle)
    fn = contract.functions.verifyProof(a, b, c, public)
    if not fn.call():
        raise RuntimeError("the verifier rejects the proof it is measured with")
    # Not estimate_gas: starved of gas, the verifier returns false instead of reverting, so
    # the estimate would be the gas of a failed check. Send it with ample gas and read the receipt.
    tx_hash = fn.transact({"from": chain.roles.user, "gas": PROOF_GAS_LIMIT})
    return int(chain.w3.eth.wait_for_transaction_receipt(tx_hash)["gasUsed"])


def measure(proofs: GateProofs) -> dict[str, Any]:
    """Run every gate operation once on a fresh embedded chain; return the gas figures."""
    chain = embedded()
    gas: dict[str, Any] = {}
    verifier, result = deploy_verifier(chain, proofs.verifier_sol)
    gas["deploy_verifier"] = result.gas_used
    gate, result = MarginGate.deploy(chain, verifier)
    gas["deploy_gate"] = result.gas_used
    gas["post_market_first"] = gate.post_market(proofs.first_root, proofs.market_epoch - 1).gas_used
    gas["post_market"] = gate.post_market(proofs.market_root, proofs.market_epoch).gas_used
    gas["set_params"] = gate.set_params(proofs.params_hash).gas_used
    proven_ids = list(proofs.commitments)
    gas["commit_accounts"] = _commit_batches(gate, max(proven_ids) + 1)
    gate.commit_accounts(proven_ids, [proofs.commitments[i] for i in proven_ids])

    healthy_id, healthy = proofs.healthy
    gas["verify_proof_tx"] = verify_gas(chain, verifier, proofs.verifier_sol, healthy)
    gas["attest_first"] = gate.attest(healthy_id, healthy).gas_used
    gas["attest_again"] = gate.attest(healthy_id, healthy).gas_used
    liquidatable_id, liquidatable = proofs.liquidatable
    gas["liquidate_first_proof"] = gate.liquidate(liquidatable_id, liquidatable).gas_used
    insolvent_id, insolvent = proofs.insolvent
    gate.attest(insolvent_id, insolvent)
    gas["liquidate_after_attest"] = gate.liquidate(insolvent_id, insolvent).gas_used
    if proofs.large_shortfall is not None:
        large_id, large = proofs.large_shortfall
        gas["liquidate_shortfall_ge_2_96"] = gate.liquidate(large_id, large).gas_used
    return gas


def margin_proofs(profile: str = "test") -> GateProofs:
    """Real proofs of the MarginCheck circuit of ``profile`` for a healthy, a liquidatable
    and an insolvent account of the demo's market (compiled and set up through the cache)."""
    from prover.artifacts import prepare_artifacts
    from prover.prove import Prover

    artifacts = prepare_artifacts(profile, notify=console.print)
    scenario = build_scenario(profile, epoch=2)
    chosen = {status: scenario.first_with_status(status) for status in (HEALTHY, LIQUIDATABLE, INSOLVENT)}
    bundles: dict[int, Bundle] = {}
    seconds: list[float] = []
    with Prover() as prover:
        for account in chosen.values():
            started = time.perf_counter()
            bundles[account.account_id] = bundle_dict(
                scenario.prove(account.account_id, artifacts, prover).bundle
            )
            seconds.append(round(time.perf_counter() - started, 3))

    def pick(status: int) -> tuple[int, Bundle]:
        account_id = chosen[status].account_id
        return account_id, bundles[account_id]

    return GateProofs(
        source={
            "circuit": artifacts.spec.label,
            "profile": profile,
            "constraints": artifacts.constraints,
            "vkey_sha256": artifacts.vkey_sha256,
            "proofs": "real MarginCheck proofs (demo market, accounts healthy / liquidatable / insolvent)",
            "prove_seconds": seconds,
        },
        verifier_sol=artifacts.verifier_sol.read_text(encoding="utf-8"),
        first_root=scenario.at_epoch(1).market_root,
        market_root=scenario.market_root,
        market_epoch=scenario.epoch,
        params_hash=scenario.params_hash,
        commitments={a.account_id: scenario.commitment(a.account_id) for a in chosen.values()},
        healthy=pick(HEALTHY),
        liquidatable=pick(LIQUIDATABLE),
        insolvent=pick(INSOLVENT),
    )


def toy_proofs() -> GateProofs:
    """Proofs of the test circuit (tests/contracts/toy_prover.py) for chosen public values."""
    from tests.contracts.toy_prover import toy_proof_source

    source = toy_proof_source()
    commitments = {account: batch_commitment(account, 2) for account in (1, 2, 3, 4)}

    def bundle(account: int, status: int, shortfall: int) -> tuple[int, Bundle]:
        return account, source.prove(status, shortfall, commitments[account], TOY_ROOT, TOY_PARAMS)

    return GateProofs(
        source={"circuit": "gate-toy", "proofs": "toy circuit: public values chosen by the prover"},
        verifier_sol=source.verifier_sol,
        first_root=TOY_ROOT - 1,
        market_root=TOY_ROOT,
        market_epoch=2,
        params_hash=TOY_PARAMS,
        commitments=commitments,
        healthy=bundle(1, HEALTHY, 0),
        liquidatable=bundle(2, LIQUIDATABLE, 10**20),
        insolvent=bundle(3, INSOLVENT, 10**21),
        large_shortfall=bundle(4, INSOLVENT, 2**100),
    )


def report(gas: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: figures plus the proofs and compiler settings they were measured with."""
    return {
        "chain": "embedded py-evm (Prague)",
        "solc": solc_version(),
        "evm_version": EVM_VERSION,
        "optimizer_runs": OPTIMIZER_RUNS,
        "proof_source": source,
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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    parser.add_argument("--profile", default="test", help="circuit profile of the real proofs")
    parser.add_argument("--toy", action="store_true", help="use the toy test circuit (imports tests/)")
    args = parser.parse_args(argv)
    proofs = toy_proofs() if args.toy else margin_proofs(args.profile)
    document = report(measure(proofs), proofs.source)
    write_json_atomic(args.out, document)
    console.print(table(document["gas"]))
    console.print(f"written to {args.out}")
    return document


if __name__ == "__main__":
    main()

"""The gate's own gas, quickly: `liquidateBatch` / `attestBatch` per account at batch
size K, and what a hostile proof costs its sender, on the embedded chain (py-evm, Prague).

    .venv/bin/python -m bench.gate_gas [--sizes 4 8 32] [--out bench/results/gate_gas.json]
    .venv/bin/python -m bench.gate_gas --proofs-from OLD.json   # the same proofs as an earlier run

The proofs are genuine Groth16 proofs of the toy batch circuit with K entries
(``tests/contracts/toy_prover.py``: MarginBatch's public interface, ceil(K / 2) + 4 public
signals, a verifier exported by snarkjs exactly as for the real circuit), so the gate and
the verifier run the same code and the same precompile calls as with a real
``MarginBatch`` proof, with seconds of set-up instead of a 2^20 ceremony. The entries are
the engine's: K liquidatable accounts of the demo's crashed market, as
``bench.batch_gas`` proves them (that benchmark's figures, from real proofs, are the ones
docs/gas.md quotes; this one measures changes to the gate between them).

* ``liquidate`` with **fresh records** (the accounts' first proof on this gate) and with
  **existing records** (after an ``attestBatch`` of the same batch), per account = the
  transaction's gas (21,000 intrinsic included) / K;
* **hostile proofs**: ``pi_a`` or ``pi_c`` replaced by (1, 3) (coordinates below q, not on
  the curve), or ``pi_b``'s x moved off the twist, mined with a 2,000,000 gas limit
  without the client's simulation: the gas the reverting transaction used.

Each result keeps the proof it used; ``--proofs-from`` takes them from an earlier result
file (the toy's keys are cached), so two versions of the gate are measured on byte-equal
call data (a proof's zero bytes move the calldata gas by a few dozen gas a batch).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.batch_gas import crashed_scenario
from bench.margin_scenario import LIQUIDATABLE
from engine.batch_statement import BatchEntry, capped_shortfall
from engine.fileio import write_json_atomic
from engine.margin import compute_margin
from tests.contracts.toy_prover import BatchToyProofSource, batch_toy_proof_source_of
from verifier_contracts.batch_gate import BatchCall, BatchGate, batch_calldata
from verifier_contracts.chain import embedded
from verifier_contracts.gate import deploy_verifier
from zkmargin.cli.render import console

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "gate_gas.json"
DEFAULT_SIZES = (4, 8, 32)
HOSTILE_GAS_LIMIT = 2_000_000
ACCOUNTS_ROOT = 0x0A11_0001


def engine_entries(size: int) -> tuple[list[BatchEntry], int, int]:
    """K liquidatable entries of the crashed demo market (lowest ids first), its market root
    and parameters hash."""
    scenario = crashed_scenario("test", max(16, 4 * size))
    entries = []
    for account_id in sorted(scenario.accounts):
        result = compute_margin(scenario.market, scenario.params, scenario.accounts[account_id])
        if result.status >= LIQUIDATABLE:
            entries.append(BatchEntry(account_id, result.status, capped_shortfall(result.shortfall)))
    if len(entries) < size:
        raise SystemExit(f"the scenario has {len(entries)} liquidatable accounts, {size} needed")
    return entries[:size], scenario.market_root, scenario.params_hash


def _gate(source: BatchToyProofSource, size: int, market_root: int, params: int) -> BatchGate:
    chain = embedded()
    verifier, _ = deploy_verifier(chain, source.verifier_sol)
    gate, _ = BatchGate.deploy(chain, verifier, size)
    gate.post_market(market_root, 1)
    gate.set_params(params)
    gate.post_accounts(ACCOUNTS_ROOT, 1)
    return gate


def _mined_gas(gate: BatchGate, call: BatchCall) -> tuple[int, int]:
    """Send ``liquidateBatch`` with HOSTILE_GAS_LIMIT and no simulation: (status, gas used)."""
    w3 = gate.chain.w3
    fn = gate.contract.functions.liquidateBatch(call.proof, call.roots, call.entries)
    tx_hash = fn.transact({"from": gate.chain.roles.liquidator, "gas": HOSTILE_GAS_LIMIT})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    return int(receipt["status"]), int(receipt["gasUsed"])


def hostile(call: BatchCall) -> dict[str, BatchCall]:
    """The batch with one proof point replaced by a point off its curve (coordinates < q)."""
    a, b, c = call.proof
    off_twist = [[b[0][0], (b[0][1] + 1)], [b[1][0], b[1][1]]]
    return {
        "pi_a_off_curve": BatchCall(([1, 3], b, c), call.roots, call.entries),
        "pi_c_off_curve": BatchCall((a, b, [1, 3]), call.roots, call.entries),
        "pi_b_off_twist": BatchCall((a, off_twist, c), call.roots, call.entries),
    }


def measure(size: int, bundle: dict[str, Any] | None = None) -> dict[str, Any]:
    source = batch_toy_proof_source_of(size)
    entries, market_root, params = engine_entries(size)
    if bundle is None:
        bundle = source.prove(ACCOUNTS_ROOT, market_root, params, [e.packed for e in entries])
    call = batch_calldata(bundle["proof"], bundle["public_signals"])

    first = _gate(source, size, market_root, params)
    attest_fresh = first.attest_batch(call).gas_used
    liquidate_existing = first.liquidate_batch(call).gas_used
    second = _gate(source, size, market_root, params)
    liquidate_fresh = second.liquidate_batch(call).gas_used
    reverts = {}
    for name, forged in hostile(call).items():
        status, gas = _mined_gas(_gate(source, size, market_root, params), forged)
        if status != 0:
            raise SystemExit(f"K = {size}: the gate accepted the {name} proof")
        reverts[name] = gas
    return {
        "batch_size": size,
        "public_signals": len(bundle["public_signals"]),
        "liquidate_gas": liquidate_fresh,
        "liquidate_gas_per_account": round(liquidate_fresh / size),
        "liquidate_gas_existing_record": liquidate_existing,
        "liquidate_gas_per_account_existing_record": round(liquidate_existing / size),
        "attest_gas": attest_fresh,
        "attest_gas_per_account": round(attest_fresh / size),
        "hostile_gas_limit": HOSTILE_GAS_LIMIT,
        "hostile_revert_gas": reverts,
        "proof_bundle": bundle,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--proofs-from", type=Path, help="reuse the proofs of an earlier result file")
    args = parser.parse_args(argv)
    earlier: dict[str, Any] = (
        json.loads(args.proofs_from.read_text(encoding="utf-8")) if args.proofs_from else {}
    )
    document = {
        f"K{size}": measure(size, earlier.get(f"K{size}", {}).get("proof_bundle")) for size in args.sizes
    }
    write_json_atomic(args.out, document)
    for key, f in document.items():
        console.print(
            f"{key}: liquidate {f['liquidate_gas_per_account_existing_record']:,} gas per account "
            f"(record exists), {f['liquidate_gas_per_account']:,} (first record); whole batch "
            f"{f['liquidate_gas']:,}; hostile proofs revert after "
            + ", ".join(f"{n} {g:,}" for n, g in f["hostile_revert_gas"].items())
            + f" of {HOSTILE_GAS_LIMIT:,}"
        )
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

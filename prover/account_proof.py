"""Prove one account's margin: engine objects in, a checked proof bundle out.

The one place that joins witness input, proving and the bundle, used by
``zkmargin prove``, the demo and the operator's prover pool.
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.commitments import MarketCommitments, commitment, params_hash
from engine.margin import compute_margin
from engine.model import Account, Market, RiskParams
from prover.artifacts import CircuitArtifacts
from prover.bundle import ProofBundle
from prover.errors import ProverError
from prover.results import ProofResult
from prover.witness_input import build_input


class ProvesCircuits(Protocol):
    """Anything that proves a circuit input: ``prover.prove.Prover`` or a ``NodeWorker``."""

    def prove(self, wasm: Any, zkey: Any, circuit_input: dict[str, Any]) -> ProofResult: ...


class ProofMismatch(ProverError):
    """The circuit's public signals differ from what the engine computed."""


def expected_signals(
    market: Market, params: RiskParams, account: Account, commitments: MarketCommitments
) -> list[int]:
    """``[status, shortfall, commitment, market_root, params_hash]`` as the engine sees them."""
    result = compute_margin(market, params, account)
    return [
        result.status,
        result.shortfall,
        commitment(account),
        commitments.market_root,
        params_hash(params),
    ]


def check_signals(expected: list[int], got: list[str]) -> None:
    """Raise ``ProofMismatch`` naming the first public signal that differs."""
    names = ("status", "shortfall", "commitment", "market_root", "params_hash")
    values = [int(s) for s in got]
    for name, want, have in zip(names, expected, values, strict=True):
        if want != have:
            raise ProofMismatch(f"public signal {name}: circuit gave {have}, engine computed {want}")


def prove_account(
    prover: ProvesCircuits,
    artifacts: CircuitArtifacts,
    market: Market,
    params: RiskParams,
    account: Account,
    commitments: MarketCommitments | None = None,
) -> tuple[ProofBundle, ProofResult]:
    """Validate, build the witness input, prove, check the public signals against the
    engine, and wrap the proof as a bundle (with the account id)."""
    mc = commitments if commitments is not None else MarketCommitments(market)
    circuit_input = build_input(market, params, account, mc)
    expected = expected_signals(market, params, account, mc)
    result = prover.prove(artifacts.wasm, artifacts.zkey, circuit_input)
    check_signals(expected, result.public_signals)
    bundle = ProofBundle(
        profile=market.profile.name,
        proof=result.proof,
        public_signals=result.public_signals,
        vkey_sha256=artifacts.vkey_sha256,
        market_epoch=market.epoch,
    )
    return bundle, result

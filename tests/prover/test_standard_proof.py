"""Full Groth16 proofs in the standard profile (A=4, k=16, d=5): proved with the node
worker, checked against the engine, verified by snarkjs and by py_ecc.

Slow: the standard circuit's compile and trusted setup take many minutes on 2 cores
(cached afterwards). Run with ``pytest -m slow tests/prover/test_standard_proof.py``.
"""

from __future__ import annotations

import pytest

from engine.margin import compute_margin
from engine.profiles import get_profile
from prover.backends.prove import Prover
from prover.keys.artifacts import prepare_artifacts
from prover.offline.prove_account import prove_account
from prover.verification.verify_py import verify_groth16
from zkmargin.demo.data import demo_accounts, demo_market

pytestmark = [pytest.mark.slow, pytest.mark.circuit]


def test_standard_profile_proofs_verify_both_ways() -> None:
    profile = get_profile("standard")
    world = demo_market(profile)
    accounts, targets = demo_accounts(world.market, world.params, count=8, seed=5)
    full = next(a for a in accounts if len(a.positions()) >= 6)
    chosen = {targets[accounts.index(full)]: full}
    for account, target in zip(accounts, targets, strict=True):
        chosen.setdefault(target, account)
    artifacts = prepare_artifacts("standard")
    assert artifacts.constraints < 2**16
    vkey = artifacts.vkey_json()
    with Prover() as prover:
        for account in chosen.values():
            proof = prove_account(world.market, world.params, account, artifacts, prover)
            engine = compute_margin(world.market, world.params, account)
            assert (proof.bundle.status, proof.bundle.shortfall) == (engine.status, engine.shortfall)
            assert prover.verify(artifacts.vkey, proof.bundle.public_signals, proof.bundle.proof)
            assert verify_groth16(vkey, proof.bundle.public_signals, proof.bundle.proof).ok
            forged = [str((engine.status + 1) % 4), *proof.bundle.public_signals[1:]]
            assert not verify_groth16(vkey, forged, proof.bundle.proof).ok
            assert not prover.verify(artifacts.vkey, forged, proof.bundle.proof)
    assert set(chosen) == {0, 1, 2, 3}

"""The check of a proof just made (``prover.verification.new_proof``): a proof its backend
already checked against the key is taken as checked; any other is verified with py_ecc,
and a proof that fails is refused. The field constants the prover names are py_ecc's."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from prover.curve import BASE_FIELD, SCALAR_FIELD
from prover.errors import ProverError
from prover.results import ProofResult
from prover.verification.new_proof import check_new_proof

from .conftest import Toy


def _artifacts(toy: Toy) -> SimpleNamespace:
    return SimpleNamespace(vkey_json=lambda: toy.vkey)


def test_a_good_proof_passes_and_a_broken_one_is_refused(toy: Toy, worker_proof: ProofResult) -> None:
    assert not worker_proof.key_verified  # snarkjs's worker does not check its own proofs
    check_new_proof(worker_proof, _artifacts(toy))  # type: ignore[arg-type]
    wrong = [str(int(worker_proof.public_signals[0]) + 1), *worker_proof.public_signals[1:]]
    broken = dataclasses.replace(worker_proof, public_signals=wrong)
    with pytest.raises(ProverError, match="the new batch proof does not verify"):
        check_new_proof(broken, _artifacts(toy), "batch proof")  # type: ignore[arg-type]


def test_a_proof_its_key_checked_is_not_checked_again(toy: Toy, worker_proof: ProofResult) -> None:
    wrong = [str(int(worker_proof.public_signals[0]) + 1), *worker_proof.public_signals[1:]]
    checked = dataclasses.replace(worker_proof, public_signals=wrong, key_verified=True)
    unreadable = SimpleNamespace(vkey_json=lambda: (_ for _ in ()).throw(AssertionError("read")))
    check_new_proof(checked, unreadable)  # type: ignore[arg-type]


def test_the_field_constants_are_the_curve_library_s() -> None:
    from py_ecc.optimized_bn128 import curve_order, field_modulus

    assert curve_order == SCALAR_FIELD
    assert field_modulus == BASE_FIELD

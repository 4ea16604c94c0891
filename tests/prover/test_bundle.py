"""Proof bundles: round trip and validation of every field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from prover.offline.bundle import BUNDLE_FORMAT, ProofBundle, validate
from prover.results import ProofResult
from prover.statements.bundle_file import BundleError
from prover.verification.verify_py import R

from .conftest import Toy

pytestmark = pytest.mark.circuit


@pytest.fixture
def bundle(toy: Toy, worker_proof: ProofResult) -> ProofBundle:
    return ProofBundle(
        profile="test",
        proof=worker_proof.proof,
        public_signals=worker_proof.public_signals,
        vkey_sha256=toy.setup.vkey_sha256,
        market_epoch=3,
    )


def test_round_trip(bundle: ProofBundle, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    bundle.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == BUNDLE_FORMAT
    assert list(data) == [
        "format",
        "profile",
        "proof",
        "public_signals",
        "vkey_sha256",
        "market_epoch",
        "created_at",
    ]
    loaded = ProofBundle.load(path)
    assert loaded == bundle
    assert (loaded.status, loaded.commitment, loaded.market_root, loaded.params_hash) == (14, 29, 7, 11)
    assert loaded.shortfall == int(bundle.public_signals[1])
    assert loaded.created_at.endswith("+00:00")


def _broken(bundle: ProofBundle, edit: Any) -> dict[str, Any]:
    data = copy.deepcopy(bundle.to_dict())
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("vkey_sha256"), "vkey_sha256: missing"),
        (lambda d: d.update(format="other/1"), "format"),
        (lambda d: d.update(profile=""), "profile"),
        (lambda d: d["public_signals"].pop(), "public_signals: expected 5"),
        (
            lambda d: d["public_signals"].__setitem__(0, 14),
            "public_signals.status: expected a decimal string",
        ),
        (lambda d: d["public_signals"].__setitem__(1, "-1"), "public_signals.shortfall"),
        (lambda d: d["public_signals"].__setitem__(2, str(R)), "commitment: not below the field modulus"),
        (lambda d: d["public_signals"].__setitem__(3, "007"), "leading zeros"),
        (lambda d: d.update(vkey_sha256="ABC"), "vkey_sha256: expected 64"),
        (lambda d: d.update(market_epoch=-1), "market_epoch"),
        (lambda d: d.update(market_epoch=True), "market_epoch"),
        (lambda d: d.update(created_at="yesterday"), "created_at"),
        (lambda d: d.update(created_at="2026-11-21T06:00:00"), "created_at"),
        (lambda d: d["proof"].update(protocol="plonk"), "protocol must be groth16"),
        (lambda d: d["proof"]["pi_b"].pop(), "proof.pi_b"),
        (lambda d: d["proof"]["pi_a"].__setitem__(0, "1e5"), r"proof.pi_a\[0\]"),
    ],
)
def test_validation_names_the_field(bundle: ProofBundle, edit: Any, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        validate(_broken(bundle, edit))
    with pytest.raises(BundleError):
        ProofBundle.from_dict(_broken(bundle, edit))


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot read"):
        ProofBundle.load(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BundleError, match="not JSON"):
        ProofBundle.load(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(BundleError, match="expected a JSON object"):
        ProofBundle.load(bad)

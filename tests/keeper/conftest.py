"""Fixtures shared by the keeper tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prover.keys.artifacts import CircuitArtifacts, prepare_artifacts
from prover.toolchain.build import batch_spec
from verifier_contracts.chain import Chain, anvil

from .edges import EdgeRecorder
from .keeper_env import PROFILE


@pytest.fixture(scope="session")
def artifacts() -> CircuitArtifacts:
    """The test profile's batch circuit (K = 4) and keys (built and set up once, cached)."""
    return prepare_artifacts(batch_spec(PROFILE))


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    """anvil on a free port, one per test module (a module whose drills revert or reset the
    chain starts a fresh one per test with its own ``chain`` fixture)."""
    with anvil() as c:
        yield c


@pytest.fixture(autouse=True)
def state_edges(monkeypatch: pytest.MonkeyPatch) -> Iterator[EdgeRecorder]:
    """Every job and snapshot state change a keeper test makes in this process (the keeper,
    the prover pool, the stores, the test itself) must be an edge of the transition tables."""
    recorder = EdgeRecorder().install(monkeypatch)
    yield recorder
    outside = recorder.outside_tables()
    assert not outside, f"state changes outside zkmargin.keeper.states' tables: {outside}"

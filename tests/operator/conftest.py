"""Fixtures shared by the keeper tests."""

from __future__ import annotations

import pytest

from prover.keys.artifacts import CircuitArtifacts, prepare_artifacts
from prover.toolchain.build import batch_spec

from .operator_env import PROFILE


@pytest.fixture(scope="session")
def artifacts() -> CircuitArtifacts:
    """The test profile's batch circuit (K = 4) and keys (built and set up once, cached)."""
    return prepare_artifacts(batch_spec(PROFILE))

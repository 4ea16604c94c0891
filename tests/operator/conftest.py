"""Fixtures shared by the keeper tests."""

from __future__ import annotations

import pytest

from prover.artifacts import CircuitArtifacts, prepare_artifacts

from .operator_env import PROFILE


@pytest.fixture(scope="session")
def artifacts() -> CircuitArtifacts:
    """The test profile's circuit and keys (built and set up once, in the test cache)."""
    return prepare_artifacts(PROFILE.name)

"""Fixtures of the circuit tests: compiled circuits shared by the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.circuits.harness import close_all


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/circuits compiles circom: mark it ``circuit``."""
    for item in items:
        if "tests/circuits/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.circuit)


@pytest.fixture(scope="session", autouse=True)
def _close_witness_calculators() -> Iterator[None]:
    yield
    close_all()

"""Session-wide test settings.

Tests never touch the user's cache: every build, key, ptau and solc artifact they make
goes to ``.cache/zkmargin-tests`` in the checkout (kept between runs so that a second
run does not recompile; ``$ZKMARGIN_TEST_CACHE`` moves it). Subprocesses started by the
tests inherit the setting. A ``zkmargin.toml`` of the developer's never applies either.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_CACHE = Path(os.environ.get("ZKMARGIN_TEST_CACHE") or ROOT / ".cache" / "zkmargin-tests")

os.environ["ZKMARGIN_CACHE"] = str(TEST_CACHE)
os.environ["ZKMARGIN_CONFIG"] = os.devnull  # an empty settings file: defaults only
for name in ("ZKMARGIN_RPC", "ZKMARGIN_DEPLOYMENT", "ZKMARGIN_PTAU"):
    os.environ.pop(name, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/contracts compiles Solidity and runs py-evm: mark it ``chain``
    (``make test-fast`` leaves those out)."""
    for item in items:
        if "tests/contracts/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.chain)

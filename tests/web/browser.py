"""Headless Chromium for the browser tests: Debian's chromium driven by playwright-core
(tests/web/drive.mjs). ``make test`` installs chromium where it is missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.web.node import run_mjs
from zkmargin.web_audit import WebBuildError, find_chromium


def chromium() -> str:
    """The chromium binary (zkmargin.web_audit.find_chromium); a clear failure without it."""
    try:
        return str(find_chromium())
    except WebBuildError as err:
        raise AssertionError(str(err)) from None


def drive(scenarios: list[dict[str, Any]], workdir: Path) -> list[dict[str, Any]]:
    """Run each scenario in a fresh page of one headless browser; one result per scenario."""
    path = workdir / "scenarios.json"
    path.write_text(json.dumps(scenarios))
    results = run_mjs("drive.mjs", path, timeout=900, env={"ZKMARGIN_CHROMIUM": chromium()})
    assert len(results) == len(scenarios)
    return list(results)

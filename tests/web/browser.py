"""Headless Chromium for the browser tests: Debian's chromium driven by playwright-core
(tests/web/drive.mjs). ``make test`` installs chromium where it is missing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tests.web.node import run_mjs


def chromium() -> str:
    """The chromium binary ($ZKMARGIN_CHROMIUM, else Debian's); a clear failure without it."""
    path = os.environ.get("ZKMARGIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).is_file(), (
        f"chromium not found ({path}): `make test` installs Debian's chromium (apt-get install chromium)"
    )
    return path


def drive(scenarios: list[dict[str, Any]], workdir: Path) -> list[dict[str, Any]]:
    """Run each scenario in a fresh page of one headless browser; one result per scenario."""
    chromium()
    path = workdir / "scenarios.json"
    path.write_text(json.dumps(scenarios))
    results = run_mjs("drive.mjs", path, timeout=900)
    assert len(results) == len(scenarios)
    return list(results)

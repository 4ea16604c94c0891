"""Run the page's ES modules under node for the test suite (tests/web/*.mjs)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from engine.paths import project_root
from verifier_contracts.solc import node_binary

HERE = Path(__file__).resolve().parent


def run_mjs(script: str, *args: str | Path, timeout: float = 600, env: dict[str, str] | None = None) -> Any:
    """``node tests/web/<script> args...`` (``env``: variables added to this process's) and
    its JSON output; a failure shows node's stderr."""
    done = subprocess.run(
        [node_binary(), str(HERE / script), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=project_root(),
        timeout=timeout,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    assert done.returncode == 0, f"node {script} failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)

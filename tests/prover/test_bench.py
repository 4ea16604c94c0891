"""The prover bench's result file handling (the bench itself is run by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.prover_bench import save


def test_results_are_merged_per_profile(tmp_path: Path) -> None:
    out = tmp_path / "results" / "prover.json"
    save({"profile": "toy", "constraints": 244}, out)
    save({"profile": "test", "constraints": 15904}, out)
    save({"profile": "toy", "constraints": 245}, out)
    data = json.loads(out.read_text())
    assert data == {
        "toy": {"profile": "toy", "constraints": 245},
        "test": {"profile": "test", "constraints": 15904},
    }

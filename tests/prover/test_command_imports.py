"""A command loads only what it uses: reading a file, the CLI's entry point and the prover
commands import no scipy (calibration) and no py_ecc (a new proof is checked by its backend
or, lazily, by the pure-Python verifier), and the prover commands no web3, eth or dask
(each checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.paths import project_root

HEAVY = (
    "scipy",
    "py_ecc",
    "web3",
    "eth_abi",
    "eth_utils",
    "eth_account",
    "eth_tester",
    "dask",
    "distributed",
)


def _loaded(statement: str) -> list[str]:
    """The top-level packages of :data:`HEAVY` that ``statement`` imports."""
    code = (
        f"import json, sys\n{statement}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=project_root()
    )
    return [m for m in json.loads(out.stdout.splitlines()[-1]) if m in HEAVY]


@pytest.mark.parametrize(
    "statement",
    [
        "import engine.formats",
        "import zkmargin.cli.main",
        "from zkmargin.cli.main import cli; cli.get_command(None, 'prove')",
        "import prover.statements.prove_batch, prover.backends.prove, prover.keys.artifacts",
    ],
)
def test_no_heavy_imports(statement: str) -> None:
    assert _loaded(statement) == []

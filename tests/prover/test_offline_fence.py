"""The offline one-account statement is fenced: nothing on the batch path imports
``prover.offline`` (docs/prover.md, "One statement on chain, one offline"), not even in a
function. Only the CLI's ``prove``/``verify``/``audit`` and ``zkmargin.audit`` may, lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Every package the keeper, the gate, `prove --batch` and the demo use.
BATCH_PATH = (
    "prover/statements",
    "prover/backends",
    "prover/keys",
    "prover/toolchain",
    "prover/verification",
    "verifier_contracts",
    "zkmargin/keeper",
    "zkmargin/demo",
)
BATCH_MODULES = ("prover/errors.py", "prover/results.py", "prover/paths.py")
OFFLINE = "prover.offline"


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``path``, at any depth."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _batch_path_files() -> list[Path]:
    files = [p for folder in BATCH_PATH for p in sorted((ROOT / folder).rglob("*.py"))]
    return files + [ROOT / m for m in BATCH_MODULES]


def test_the_batch_path_imports_nothing_offline() -> None:
    files = _batch_path_files()
    assert len(files) > 40  # every folder was found
    crossings = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in _imports(path)
        if module == OFFLINE or module.startswith(OFFLINE + ".")
    ]
    assert not crossings, "\n".join(crossings)


def test_the_check_sees_an_import_in_a_function(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f():\n    from prover.offline.bundle import ProofBundle\n    from prover import offline\n"
    )
    assert [m for _, m in _imports(probe) if m.startswith(OFFLINE)] == [
        "prover.offline.bundle",
        "prover.offline.bundle.ProofBundle",
        "prover.offline",
    ]


def test_the_batch_path_loads_nothing_offline() -> None:
    """Nor through a module outside the fenced folders (``zkmargin.audit``, used by the
    demo, imports the one-account bundle as a type only)."""
    modules = (
        "zkmargin.demo.run",
        "zkmargin.keeper.pool",
        "prover.backends.prove",
        "prover.backends.remote",
        "prover.statements.prove_batch",
        "prover.statements.batch_bundle",
        "verifier_contracts.batch_gate",
    )
    code = f"import sys\nimport {', '.join(modules)}\nprint(sorted(m for m in sys.modules if m.startswith('{OFFLINE}')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"

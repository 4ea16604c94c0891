"""Imports go one way: engine <- backtest <- prover <- verifier_contracts <- zkmargin (CLI,
demo, audit); the keeper never imports the CLI; only the CLI maps errors to exit codes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["engine", "backtest", "prover", "verifier_contracts", "zkmargin"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", LAYERS)
def test_imports_only_downward(package: str) -> None:
    above = LAYERS[LAYERS.index(package) + 1 :]
    for path in _modules(package):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in above, f"{path.relative_to(ROOT)} imports {name} from a layer above"
            assert top != "tests", f"{path.relative_to(ROOT)} imports test code ({name})"


def test_keeper_and_audit_never_import_the_cli() -> None:
    for path in [*_modules("zkmargin/keeper"), ROOT / "zkmargin" / "audit.py"]:
        for name in _imports(path):
            assert not name.startswith("zkmargin.cli"), f"{path.relative_to(ROOT)} imports {name}"


def test_only_the_cli_exits() -> None:
    for package in LAYERS:
        for path in _modules(package):
            if path.is_relative_to(ROOT / "zkmargin" / "cli"):
                continue
            text = path.read_text(encoding="utf-8")
            assert "sys.exit(" not in text, f"{path.relative_to(ROOT)} calls sys.exit"

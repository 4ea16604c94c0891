"""Imports go one way: engine <- backtest <- prover <- verifier_contracts <- zkmargin; inside
zkmargin, the shared modules <- text and logs <- the keeper <- the demo <- the CLI (so the
keeper, the demo, the audit and every module below the CLI never import ``zkmargin.cli``,
and the keeper never imports the demo); only the CLI maps errors to exit codes.

Every Python file of the packages pyproject.toml ships falls under one of these rules: a new
package, or a new module of zkmargin, fails here until it is given its place. Imports inside
functions and under ``TYPE_CHECKING`` count (``ast.walk`` sees them all).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["engine", "backtest", "cascade", "prover", "verifier_contracts", "zkmargin"]

#: zkmargin's parts, lowest first: a module imports only from its own part and those before
#: it. A part is a module file or a folder (every module below it), relative to the root.
ZKMARGIN_PARTS: list[tuple[str, ...]] = [
    # what every part may use: settings, the user's audit (pure Python) and its web page
    ("zkmargin/__init__.py", "zkmargin/settings.py", "zkmargin/audit.py", "zkmargin/web_audit.py"),
    # text for people and log lines, shared by the keeper, the demo and the CLI
    ("zkmargin/text.py", "zkmargin/logs.py"),
    ("zkmargin/keeper",),
    ("zkmargin/demo",),
    ("zkmargin/cli",),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module the file at ``path`` imports."""
    return _imports_in(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")


def _imports_in(source: str, module: str, is_package: bool) -> set[str]:
    """Every module ``source`` (the module ``module``) imports, relative imports resolved."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.add(name)
            if not node.module:  # from . import jobs: the names are modules
                found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _covers(part: str, path: Path) -> bool:
    target = ROOT / part
    return path == target if part.endswith(".py") else path.is_relative_to(target)


def _part_of(path: Path) -> int:
    """The index in :data:`ZKMARGIN_PARTS` of the part holding the zkmargin module at ``path``."""
    found = [i for i, part in enumerate(ZKMARGIN_PARTS) for p in part if _covers(p, path)]
    assert len(found) == 1, f"{path.relative_to(ROOT)} is in {len(found)} parts of ZKMARGIN_PARTS (needs one)"
    return found[0]


def _part_of_module(name: str) -> int | None:
    """The part of an imported ``zkmargin...`` module name (None: ``zkmargin`` itself, or a
    name inside a module, e.g. ``zkmargin.audit.Check``, whose module is looked up)."""
    dotted = name.split(".")
    while dotted:
        base = ROOT.joinpath(*dotted)
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return _part_of(path)
        dotted.pop()
    return None


@pytest.mark.parametrize("package", LAYERS)
def test_imports_only_downward(package: str) -> None:
    above = LAYERS[LAYERS.index(package) + 1 :]
    for path in _modules(package):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in above, f"{path.relative_to(ROOT)} imports {name} from a layer above"
            assert top != "tests", f"{path.relative_to(ROOT)} imports test code ({name})"


def test_zkmargin_parts_import_only_downward() -> None:
    for path in _modules("zkmargin"):
        own = _part_of(path)
        for name in _imports(path):
            if name.split(".")[0] != "zkmargin":
                continue
            part = _part_of_module(name)
            assert part is None or part <= own, (
                f"{path.relative_to(ROOT)} imports {name}, from a part of zkmargin above its own "
                f"({', '.join(ZKMARGIN_PARTS[part])})"
            )


def test_only_the_cli_imports_the_cli_and_the_keeper_never_the_demo() -> None:
    """The two rules named in the issue, spelled out (the part order above implies them)."""
    cli = ROOT / "zkmargin" / "cli"
    for path in _modules("zkmargin"):
        if path.is_relative_to(cli):
            continue
        for name in _imports(path):
            assert not name.startswith("zkmargin.cli"), f"{path.relative_to(ROOT)} imports {name}"
            if path.is_relative_to(ROOT / "zkmargin" / "keeper"):
                assert not name.startswith("zkmargin.demo"), f"{path.relative_to(ROOT)} imports {name}"


def test_every_module_has_a_place() -> None:
    """Each zkmargin module is in exactly one part; each package pyproject.toml ships is a
    layer, or holds no code (a data package such as ``circuits``: a docstring only)."""
    for path in _modules("zkmargin"):
        _part_of(path)
    for part in ZKMARGIN_PARTS:
        for p in part:
            assert (ROOT / p).exists(), f"ZKMARGIN_PARTS names {p}, which does not exist"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert project["tool"]["mypy"]["packages"] == LAYERS
    for pattern in shipped:
        package = pattern.rstrip("*")
        if package in LAYERS:
            continue
        for path in _modules(package):
            body = ast.parse(path.read_text(encoding="utf-8")).body
            is_docstring = [isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in body]
            assert all(is_docstring), f"{path.relative_to(ROOT)} holds code but {package} is in no layer"
    assert set(LAYERS) <= {p.rstrip("*") for p in shipped}


def test_the_import_finder_sees_every_kind_of_import() -> None:
    """Lazy imports, TYPE_CHECKING imports and relative imports are all found."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from zkmargin.demo.run import DemoRun\n"
        "def f():\n    import zkmargin.cli.render\n    from . import jobs\n    from ..text import console\n"
    )
    found = _imports_in(source, "zkmargin.keeper.probe", is_package=False)
    assert {"zkmargin.demo.run", "zkmargin.cli.render", "zkmargin.keeper.jobs", "zkmargin.text"} <= found
    assert _part_of_module("zkmargin.demo.run") == _part_of_module("zkmargin.demo") == 3
    assert _part_of_module("zkmargin.audit.Check") == 0


def test_only_the_cli_exits() -> None:
    for package in LAYERS:
        for path in _modules(package):
            if path.is_relative_to(ROOT / "zkmargin" / "cli"):
                continue
            text = path.read_text(encoding="utf-8")
            assert "sys.exit(" not in text, f"{path.relative_to(ROOT)} calls sys.exit"

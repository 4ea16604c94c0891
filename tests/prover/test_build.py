"""The circuit build cache: keys, hits, misses, manifests, compile errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.profiles import get_profile
from prover.errors import ProverError
from prover.toolchain import build as build_mod
from prover.toolchain.build import (
    build_circuit,
    build_key,
    find_build,
    main_source,
    margin_spec,
    source_files,
)
from prover.toolchain.tools import Toolchain

from .conftest import TOY_FILE, Toy, toy_spec

pytestmark = pytest.mark.circuit


def test_margin_main_file(tools: Toolchain) -> None:
    spec = margin_spec(get_profile("test"))
    if not (tools.root / spec.template_file).is_file():
        pytest.skip("circuits/margin_check.circom not written yet")
    text = main_source(spec, tools.root)
    assert text.startswith("pragma circom 2.2.3;")
    assert 'include "circuits/margin_check.circom";' in text
    assert "component main {public [commitment, market_root, params_hash]} = MarginCheck(2, 4, 2);" in text


def test_margin_spec_per_profile() -> None:
    assert margin_spec(get_profile("standard")).args == (4, 16, 5)
    assert margin_spec(get_profile("demo")).args == (4, 8, 3)


def test_first_build_is_a_miss_then_hits(toy: Toy, tools: Toolchain, monkeypatch: pytest.MonkeyPatch) -> None:
    assert toy.build.cached is False
    assert toy.build.directory == toy.cache / "build" / toy.build.key
    for path in (toy.build.r1cs, toy.build.wasm, toy.build.sym, toy.build.main_circom):
        assert path.is_file()

    def no_compile(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached build must not recompile")

    monkeypatch.setattr(build_mod, "_compile", no_compile)
    again = build_circuit(toy_spec(), tools=tools, cache=toy.cache)
    assert again.cached is True
    assert again.key == toy.build.key
    assert find_build(toy_spec(), tools=tools, cache=toy.cache) is not None
    assert find_build(toy_spec(5), tools=tools, cache=toy.cache) is None


def test_manifest(toy: Toy) -> None:
    manifest = toy.build.manifest
    assert manifest["key"] == toy.build.key
    assert manifest["template"] == "Toy" and manifest["args"] == [4]
    assert manifest["r1cs"]["public_outputs"] == 2 and manifest["r1cs"]["public_inputs"] == 3
    assert 200 < toy.build.constraints < 300
    assert manifest["compile_seconds"] > 0
    assert manifest["circomlib"] == "2.0.5"
    assert "tests/prover/fixtures/toy.circom" in manifest["sources"]
    # the include closure: the fixture and the circomlib files it pulls in, nothing else
    assert "node_modules/circomlib/circuits/poseidon.circom" in manifest["sources"]
    assert not any(name.startswith("circuits/") for name in manifest["sources"])


def test_key_depends_on_args_and_sources(tools: Toolchain, tmp_path: Path) -> None:
    copy = tmp_path / "toy.circom"
    shutil.copy(TOY_FILE, copy)
    base = build_key(toy_spec(template_file=copy), tools)
    assert build_key(toy_spec(template_file=copy), tools) == base
    assert build_key(toy_spec(5, template_file=copy), tools) != base
    (tmp_path / "unrelated.circom").write_text("pragma circom 2.2.3;\n")  # not included: no effect
    assert build_key(toy_spec(template_file=copy), tools) == base
    helper = tmp_path / "helper.circom"
    helper.write_text("pragma circom 2.2.3;\ntemplate Helper() {}\n")
    copy.write_text(copy.read_text().replace("include ", 'include "helper.circom";\ninclude ', 1))
    with_include = build_key(toy_spec(template_file=copy), tools)
    assert with_include != base
    helper.write_text(helper.read_text() + "// edited\n")  # an included file's edit changes the key
    assert build_key(toy_spec(template_file=copy), tools) != with_include


def test_compiles_a_template_outside_the_project(tools: Toolchain, tmp_path: Path) -> None:
    source = tmp_path / "src" / "toy.circom"
    source.parent.mkdir()
    shutil.copy(TOY_FILE, source)
    built = build_circuit(toy_spec(2, template_file=source), tools=tools, cache=tmp_path / "cache")
    assert built.cached is False
    assert built.manifest["r1cs"]["public_inputs"] == 3
    assert built.r1cs.is_file()


def test_compile_error_is_reported(tools: Toolchain, tmp_path: Path) -> None:
    bad = tmp_path / "bad.circom"
    bad.write_text("pragma circom 2.2.3;\ntemplate Toy(n) { signal input commitment; this is not circom }\n")
    cache = tmp_path / "cache"
    with pytest.raises(ProverError, match="circom compile of toy-4 failed"):
        build_circuit(toy_spec(template_file=bad), tools=tools, cache=cache)
    # nothing half-built is left behind
    assert [p.name for p in (cache / "build").iterdir() if not p.name.endswith(".lock")] == []


def test_missing_template_file(tools: Toolchain, tmp_path: Path) -> None:
    with pytest.raises(ProverError, match="circuit source not found"):
        build_circuit(toy_spec(template_file=tmp_path / "absent.circom"), tools=tools, cache=tmp_path)


def test_margin_key_covers_every_circuit_source(tools: Toolchain) -> None:
    spec = margin_spec(get_profile("test"))
    if not (tools.root / spec.template_file).is_file():
        pytest.skip("circuits/margin_check.circom not written yet")
    sources = set(source_files(spec, tools.root))
    assert {p.resolve() for p in (tools.root / "circuits").rglob("*.circom")} <= sources
    assert (tools.root / "node_modules/circomlib/circuits/poseidon.circom").resolve() in sources


def test_source_edit_during_compile_is_not_cached(
    tools: Toolchain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "src" / "toy.circom"
    source.parent.mkdir()
    shutil.copy(TOY_FILE, source)
    real_run = build_mod.run_tool

    def run_and_edit(*args: object, **kwargs: object) -> object:
        done = real_run(*args, **kwargs)  # type: ignore[arg-type]
        source.write_text(source.read_text() + "\n// edited meanwhile\n")
        return done

    monkeypatch.setattr(build_mod, "run_tool", run_and_edit)
    cache = tmp_path / "cache"
    with pytest.raises(ProverError, match="sources changed while compiling"):
        build_circuit(toy_spec(2, template_file=source), tools=tools, cache=cache)
    assert [p.name for p in (cache / "build").iterdir() if not p.name.endswith(".lock")] == []

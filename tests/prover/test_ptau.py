"""ptau resolution: explicit, env, shared dev file (sha256 checked), cache, generation; size checks."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from prover.errors import ProverError
from prover.keys.ptau import PtauTooSmall, check_fits, default_shared_dir, resolve_ptau
from prover.toolchain.tools import Toolchain

from .conftest import TOY_POWER, Toy

pytestmark = pytest.mark.circuit


def _shared_copy(toy: Toy, folder: Path, digest: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"pot{TOY_POWER}_final.ptau"
    shutil.copy(toy.ptau.path, target)
    real = hashlib.sha256(target.read_bytes()).hexdigest()
    (folder / f"{target.name}.sha256").write_text(f"{digest or real}  {target.name}\n")
    return target


def test_generated_locally_end_to_end(toy: Toy) -> None:
    assert toy.ptau.source == "generated"
    assert toy.ptau.power == TOY_POWER
    assert toy.ptau.single_party
    record = json.loads(toy.ptau.path.with_name(toy.ptau.path.name + ".json").read_text())
    assert record["single_party"] is True
    assert set(record["seconds"]) == {"new", "contribute", "beacon", "prepare phase2"}
    assert record["sha256"] == hashlib.sha256(toy.ptau.path.read_bytes()).hexdigest()
    warnings = [m for m in toy.ptau_messages if "single-party" in m]
    assert warnings and "for development only" in warnings[-1]
    assert not list(toy.ptau.path.parent.glob(".tmp-*"))


def test_cached_generation_is_reused(toy: Toy, empty_dir: Path) -> None:
    said: list[str] = []
    again = resolve_ptau(
        TOY_POWER - 1, cache=toy.cache, shared_dir=empty_dir, generate=False, notify=said.append
    )
    assert again.source == "cache" and again.path == toy.ptau.path
    assert any("single-party" in m and "development only" in m for m in said)


def test_explicit_path_wins(
    toy: Toy, empty_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ZKMARGIN_PTAU", str(tmp_path / "not-used.ptau"))
    said: list[str] = []
    chosen = resolve_ptau(
        TOY_POWER, explicit=toy.ptau.path, shared_dir=empty_dir, generate=False, notify=said.append
    )
    assert chosen.source == "explicit" and chosen.power == TOY_POWER
    assert not chosen.single_party and said == []


def test_env_var(toy: Toy, empty_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKMARGIN_PTAU", str(toy.ptau.path))
    chosen = resolve_ptau(5, shared_dir=empty_dir, generate=False, notify=lambda m: None)
    assert chosen.source == "env" and chosen.path == toy.ptau.path


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ProverError, match="ptau not found"):
        resolve_ptau(8, explicit=tmp_path / "absent.ptau", notify=lambda m: None)


def test_too_small_ptau_is_refused(toy: Toy) -> None:
    with pytest.raises(PtauTooSmall, match=r"has power 8 .* needs power 9"):
        check_fits(toy.ptau.path, TOY_POWER + 1, "explicit")
    with pytest.raises(PtauTooSmall):
        resolve_ptau(TOY_POWER + 1, explicit=toy.ptau.path, notify=lambda m: None)


def test_unprepared_ptau_is_refused(tools: Toolchain, tmp_path: Path) -> None:
    raw = tmp_path / "raw.ptau"
    subprocess.run(
        tools.snarkjs_cmd("powersoftau", "new", "bn128", "4", str(raw)), check=True, capture_output=True
    )
    with pytest.raises(ProverError, match="not prepared for phase 2"):
        check_fits(raw, 4, "explicit")


def test_shared_file_with_matching_sha(toy: Toy, tmp_path: Path) -> None:
    shared = _shared_copy(toy, tmp_path / "shared")
    said: list[str] = []
    chosen = resolve_ptau(
        TOY_POWER,
        cache=tmp_path / "empty-cache",
        shared_dir=shared.parent,
        generate=False,
        notify=said.append,
    )
    assert chosen.source == "shared" and chosen.path == shared
    assert any("single-party" in m and "development only" in m for m in said)


def test_shared_file_with_wrong_sha_is_skipped(toy: Toy, tmp_path: Path) -> None:
    shared = _shared_copy(toy, tmp_path / "shared", digest="0" * 64)
    said: list[str] = []
    with pytest.raises(ProverError, match="no ptau of power >= 8"):
        resolve_ptau(
            TOY_POWER,
            cache=tmp_path / "empty-cache",
            shared_dir=shared.parent,
            generate=False,
            notify=said.append,
        )
    assert any("sha256 does not match" in m for m in said)
    # with a cache holding a generated file, that one is used instead
    fallback = resolve_ptau(
        TOY_POWER, cache=toy.cache, shared_dir=shared.parent, generate=False, notify=said.append
    )
    assert fallback.source == "cache"


def test_shared_file_without_sidecar_is_skipped(toy: Toy, tmp_path: Path) -> None:
    shared = _shared_copy(toy, tmp_path / "shared")
    shared.with_name(shared.name + ".sha256").unlink()
    said: list[str] = []
    with pytest.raises(ProverError, match="no ptau"):
        resolve_ptau(
            TOY_POWER, cache=tmp_path / "c", shared_dir=shared.parent, generate=False, notify=said.append
        )
    assert any("no pot8_final.ptau.sha256" in m for m in said)


def test_project_shared_dev_file() -> None:
    shared = default_shared_dir()
    if not (shared / "pot16_final.ptau").is_file():
        pytest.skip("no shared dev ptau on this machine")
    chosen = resolve_ptau(12, shared_dir=shared, generate=False, notify=lambda m: None)
    assert chosen.source == "shared" and chosen.power == 16

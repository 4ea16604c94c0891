"""The Poseidon schedules stored between processes (engine/poseidon_store.py): the stored
schedule is the derived one, a bad file is derived again, and the hashes never change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import poseidon, poseidon_store
from engine.poseidon import MAX_INPUTS


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path))
    poseidon._schedule.cache_clear()
    yield tmp_path
    poseidon._schedule.cache_clear()


def _hash_in_python(inputs: list[int]) -> int:
    poseidon._schedule.cache_clear()
    return poseidon.poseidon_python(inputs)


def test_the_stored_schedule_is_the_derived_one_for_every_width(cache: Path) -> None:
    for width in range(2, MAX_INPUTS + 2):
        derived = poseidon._schedule(width)  # derived and stored
        assert poseidon_store.schedule_path(width).is_file()
        poseidon._schedule.cache_clear()
        assert poseidon._schedule(width) == derived == poseidon.derive_schedule(width)


def test_the_file_is_keyed_by_the_source_of_the_derivation(cache: Path) -> None:
    poseidon._schedule(3)
    (path,) = (cache / "poseidon").iterdir()
    assert path.name == f"schedule-t3-{poseidon_store.source_digest()[:16]}.json"


@pytest.mark.parametrize(
    "damage",
    ["not json", "wrong sha256", "wrong shape, right sha256", "a value outside the field", "another width"],
)
def test_a_bad_file_is_derived_again_and_hashes_are_unchanged(cache: Path, damage: str) -> None:
    inputs = [1, 2, 3, 4]
    want = _hash_in_python(inputs)  # derives and stores width 5
    path = poseidon_store.schedule_path(5)
    doc = json.loads(path.read_text(encoding="utf-8"))
    fields = doc["fields"]
    if damage == "not json":
        path.write_text("{", encoding="utf-8")
    else:
        if damage == "wrong sha256":
            fields["sparse_corner"] += 1
        elif damage == "wrong shape, right sha256":
            fields["sparse_row"] = fields["sparse_row"][:-1]
        elif damage == "a value outside the field":
            fields["sparse_corner"] = -1
        else:
            doc["width"] = 6
        if damage != "wrong sha256":
            doc["sha256"] = poseidon_store._payload_digest(fields)
        path.write_text(json.dumps(doc), encoding="utf-8")
    assert _hash_in_python(inputs) == want
    assert poseidon_store.load_schedule(5) is not None  # written again, good this time


def test_a_cache_path_that_is_a_file_is_left_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("ZKMARGIN_CACHE", str(blocker))
    poseidon._schedule.cache_clear()
    try:
        assert _hash_in_python([7, 8, 9]) == poseidon.poseidon_reference([7, 8, 9])
    finally:
        poseidon._schedule.cache_clear()

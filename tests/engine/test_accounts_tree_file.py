"""The published accounts-tree file: round trip, and every way it can lie or break."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from engine.accounts_tree import AccountsTree
from engine.errors import InputError
from engine.fixedpoint import FIELD_P, ID_LIMIT
from engine.formats import dump_accounts_tree, load_accounts_tree


@pytest.fixture
def tree() -> AccountsTree:
    rng = random.Random(4)
    return AccountsTree({rng.randrange(ID_LIMIT): rng.randrange(FIELD_P) for _ in range(30)}, depth=4)


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(doc))
    return path


def test_round_trip(tree: AccountsTree, tmp_path: Path) -> None:
    loaded = load_accounts_tree(_write(tmp_path, dump_accounts_tree(tree)))
    assert (loaded.root, loaded.ids, loaded.commitments, loaded.depth) == (
        tree.root,
        tree.ids,
        tree.commitments,
        tree.depth,
    )


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda d: d["leaves"].insert(1, list(d["leaves"][0])),
            "accounts_tree.leaves[1][0]",
            "no account twice",
        ),
        (lambda d: d["leaves"].reverse(), "accounts_tree.leaves[1][0]", "strictly increase"),
        (lambda d: d["leaves"][3].__setitem__(1, str(FIELD_P)), "accounts_tree.leaves[3][1]", "commitment"),
        (lambda d: d["leaves"][2].__setitem__(0, str(ID_LIMIT)), "accounts_tree.leaves[2][0]", "account id"),
        (lambda d: d["leaves"][0].pop(), "accounts_tree.leaves[0]", "[account id, commitment]"),
        (lambda d: d["leaves"][5].__setitem__(1, "7"), "accounts_tree.root", "not the root"),
        (lambda d: d.__setitem__("depth", 0), "accounts_tree.depth", "1..32"),
        (lambda d: d.__setitem__("extra", 1), "accounts_tree.extra", "unknown field"),
        (lambda d: d.__setitem__("format", "zkmargin/market@1"), "accounts_tree.format", "market file"),
    ],
)
def test_bad_files_name_the_field(
    tree: AccountsTree, tmp_path: Path, change: Any, field: str, words: str
) -> None:
    doc = json.loads(json.dumps(dump_accounts_tree(tree)))
    change(doc)
    with pytest.raises(InputError) as exc:
        load_accounts_tree(_write(tmp_path, doc))
    assert exc.value.field == field and words in exc.value.message, exc.value

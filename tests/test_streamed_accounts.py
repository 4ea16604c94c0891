"""Accounts read element by element (``iter_accounts``) against the whole-file reader
(``load_accounts``): the same accounts, in the same order, and the same errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.formats import LabeledAccount, dump_accounts, iter_accounts, load_accounts
from engine.formats.json_text import StreamedDocument
from engine.model import Market
from engine.profiles import PROFILES
from tests.engine.strategies import accounts, make_account, make_market, make_row, markets

PROFILE = PROFILES["test"]


def _both(path: Path, market: Market, chunk: int) -> tuple[object, object]:
    def run(read):  # type: ignore[no-untyped-def]
        try:
            return read()
        except InputError as err:
            return ("error", err.field, err.message)

    whole = run(lambda: load_accounts(path, market))
    pieces = run(lambda: [a for piece in iter_accounts(path, market, chunk) for a in piece])
    return whole, pieces


@st.composite
def documents(draw: st.DrawFn) -> tuple[Market, str]:
    market = draw(markets(PROFILE))
    accs = [LabeledAccount(draw(accounts(market)), f"a{i}") for i in range(draw(st.integers(0, 6)))]
    doc = dump_accounts(accs)
    if draw(st.booleans()):
        doc = {"accounts": doc["accounts"], "format": doc["format"]}  # any key order
    indent = draw(st.sampled_from([None, 0, 2]))
    text = json.dumps(doc, indent=indent)
    damage = draw(
        st.sampled_from(["none", "none", "none", "cut", "comma", "key", "format", "dup", "extra", "type"])
    )
    if damage == "cut":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif damage == "comma" and "}" in text:
        k = text.rindex("}", 0, len(text) - 1) if text.count("}") > 1 else text.rindex("}")
        text = text[: k + 1] + "," + text[k + 1 :]
    elif damage == "key":
        text = text.replace('"format"', '"formats"', 1)
    elif damage == "format":
        text = text.replace("accounts@1", "account@1", 1)
    elif damage == "dup":
        text = text.replace("{", '{"format": "zkmargin/accounts@1", ', 1)
    elif damage == "extra":
        text = text + draw(st.sampled_from([" ", "\n", "x", "{}"]))
    elif damage == "type":
        text = text.replace('"accounts": [', '"accounts": {"x": [', 1)
    return market, text


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(documents(), st.integers(1, 4))
def test_streamed_equals_whole(tmp_path: Path, case: tuple[Market, str], chunk: int) -> None:
    market, text = case
    path = tmp_path / "accounts.json"
    path.write_text(text)
    whole, pieces = _both(path, market, chunk)
    if isinstance(whole, list):
        assert pieces == whole
    else:
        assert pieces == whole  # the same field and message


def test_pieces_have_the_chunk_size(tmp_path: Path) -> None:
    market = make_market(PROFILE, [(10**6, 10**12)], [make_row(1, asset=0)])
    accs = [LabeledAccount(make_account(PROFILE, {1: 10**6 * (i + 1)}), f"a{i}") for i in range(7)]
    accs = [LabeledAccount(dataclasses.replace(a.account, account_id=i), a.label) for i, a in enumerate(accs)]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(dump_accounts(accs)))
    assert [len(p) for p in iter_accounts(path, market, chunk=3)] == [3, 3, 1]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"a": [1, 2,]}', "line 1 column"),
        ('{"a": 1,}', "expected a property name"),
        ('{"a": 1 "b": 2}', "expected ',' or '}'"),
        ('{"a": [1 2]}', "expected ',' or ']'"),
        ('{"a": [], "a": []}', "duplicate key 'a'"),
        ('{"b": 1, "b": 2}', "duplicate key 'b'"),
        ("[1]", "must be a JSON object at the top level, got array"),
        ('{"a": []} x', "extra data"),
        ("", "file is empty"),
    ],
)
def test_streamed_document_errors(text: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        doc = StreamedDocument(text, "account", "a")
        list(doc.elements())
    assert info.value.field == "account"
    assert words in info.value.message


def test_streamed_document_reads_head_and_elements() -> None:
    doc = StreamedDocument(' {"x": {"y": [1]}, "a": [ {"k": 1} , 2 ] ,"z": null } \n', "r", "a")
    assert list(doc.elements()) == [{"k": 1}, 2]
    assert doc.head == {"x": {"y": [1]}, "z": None} and doc.found

"""engine.formats: number rules, strict parsing, format tags and lossless round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.formats import (
    LabeledAccount,
    MarketFile,
    dump_account,
    dump_accounts,
    dump_market,
    dump_params,
    dump_quotes,
    dump_report,
    dumps,
    load_account,
    load_accounts,
    load_market,
    load_params,
    load_quotes,
    load_report,
    make_market_file,
)
from engine.formats.json_text import (
    MAX_NESTING,
    as_int,
    as_real,
    check_nesting,
    emit_field,
    emit_int,
    parse_json_text,
)
from engine.margin import compute_margin
from engine.market_builder import build_market
from engine.model import EMPTY_SLOT, Account, Slot
from engine.profiles import get_profile

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TEST = get_profile("test")


def _write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def market_file() -> MarketFile:
    quotes = load_quotes(EXAMPLES / "quotes-test.json", TEST)
    config = load_params(EXAMPLES / "params-test.json").row_config
    market = build_market(TEST, 3, quotes.assets, quotes.instruments, config, quotes.as_of)
    return make_market_file(market, quotes, config, None)


# ------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), (-7, -7), ("123", 123), ("-0", 0), (str(2**200), 2**200)]
)
def test_int_accepts_json_ints_and_decimal_strings(value: object, expected: int) -> None:
    assert as_int("x", value) == expected


@pytest.mark.parametrize(
    "value", [1.0, 1.5, True, False, None, "1.5", "1e3", " 12", "+1", "01", "0x10", "", [1], {}]
)
def test_int_rejects_everything_else(value: object) -> None:
    with pytest.raises(InputError) as info:
        as_int("account.cash", value)
    assert info.value.field == "account.cash"
    assert "must be an integer" in info.value.message


def test_real_rules() -> None:
    assert as_real("x", 3) == 3.0
    assert as_real("x", 0.25) == 0.25
    for bad in (True, "1.0", None, 10**400):
        with pytest.raises(InputError, match="finite number"):
            as_real("quotes.assets[0].spot", bad)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_rejected_as_numbers_and_ints(literal: str) -> None:
    doc = parse_json_text(f'{{"a": {literal}}}', "x")
    with pytest.raises(InputError, match=f"got {literal}"):
        as_real("x.a", doc["a"])
    with pytest.raises(InputError, match=f"got {literal}"):
        as_int("x.a", doc["a"])


def test_emit_rules() -> None:
    assert emit_int(2**53 - 1) == 2**53 - 1
    assert emit_int(-(2**53 - 1)) == -(2**53 - 1)
    assert emit_int(2**53) == str(2**53)
    assert emit_int(-(2**80)) == str(-(2**80))
    assert emit_field(5) == "5"


# ------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "file is empty"),
        ("  \n ", "file is empty"),
        ('{"a": 1,\n "b": }', "line 2 column"),
        ("[1, 2]", "must be a JSON object at the top level, got array"),
        ('"text"', "got string"),
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"a": ' + "9" * 5000 + "}", "not valid JSON"),
    ],
)
def test_parse_errors(text: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse_json_text(text, "quotes")
    assert info.value.field == "quotes"
    assert words in info.value.message


def _nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        (_nested(MAX_NESTING), False),
        (_nested(MAX_NESTING + 1), True),
        ('{"a": ' + _nested(MAX_NESTING - 1) + "}", False),
        ('{"a": ' + _nested(MAX_NESTING) + "}", True),
        # brackets inside strings (with escaped quotes) do not count
        (_nested(MAX_NESTING, '"' + "[" * 100 + '\\" {{{"'), False),
        ('["\\"", ' + _nested(MAX_NESTING) + "]", True),
        # depth goes down again: many shallow arrays are fine
        ("[" + ", ".join([_nested(MAX_NESTING - 1)] * 50) + "]", False),
    ],
)
def test_nesting_limit(text: str, deep: bool) -> None:
    if deep:
        with pytest.raises(InputError, match=f"nested deeper than {MAX_NESTING} levels"):
            check_nesting(text, "market")
    else:
        check_nesting(text, "market")
        json.loads(text)  # the cases are valid JSON


def _reference_depth(text: str) -> int:
    """The deepest nesting a JSON parser would reach, character by character (inside a
    string until its closing quote; a backslash escapes the next character)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}"ab \\', max_size=200), st.integers(0, 6))
def test_nesting_check_never_misses_deep_nesting(text: str, limit: int) -> None:
    """The numpy scan (and its backslash fallback) refuses everything nested deeper than
    the limit; where it refuses more, the text is not valid JSON anyway (an unterminated
    string after a backslash)."""
    try:
        check_nesting(text, "x", limit)
    except InputError as err:
        assert "nested deeper" in err.message
        if _reference_depth(text) <= limit:
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
    else:
        assert _reference_depth(text) <= limit


def test_duplicate_key_names_the_repeated_key() -> None:
    with pytest.raises(InputError, match="duplicate key 'b'"):
        parse_json_text('{"a": {"b": 1, "c": 2, "b": 3}}', "params")
    assert parse_json_text('{"a": {"b": 1}, "b": {"b": 2}}', "params") == {"a": {"b": 1}, "b": {"b": 2}}


def test_wrong_kind_names_the_kind_found(tmp_path: Path) -> None:
    path = _write(tmp_path, "q.json", {"format": "zkmargin/params@2"})
    with pytest.raises(InputError) as info:
        load_quotes(path, TEST)
    assert info.value.field == "quotes.format"
    assert '"zkmargin/quotes@1"' in info.value.message
    assert "a params file" in info.value.message
    assert str(path) in info.value.message


def test_unknown_version_rejected(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLES / "params-test.json").read_text())
    doc["format"] = "zkmargin/params@3"
    with pytest.raises(InputError, match="zkmargin/params@2"):
        load_params(_write(tmp_path, "p.json", doc))


def test_a_zkpm1_params_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    """Never migrated silently: rho approved for ZKPM-1 is not approved for ZKPM-2."""
    doc = json.loads((EXAMPLES / "params-test.json").read_text())
    doc["format"] = "zkmargin/params@1"
    del doc["model"]
    with pytest.raises(InputError) as info:
        load_params(_write(tmp_path, "p.json", doc))
    assert info.value.field == "params.format"
    assert "a ZKPM-1 params file" in info.value.message and '"model": "ZKPM-2"' in info.value.message
    doc["format"] = "zkmargin/params@2"
    for model, message in ((None, "model"), ("ZKPM-1", "must be 'ZKPM-2'")):
        if model is not None:
            doc["model"] = model
        with pytest.raises(InputError, match=message) as info:
            load_params(_write(tmp_path, "p.json", doc))
        assert info.value.field == "params.model"


# ------------------------------------------------------------------- round trips


def test_quotes_round_trip(tmp_path: Path) -> None:
    quotes = load_quotes(EXAMPLES / "quotes.json", get_profile("demo"))
    assert quotes.asset_names == ("BTC", "ETH", "SOL")
    again = load_quotes(_write(tmp_path, "q.json", dumps(dump_quotes(quotes))), get_profile("demo"))
    assert again == quotes


def test_params_round_trip_and_resolve(tmp_path: Path) -> None:
    params = load_params(EXAMPLES / "params.json")
    again = load_params(_write(tmp_path, "p.json", dumps(dump_params(params))))
    assert again == params
    risk = params.resolve(("BTC", "ETH", "SOL"), get_profile("demo"))
    assert risk.kappa == (100_000, 100_000, 150_000, 0)
    # no calibration: rho = 1 between quoted assets, identity on the unused slot
    assert risk.rho[0] == (10**6, 10**6, 10**6, 0)
    assert risk.rho[3] == (0, 0, 0, 10**6)


def test_params_kappa_list_and_explicit_rho(tmp_path: Path) -> None:
    doc = {
        "format": "zkmargin/params@2",
        "model": "ZKPM-2",
        "mm_factor": "500000",
        "kappa": [1, 2],
        "rho": [[10**6, 0], [0, 10**6]],
    }
    params = load_params(_write(tmp_path, "p.json", doc))
    risk = params.resolve(("BTC", "ETH"), get_profile("demo"))
    assert risk.mm_factor == 500_000
    assert risk.kappa == (1, 2, 0, 0)
    assert risk.rho[1] == (0, 10**6, 0, 0)


def test_params_kappa_missing_asset(tmp_path: Path) -> None:
    doc = {
        "format": "zkmargin/params@2",
        "model": "ZKPM-2",
        "mm_factor": 1,
        "kappa": {"BTC": 1},
        "rho": "from calibration",
    }
    params = load_params(_write(tmp_path, "p.json", doc))
    with pytest.raises(InputError) as info:
        params.resolve(("BTC", "ETH"), TEST)
    assert info.value.field == "params.kappa.ETH"


def test_market_round_trip(tmp_path: Path, market_file: MarketFile) -> None:
    path = _write(tmp_path, "m.json", dumps(dump_market(market_file)))
    loaded = load_market(path)
    assert loaded.market.rows == market_file.market.rows
    assert loaded.market.assets == market_file.market.assets
    assert loaded.market.asset_names == ("BTC", "ETH")
    assert loaded.market.epoch == 3
    assert loaded.market_root == market_file.market_root
    assert loaded.source == market_file.source
    assert loaded.config == market_file.config


def test_market_tampering_is_detected(tmp_path: Path, market_file: MarketFile) -> None:
    doc = dump_market(market_file)
    doc["rows"][0]["ra"][3] = int(doc["rows"][0]["ra"][3]) + 1  # still within every bound
    with pytest.raises(InputError) as info:
        load_market(_write(tmp_path, "m.json", doc))
    assert info.value.field == "market.tree_root"
    assert "does not match" in info.value.message


def test_market_source_must_match_rows(tmp_path: Path, market_file: MarketFile) -> None:
    doc = dump_market(market_file)
    doc["source"]["instruments"].pop()
    with pytest.raises(InputError) as info:
        load_market(_write(tmp_path, "m.json", doc))
    assert info.value.field == "market.source.instruments"


def test_accounts_round_trip_and_canonical_form(tmp_path: Path, market_file: MarketFile) -> None:
    market = market_file.market
    accounts = load_accounts(EXAMPLES / "accounts-test.json", market)
    assert [a.label for a in accounts][:2] == ["alice-hedged-btc", "bob-covered-eth"]
    for acc in accounts:
        assert len(acc.account.slots) == TEST.slots
    again = load_accounts(_write(tmp_path, "a.json", dumps(dump_accounts(accounts))), market)
    assert again == accounts
    one = load_accounts(_write(tmp_path, "one.json", dumps(dump_account(accounts[0]))), market)
    assert one == accounts[:1]


def test_load_account_wants_exactly_one(market_file: MarketFile) -> None:
    market = market_file.market
    assert load_account(EXAMPLES / "account-carol.json", market).label == "carol-short-vol"
    with pytest.raises(InputError, match="the file holds 4"):
        load_account(EXAMPLES / "accounts-test.json", market)


def test_unsorted_positions_are_canonicalised(tmp_path: Path, market_file: MarketFile) -> None:
    doc = {
        "format": "zkmargin/account@1",
        "account_id": 9,
        "nonce": 1,
        "salt": "77",
        "cash": str(2**70),
        "positions": [
            {"instrument_id": 8, "q": -3},
            {"instrument_id": 1, "q": 0},
            {"instrument_id": 2, "q": 5},
        ],
    }
    [acc] = load_accounts(_write(tmp_path, "a.json", doc), market_file.market)
    assert acc.account == Account(9, 1, 77, 2**70, (Slot(2, 5), Slot(8, -3), EMPTY_SLOT, EMPTY_SLOT))
    written = dump_account(acc)
    assert written["cash"] == str(2**70)  # beyond 2**53: a string
    assert written["salt"] == "77"  # field element: always a string


def test_report_round_trip(tmp_path: Path, market_file: MarketFile) -> None:
    market = market_file.market
    params = load_params(EXAMPLES / "params-test.json").resolve(market.asset_names, TEST)
    accounts = load_accounts(EXAMPLES / "accounts-test.json", market)
    results = [compute_margin(market, params, a.account) for a in accounts]
    doc = dump_report(
        profile="test",
        epoch=3,
        as_of="2022-11-15",
        market_root=1,
        params_hash=2,
        accounts=accounts,
        results=results,
    )
    lines = load_report(_write(tmp_path, "r.json", dumps(doc)))
    assert [line["status"] for line in lines] == [r.status for r in results]
    assert sum(doc["counts"].values()) == len(accounts)
    doc["accounts"][0]["status"] = 4
    with pytest.raises(InputError) as info:
        load_report(_write(tmp_path, "bad.json", dumps(doc)))
    assert info.value.field == "report.accounts[0].status"


@pytest.mark.parametrize("pieces", [0, 1, 3])
def test_report_in_pieces_is_the_whole_report(market_file: MarketFile, pieces: int) -> None:
    """``ReportLines`` fed piece by piece writes exactly ``dumps_records(dump_report(...))``."""
    import io

    from engine.formats.json_text import dumps_records
    from engine.formats.report import ReportLines, report_head

    market = market_file.market
    params = load_params(EXAMPLES / "params-test.json").resolve(market.asset_names, TEST)
    accounts = load_accounts(EXAMPLES / "accounts-test.json", market) if pieces else []
    results = [compute_margin(market, params, a.account) for a in accounts]
    fields = {"profile": "test", "epoch": 3, "as_of": "2022-11-15", "market_root": 1, "params_hash": 2}
    whole = dumps_records(dump_report(**fields, accounts=accounts, results=results), "accounts")
    out = io.StringIO()
    with ReportLines() as lines:
        size = max(1, -(-len(accounts) // max(pieces, 1)))
        for i in range(0, len(accounts), size):
            lines.add(accounts[i : i + size], results[i : i + size])
        lines.write_to(out, report_head(**fields, counts=lines.counts))
    assert out.getvalue() == whole
    assert json.loads(whole)["accounts"] == json.loads(out.getvalue())["accounts"]


def test_labeled_account_display_name() -> None:
    acc = Account(5, 0, 0, 0, (EMPTY_SLOT,) * 4)
    assert LabeledAccount(acc).display_name == "#5"
    assert LabeledAccount(acc, "x").display_name == "x"


def test_the_cycle_collector_is_paused_only_while_a_file_is_read(tmp_path: Path) -> None:
    import gc

    from engine.formats.json_text import cyclic_gc_paused

    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError):
        load_params(bad)
    assert gc.isenabled()  # restored on an error too
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # a caller's own choice is kept
    finally:
        gc.enable()

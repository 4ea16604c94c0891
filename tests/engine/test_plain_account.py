"""The fast account reader (``plain_account``) against the definition (``read_account``).

``plain_account`` may decline anything (then ``read_account`` decides), but whatever it
accepts must be exactly what ``read_account`` returns, and it must never accept an account
that ``read_account`` refuses. Checked on random accounts with every kind of damage.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.fixedpoint import CASH_LIMIT, FIELD_P, ID_LIMIT, Q_LIMIT
from engine.formats.account import LabeledAccount, dump_account_body, plain_account, read_account
from engine.formats.json_text import Obj
from engine.model import Market
from engine.profiles import PROFILES
from tests.engine.strategies import accounts, make_market, make_row, markets

PROFILE = PROFILES["test"]

#: Values that sit on or just across the bounds, or have the wrong JSON type.
EDGES: dict[str, list[Any]] = {
    "account_id": [0, ID_LIMIT - 1, ID_LIMIT, -1, "12", "012", True, 1.0, None, str(ID_LIMIT - 1)],
    "nonce": [0, ID_LIMIT - 1, ID_LIMIT, -1, "7", False, 2.5],
    "salt": [0, FIELD_P - 1, FIELD_P, -1, str(FIELD_P - 1), str(FIELD_P), "-1", "01", "1e3", 1.5, None],
    "cash": [CASH_LIMIT - 1, -(CASH_LIMIT - 1), CASH_LIMIT, -CASH_LIMIT, "-5", True, 0.5],
    "label": ["", "alice", None, 5, ["x"]],
    "instrument_id": [0, -1, 4**PROFILE.depth, 4**PROFILE.depth - 1, 10**6, "3", True, 1.0],
    "q": [0, Q_LIMIT - 1, -(Q_LIMIT - 1), Q_LIMIT, -Q_LIMIT, "-5", "5", True, 0.1, None],
}


def _slow(value: Any, market: Market) -> LabeledAccount | InputError:
    try:
        o = Obj("accounts[0]", value)
        out = read_account(o, market)
        o.done()
        return out
    except InputError as err:
        return err


@st.composite
def damaged(draw: st.DrawFn) -> tuple[Market, Any]:
    market = draw(markets(PROFILE))
    acc = draw(accounts(market))
    body: Any = dump_account_body(LabeledAccount(acc, draw(st.sampled_from(["", "bob"]))))
    body["positions"] = [dict(p) for p in body["positions"]]
    draw(st.randoms()).shuffle(body["positions"])
    positions = body["positions"]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["field", "position", "extra", "duplicate", "zero", "many"]))
        if kind == "field":
            key = draw(st.sampled_from(["account_id", "nonce", "salt", "cash", "label"]))
            body[key] = draw(st.sampled_from(EDGES[key]))
        elif kind == "position" and positions:
            p = draw(st.sampled_from(positions))
            key = draw(st.sampled_from(["instrument_id", "q"]))
            p[key] = draw(st.sampled_from(EDGES[key]))
        elif kind == "extra":
            target = draw(st.sampled_from([body, *positions]))
            target[draw(st.sampled_from(["extra", "Q", "format"]))] = 1
        elif kind == "duplicate" and positions:
            positions.append(dict(draw(st.sampled_from(positions))))
        elif kind == "many":
            # more listed instruments, possibly more than the k slots hold
            held = {p["instrument_id"] for p in positions}
            for iid in [i for i in sorted(market.rows) if i not in held][: draw(st.integers(1, 6))]:
                positions.append({"instrument_id": iid, "q": draw(st.sampled_from([1, -(10**6)]))})
        elif kind == "zero":
            # a zero-size position: dropped, whatever its (non-negative) id
            positions.append({"instrument_id": draw(st.integers(0, 10**7)), "q": 0})
    # at most one damage to the structure, last
    structure = draw(st.sampled_from(["none", "none", "missing", "positions", "position", "body"]))
    if structure == "missing":
        target = draw(st.sampled_from([body, *positions]))
        del target[draw(st.sampled_from(sorted(target)))]
    elif structure == "positions":
        body["positions"] = draw(st.sampled_from([None, {}, "[]", 3]))
    elif structure == "position" and positions:
        positions[0] = draw(st.sampled_from([None, [], "p", 1]))
    elif structure == "body":
        body = draw(st.sampled_from([[], None, "account", 7]))
    return market, body


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_fast_reader_agrees_with_the_definition(case: tuple[Market, Any]) -> None:
    market, value = case
    slow = _slow(value, market)
    fast = plain_account(value, market)
    if isinstance(slow, InputError):
        assert fast is None, f"fast path accepted what read_account refuses: {slow}"
    elif fast is not None:
        assert fast == slow


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fast_reader_takes_the_common_shape(data: st.DataObject) -> None:
    """Undamaged accounts written by ``dump_account_body`` all take the fast path."""
    market = data.draw(markets(PROFILE))
    acc = LabeledAccount(data.draw(accounts(market)), data.draw(st.sampled_from(["", "carol"])))
    assert plain_account(dump_account_body(acc), market) == acc


def test_more_positions_than_slots_are_left_to_the_definition() -> None:
    """k + 1 listed positions: the fast path declines, ``read_account`` names the bound."""
    market = make_market(
        PROFILE,
        [(1_000_000, 10**12)] * PROFILE.assets,
        [make_row(i, asset=i % PROFILE.assets) for i in range(PROFILE.slots + 1)],
    )
    body = {
        "account_id": 1,
        "nonce": 0,
        "salt": "5",
        "cash": 0,
        "positions": [{"instrument_id": i, "q": 10**6} for i in range(PROFILE.slots + 1)],
    }
    assert plain_account(body, market) is None
    slow = _slow(body, market)
    assert isinstance(slow, InputError) and f"at most k = {PROFILE.slots}" in slow.message
    body["positions"].pop()
    assert plain_account(body, market) == _slow(body, market)

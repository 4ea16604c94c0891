"""Bad input through the real CLI: exit code 2, a message naming the field and the
bound, and no output file (not even a partial one).

Each case starts from the valid example files (test profile), breaks one thing and
runs ``zkmargin.cli.main`` with ``--out`` pointing into a fresh directory.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.fixedpoint import FIELD_P
from zkmargin.cli.main import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
Doc = dict[str, Any]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the console entry point; (exit code, stderr with whitespace normalised)."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    code = info.value.code
    return (code if isinstance(code, int) else 1), " ".join(err.split())


def _load(name: str) -> Doc:
    data: Doc = json.loads((EXAMPLES / name).read_text())
    return data


@pytest.fixture(scope="module")
def market_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid test-profile market built from the examples (no history: fast)."""
    out = tmp_path_factory.mktemp("market") / "market.json"
    with pytest.raises(SystemExit) as info:
        main(
            [
                "market", "build", "--quotes", str(EXAMPLES / "quotes-test.json"),
                "--params", str(EXAMPLES / "params-test.json"), "--profile", "test", "--epoch", "1",
                "--out", str(out),
            ]
        )  # fmt: skip
    assert info.value.code == 0 and out.exists()
    return out


# --------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One kind of bad input: which command, what to break, what the error must say."""

    name: str
    command: str  # "build" (test profile), "build-demo", "margin", "calibrate"
    target: str  # which file to break: "quotes", "params", "accounts", "market", "history", "args"
    breaker: Callable[[Any], Any]  # JSON doc -> broken doc (or text -> text for raw cases)
    field: str
    bound: str
    raw: bool = False  # breaker works on the file's text instead of its JSON


_DELETE = object()  # a breaker value meaning "remove the key"


def _set(path: str, value: Any) -> Callable[[Doc], Doc]:
    """A breaker that sets ``doc[path]`` (dotted path, integer parts index lists)."""

    def breaker(doc: Doc) -> Doc:
        out = copy.deepcopy(doc)
        parts = path.split(".")
        node: Any = out
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = parts[-1]
        if value is _DELETE:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
        return out

    return breaker


def _positions(*positions: tuple[int, Any]) -> Callable[[Doc], Doc]:
    return _set("accounts.0.positions", [{"instrument_id": i, "q": q} for i, q in positions])


# fmt: off
CASES: list[Case] = [
    # --- quotes (market build)
    Case("missing field", "build", "quotes", _set("assets.0.spot", _DELETE), "quotes.assets[0].spot", "required"),
    Case("wrong type", "build", "quotes", _set("assets.0.spot", "16884.6"), "quotes.assets[0].spot", "finite number"),
    Case("NaN", "build", "quotes", lambda t: t.replace('"spot": 16884.6', '"spot": NaN'),
         "quotes.assets[0].spot", "finite number", raw=True),
    Case("zero depth", "build", "quotes", _set("assets.1.depth", 0), "quotes.assets[1].depth", "must be > 0"),
    Case("negative depth", "build", "quotes", _set("assets.1.depth", -5.0), "quotes.assets[1].depth", "must be > 0"),
    Case("spot past 2**48", "build", "quotes", _set("assets.0.spot", 3e8), "quotes.assets[0].spot", "2**48"),
    Case("vol as percent", "build", "quotes", _set("assets.0.vol", 72), "quotes.assets[0].vol", "0 < vol <= 10"),
    Case("expired option", "build", "quotes", _set("instruments.2.expiry", "2022-11-14"),
         "quotes.instruments[2].expiry", "on or after as_of"),
    Case("bad date", "build", "quotes", _set("as_of", "15/11/2022"), "quotes.as_of", "YYYY-MM-DD"),
    Case("unknown asset", "build", "quotes", _set("instruments.2.asset", "DOGE"),
         "quotes.instruments[2].asset", "unknown asset"),
    Case("unknown kind", "build", "quotes", _set("instruments.2.kind", "future"),
         "quotes.instruments[2].kind", "one of spot, perp, call, put"),
    Case("instrument id past 4**d", "build", "quotes", _set("instruments.2.id", 16),
         "quotes.instruments[2].id", "4**2"),
    Case("too many assets for A", "build", "quotes",
         lambda d: {**d, "assets": [*d["assets"], {"name": "SOL", "spot": 14.1, "vol": 1.4, "depth": 3e6}]},
         "quotes.assets", "at most A = 2"),
    Case("history too short to calibrate", "build", "quotes",
         lambda d: {**d, "assets": [{**a, "history": [100.0, 101.0, 99.0]} for a in d["assets"]]},
         "quotes.assets[].history", "at least 30 closes"),
    Case("history close zero", "build", "quotes", _set("assets.0.history", [100.0, 0.0]),
         "quotes.assets[0].history[1]", "> 0"),
    Case("unknown field", "build", "quotes", _set("assets.0.spto", 1.0), "quotes.assets[0].spto", "unknown field"),
    Case("malformed JSON", "build", "quotes", lambda t: t.replace('"as_of"', "as_of", 1),
         "quotes", "not valid JSON", raw=True),
    Case("malformed JSON line/column", "build", "quotes", lambda t: t[:-3], "quotes", "line", raw=True),
    Case("empty file", "build", "quotes", lambda t: "", "quotes", "file is empty", raw=True),
    Case("top-level array", "build", "quotes", lambda d: [d], "quotes", "must be a JSON object"),
    Case("wrong format tag", "build", "quotes", _set("format", "zkmargin/account@1"),
         "quotes.format", "zkmargin/quotes@1"),
    Case("missing format tag", "build", "quotes", _set("format", _DELETE), "quotes.format", "zkmargin/quotes@1"),
    Case("duplicate key", "build", "quotes", lambda t: t.replace('"as_of"', '"as_of": "2022-11-15", "as_of"', 1),
         "quotes", "duplicate key", raw=True),
    # --- params (market build)
    Case("mm_factor zero", "build", "params", _set("mm_factor", 0), "params.mm_factor", "0 < mm_factor <= 10**6"),
    Case("mm_factor float", "build", "params", _set("mm_factor", 0.6), "params.mm_factor", "must be an integer"),
    Case("kappa past 2**32", "build", "params", _set("kappa.BTC", 2**32), "params.kappa[0]", "kappa < 2**32"),
    Case("kappa unknown asset", "build", "params", _set("kappa.SOL", 1), "params.kappa.SOL", "unknown asset"),
    Case("rho asymmetric", "build", "params", _set("rho", [[1000000, 100000], [200000, 1000000]]),
         "params.rho[0][1]", "symmetric"),
    Case("rho diagonal", "build", "params", _set("rho", [[999999, 0], [0, 1000000]]),
         "params.rho[0][0]", "diagonal must equal 10**6"),
    Case("rho above 1", "build", "params", _set("rho", [[1000000, 1000001], [1000001, 1000000]]),
         "params.rho[0][1]", "|rho| must be <= 10**6"),
    Case("rho not PSD (3 assets, demo)", "build-demo", "params",
         _set("rho", [[1000000, 900000, -900000], [900000, 1000000, 900000], [-900000, 900000, 1000000]]),
         "params.rho", "positive semi-definite"),
    Case("rho wrong size", "build", "params", _set("rho", [[1000000]]), "params.rho", "n x n"),
    Case("rho bad string", "build", "params", _set("rho", "identity"), "params.rho", "from calibration"),
    Case("haircut above 1", "build", "params", _set("row_config.haircut.BTC", 1.5),
         "params.row_config.haircut.BTC", "0 <= haircut <= 1"),
    Case("m_min above m_max", "build", "params", _set("row_config.m_min", 0.9), "params.row_config.m_min", "m_max"),
    Case("epoch negative", "build", "args", lambda argv: [*argv, "--epoch", "-1"], "epoch", "2**64"),
    # --- accounts (margin)
    Case("q past 2**48", "margin", "accounts", _set("accounts.0.positions.0.q", 2**48),
         "accounts[0].positions[0].q", "|q| must be < 2**48"),
    Case("q as decimal string past 2**48", "margin", "accounts", _set("accounts.0.positions.0.q", str(-(2**48))),
         "accounts[0].positions[0].q", "|q| must be < 2**48"),
    Case("q boolean", "margin", "accounts", _set("accounts.0.positions.0.q", True),
         "accounts[0].positions[0].q", "must be an integer"),
    Case("q float", "margin", "accounts", _set("accounts.0.positions.0.q", 1.5),
         "accounts[0].positions[0].q", "must be an integer"),
    Case("cash past 2**80", "margin", "accounts", _set("accounts.1.cash", str(2**80)),
         "accounts[1].cash", "|cash| must be < 2**80"),
    Case("salt past p", "margin", "accounts",
         _set("accounts.0.salt", str(FIELD_P)), "accounts[0].salt", "salt < p"),
    Case("account_id negative", "margin", "accounts", _set("accounts.0.account_id", -1),
         "accounts[0].account_id", "0 <= account_id < 2**64"),
    Case("nonce past 2**64", "margin", "accounts", _set("accounts.0.nonce", 2**64),
         "accounts[0].nonce", "nonce < 2**64"),
    Case("duplicate slots", "margin", "accounts", _positions((0, 1), (1, 2), (0, 3)),
         "accounts[0].positions[2].instrument_id", "duplicate instrument id 0"),
    Case("too many positions for k", "margin", "accounts", _positions((0, 1), (1, 1), (2, 1), (3, 1), (4, 1)),
         "accounts[0].positions", "at most k = 4"),
    Case("unknown instrument", "margin", "accounts", _positions((0, 1), (7, 1)),
         "accounts[0].positions[1].instrument_id", "unknown instrument 7"),
    Case("missing positions", "margin", "accounts", _set("accounts.2.positions", _DELETE),
         "accounts[2].positions", "required"),
    Case("accounts not an array", "margin", "accounts", _set("accounts", {}), "accounts", "must be a JSON array"),
    Case("market file as account", "margin", "accounts", lambda d: {"format": "zkmargin/market@1"},
         "account.format", "zkmargin/account@1"),
    # --- market file (margin)
    Case("tampered market root", "margin", "market", _set("market_root", "1"),
         "market.market_root", "does not match"),
    Case("tampered row delta", "margin", "market", _set("rows.0.delta", 16_000_001),
         "market.rows[id=0].delta", "16 * 10**6"),
    Case("tampered row mark", "margin", "market", _set("rows.1.mark", 2**48),
         "market.rows[id=1].mark", "|M| must be < 2**48"),
    # --- history (calibrate)
    Case("history close negative", "calibrate", "history", lambda t: t.replace("57484.789063", "-1", 1),
         "[line 2].BTC", "> 0", raw=True),
    Case("assets listed twice", "calibrate", "args", lambda a: a, "--assets", "lists an asset twice"),
]
# fmt: on


def _write_broken(case: Case, src: Path, dst: Path) -> None:
    if case.raw:
        dst.write_text(case.breaker(src.read_text()))
    else:
        dst.write_text(json.dumps(case.breaker(json.loads(src.read_text()))))


def _argv(case: Case, tmp: Path, market_file: Path) -> tuple[list[str], Path]:
    out = tmp / "out" / "result.json"
    demo = case.command == "build-demo"
    files = {
        "quotes": EXAMPLES / ("quotes.json" if demo else "quotes-test.json"),
        "params": EXAMPLES / ("params.json" if demo else "params-test.json"),
        "accounts": EXAMPLES / "accounts-test.json",
        "market": market_file,
        "history": EXAMPLES / "data" / "closes-excerpt.csv",
    }
    if case.target in files:
        broken = tmp / f"broken-{files[case.target].name}"
        _write_broken(case, files[case.target], broken)
        files[case.target] = broken
    if case.command.startswith("build"):
        argv = ["market", "build", "--quotes", str(files["quotes"]), "--params", str(files["params"])]
        argv += ["--profile", "demo" if demo else "test", "--out", str(out)]
        argv = case.breaker(argv) if case.target == "args" else [*argv, "--epoch", "1"]
    elif case.command == "margin":
        argv = ["margin", "--market", str(files["market"]), "--params", str(files["params"])]
        argv += [str(files["accounts"]), "--out", str(out)]
    else:
        assets = "BTC,ETH,BTC" if case.target == "args" else "BTC,ETH"
        argv = ["calibrate", "--history", str(files["history"]), "--assets", assets, "--out", str(out)]
    return argv, out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_exits_2_names_field_and_leaves_no_file(
    case: Case, tmp_path: Path, market_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, out = _argv(case, tmp_path, market_file)
    code, err = run_cli(argv, capsys)
    assert code == 2, err
    assert err.startswith("error: invalid input: "), err
    assert case.field in err, err
    assert case.bound in err, err
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_at_least_fifteen_kinds() -> None:
    assert len({c.name for c in CASES}) >= 15


def test_the_unbroken_inputs_succeed(
    tmp_path: Path, market_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: the same command lines with unbroken files write their output."""
    for command in ("build", "margin"):
        case = Case("control", command, "none", lambda d: d, "", "")
        argv, out = _argv(case, tmp_path / command, market_file)
        code, err = run_cli(argv, capsys)
        assert code == 0, err
        assert out.exists()

"""Hostile input through the real CLI, in a subprocess as a user runs it: every case ends
with a clear message naming the field or file and the bound, exit code 2, no traceback
and no output file, not even a partial one.

Deeply nested JSON matters most: importing py-evm or py_ecc raises Python's recursion
limit to 100,000, so before the nesting check such a file crashed the interpreter
(exit 139, no message) in every command that reads JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEEP = "[" * 70_000 + "]" * 70_000


def zkmargin(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zkmargin.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    market = folder / "market.json"
    built = zkmargin(
        "market", "build", "--quotes", EXAMPLES / "quotes-test.json", "--params", EXAMPLES / "params-test.json",
        "--profile", "test", "--epoch", "1", "--out", market, cwd=folder,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    deep = folder / "deep.json"
    deep.write_text('{"format": "zkmargin/market@1", "rows": ' + DEEP + "}")
    deep_array = folder / "deep-array.json"
    deep_array.write_text(DEEP)
    good_deployment = {
        "format": "zkmargin/deployment@1", "chain_id": 31337, "chain": "rpc", "gate": "0x" + "11" * 20,
        "verifier": "0x" + "22" * 20, "block_number": 1, "max_market_age": 600, "rpc_url": "http://127.0.0.1:1",
    }  # fmt: skip
    bad_gate = folder / "bad-gate.json"
    bad_gate.write_text(json.dumps(good_deployment | {"gate": "0x1234"}))
    dup = folder / "dup.json"
    accounts = json.loads((EXAMPLES / "accounts-test.json").read_text())
    accounts["accounts"].append(dict(accounts["accounts"][0]))
    dup.write_text(json.dumps(accounts))
    huge = folder / "huge.csv"
    huge.write_text("date,BTC\n2021-01-01,30000\n2021-01-02,1e308\n")
    jump = folder / "jump.csv"
    jump.write_text("date,BTC\n2021-01-01,30000\n2021-01-02,30100\n2021-01-03,301000\n")
    not_a_log = folder / "notes.txt"
    not_a_log.write_text("my notes, not a job log\n")
    return {
        "folder": folder, "market": market, "deep": deep, "deep_array": deep_array, "bad_gate": bad_gate,
        "dup": dup, "huge": huge, "jump": jump, "not_a_log": not_a_log,
    }  # fmt: skip


CASES: list[tuple[str, list[str], str]] = [
    # deeply nested JSON, in every kind of file a command reads
    (
        "margin, deep market",
        ["margin", "--market", "{deep}", "--params", "{params}", "{accounts}"],
        "deep.json",
    ),
    (
        "margin, deep accounts",
        ["margin", "--market", "{market}", "--params", "{params}", "{deep_array}"],
        "nested deeper than 64 levels",
    ),
    (
        "market build, deep quotes",
        [
            "market",
            "build",
            "--quotes",
            "{deep_array}",
            "--params",
            "{params}",
            "--profile",
            "test",
            "--epoch",
            "1",
            "--out",
            "{out}",
        ],
        "nested deeper than 64 levels",
    ),
    (
        "market build, deep params",
        [
            "market",
            "build",
            "--quotes",
            "{quotes}",
            "--params",
            "{deep_array}",
            "--profile",
            "test",
            "--epoch",
            "1",
            "--out",
            "{out}",
        ],
        "nested deeper than 64 levels",
    ),
    (
        "verify, deep bundle",
        ["verify", "{deep_array}", "--vkey", "{deep_array}"],
        "nested deeper than 64 levels",
    ),
    (
        "audit, deep proof",
        [
            "audit",
            "--account",
            "{accounts}",
            "--select",
            "alice-hedged-btc",
            "--market",
            "{market}",
            "--params",
            "{params}",
            "--proof",
            "{deep_array}",
            "--vkey",
            "{deep_array}",
        ],
        "nested deeper than 64 levels",
    ),
    (
        "chain, deep deployment",
        ["chain", "--deployment", "{deep_array}", "status"],
        "nested deeper than 64 levels",
    ),
    (
        "chain post-accounts, deep accounts file",
        [
            "chain",
            "--deployment",
            "{bad_gate}",
            "post-accounts",
            "--accounts",
            "{deep_array}",
            "--market",
            "{market}",
        ],
        "nested deeper than 64 levels",
    ),
    (
        "chain attest, deep bundle",
        ["chain", "--deployment", "{bad_gate}", "attest", "--bundle", "{deep_array}"],
        "nested deeper than 64 levels",
    ),
    (
        "chain liquidate, not a batch proof bundle",
        ["chain", "--deployment", "{bad_gate}", "liquidate", "--bundle", "{accounts}"],
        "batch-proof",
    ),
    # numbers out of their bounds in chain commands
    (
        "chain, id >= 2**64",
        ["chain", "--deployment", "{bad_gate}", "status", "--id", str(2**64)],
        "0 <= x < 2**64",
    ),
    ("chain, negative id", ["chain", "--deployment", "{bad_gate}", "status", "--id", "-1"], "0 <= x < 2**64"),
    (
        "chain, epoch >= 2**64",
        ["chain", "--deployment", "{bad_gate}", "post-market", "--root", "5", "--epoch", str(2**64)],
        "0 <= x < 2**64",
    ),
    (
        "chain, root >= 2**256",
        ["chain", "--deployment", "{bad_gate}", "post-market", "--root", str(2**256), "--epoch", "1"],
        "0 < x < r",
    ),
    (
        "chain, root 0",
        ["chain", "--deployment", "{bad_gate}", "post-market", "--root", "0", "--epoch", "1"],
        "0 < x < r",
    ),
    (
        "chain, params hash >= r",
        ["chain", "--deployment", "{bad_gate}", "set-params", "--params-hash", str(2**255)],
        "0 < x < r",
    ),
    (
        "chain, malformed gate address",
        ["chain", "--deployment", "{bad_gate}", "status"],
        "deployment file: gate: not an address",
    ),
    (
        "chain deploy, max age 0",
        [
            "chain",
            "--chain",
            "embedded",
            "--deployment",
            "{out}",
            "deploy",
            "--verifier-sol",
            "{accounts}",
            "--max-market-age",
            "0",
        ],
        "--max-market-age must be at least 1 second",
    ),
    (
        "audit, malformed --gate",
        [
            "audit",
            "--account",
            "{accounts}",
            "--select",
            "alice-hedged-btc",
            "--market",
            "{market}",
            "--params",
            "{params}",
            "--proof",
            "{accounts}",
            "--rpc",
            "http://127.0.0.1:1",
            "--gate",
            "0xZZ",
        ],
        "--gate: not an address (0x and 40 hex digits): '0xZZ'",
    ),
    # keeper options and job logs
    (
        "operator run, poll -1",
        [
            "operator",
            "run",
            "--once",
            "{quotes}",
            "--accounts",
            "{accounts}",
            "--params",
            "{params}",
            "--poll",
            "-1",
        ],
        "--poll must be a number of seconds in (0, 86400)",
    ),
    (
        "operator run, poll nan",
        [
            "operator",
            "run",
            "--once",
            "{quotes}",
            "--accounts",
            "{accounts}",
            "--params",
            "{params}",
            "--poll",
            "nan",
        ],
        "--poll must be a number of seconds in (0, 86400)",
    ),
    (
        "operator status, not a log",
        ["operator", "status", "--db", "{not_a_log}"],
        "is not a zkmargin job log (not an SQLite database)",
    ),
    # engine inputs accepted without a word before
    (
        "margin, duplicate account ids",
        ["margin", "--market", "{market}", "--params", "{params}", "{dup}"],
        "accounts[4].account_id: account id 1001 appears twice",
    ),
    (
        "calibrate, close 1e308",
        ["calibrate", "--history", "{huge}"],
        "huge.csv[line 3].BTC: close must be < 2.815e+08",
    ),
    (
        "calibrate, implausible jump",
        ["calibrate", "--history", "{jump}"],
        "BTC moves from 30100 to 301000 on 2021-01-03 (x10)",
    ),
]


@pytest.mark.parametrize(("name", "argv", "words"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_refused_clearly(
    name: str, argv: list[str], words: str, files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    values = {k: str(v) for k, v in files.items()} | {
        "out": str(out),
        "params": str(EXAMPLES / "params-test.json"),
        "accounts": str(EXAMPLES / "accounts-test.json"),
        "quotes": str(EXAMPLES / "quotes-test.json"),
    }
    before = sorted(p.name for p in files["folder"].iterdir())
    result = zkmargin(*(a.format(**values) for a in argv), cwd=tmp_path)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert words in message, message
    assert "Traceback" not in result.stderr and "unexpected failure" not in result.stderr
    assert not out.exists() and not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    assert sorted(p.name for p in files["folder"].iterdir()) == before  # no input was touched
    assert files["not_a_log"].read_text() == "my notes, not a job log\n"


def test_an_unexpected_failure_is_one_line_and_a_hint(tmp_path: Path) -> None:
    """The command-level guard: a bug shows its type and place and a hint, exit code 70."""
    code = (
        "import sys\n"
        "import engine.pipeline as p\n"
        "def boom(*a, **k):\n    raise KeyError('boom')\n"
        "p.margins = boom\n"
        "from zkmargin.cli.main import main\n"
        f"main(['margin', '--market', {str(tmp_path / 'm.json')!r}, '--params', 'x', 'y'])\n"
    )
    market = zkmargin(
        "market", "build", "--quotes", EXAMPLES / "quotes-test.json", "--params", EXAMPLES / "params-test.json",
        "--profile", "test", "--epoch", "1", "--out", tmp_path / "m.json", cwd=tmp_path,
    )  # fmt: skip
    assert market.returncode == 0
    code = code.replace(
        "'x', 'y'", f"{str(EXAMPLES / 'params-test.json')!r}, {str(EXAMPLES / 'accounts-test.json')!r}"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 70, result.stderr
    assert "unexpected failure: KeyError: 'boom'" in result.stderr and "ZKMARGIN_DEBUG=1" in result.stderr
    assert "Traceback" not in result.stderr

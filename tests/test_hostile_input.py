"""Hostile input through the real CLI, in a subprocess as a user runs it: every case ends
with a clear message naming the field or file and the bound, exit code 2, no traceback
and no output file, not even a partial one.

Deeply nested JSON matters most: importing py-evm or py_ecc raises Python's recursion
limit to 100,000, so before the nesting check such a file crashed the interpreter
(exit 139, no message) in every command that reads JSON. The settings file is checked the
same way (a deep ``zkmargin.toml`` ended in a RecursionError), before any compile.

The rows that need a contract on a node (a deployment whose gate is not a BatchGate) run
against one anvil started for them; those that need a real batch proof or the test
profile's proving keys are marked slow, and ``tests/contracts/test_cli_chain.py`` checks
the same rule (``open_gate``) on the embedded chain in the default suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEEP = "[" * 70_000 + "]" * 70_000
DEEP_TOML = "[chain]\nrpc = " + DEEP + "\n"


def zkmargin(
    *args: str | Path, cwd: Path, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in ``cwd``; ``env`` sets (or, with None, removes) environment variables."""
    environ = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run(
        [sys.executable, "-m", "zkmargin.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
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
    deep_toml = folder / "deep.toml"
    deep_toml.write_text(DEEP_TOML)
    many_workers = folder / "many-workers.toml"
    many_workers.write_text("[operator]\nworkers = 65\n")
    latin1_toml = folder / "latin1.toml"
    latin1_toml.write_bytes('[chain]\nrpc = "http://caf\u00e9"\n'.encode("latin-1"))
    roles_list = folder / "roles-list.json"
    roles_list.write_text(json.dumps(good_deployment | {"roles": ["a", "b"]}))
    rpc_number = folder / "rpc-number.json"
    rpc_number.write_text(json.dumps(good_deployment | {"rpc_url": 12345}))
    not_text = folder / "not-text.sol"
    not_text.write_bytes(bytes(range(128, 256)))
    short_oracle = folder / "short-oracle.json"
    short_oracle.write_text(json.dumps(good_deployment | {"roles": {"oracle": "0x1234"}}))
    return {
        "folder": folder, "market": market, "deep": deep, "deep_array": deep_array, "bad_gate": bad_gate,
        "dup": dup, "huge": huge, "jump": jump, "not_a_log": not_a_log, "deep_toml": deep_toml,
        "many_workers": many_workers, "latin1_toml": latin1_toml, "roles_list": roles_list,
        "rpc_number": rpc_number, "short_oracle": short_oracle, "not_text": not_text,
    }  # fmt: skip


#: Contract creation code that leaves ``runtime`` at the new address (CODECOPY and RETURN).
def _creation(runtime: bytes) -> str:
    head = [0x60, len(runtime), 0x60, 0x0C, 0x60, 0x00, 0x39, 0x60, len(runtime), 0x60, 0x00, 0xF3]
    return "0x" + (bytes(head) + runtime).hex()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path | str]]:
    """An anvil with two contracts that are not gates (every call reverts with no data, as the
    Groth16 verifier does for any function but its own; every call returns nothing) and
    deployment files naming each, and one naming an address without code, as the gate."""
    from verifier_contracts.chain import anvil

    folder = tmp_path_factory.mktemp("node")
    with anvil() as chain:
        w3, owner = chain.w3, chain.roles.owner

        def deploy(runtime: bytes) -> str:
            tx = w3.eth.send_transaction({"from": owner, "data": _creation(runtime)})
            return str(w3.eth.wait_for_transaction_receipt(tx)["contractAddress"])

        reverts, silent = deploy(bytes.fromhex("60006000fd")), deploy(b"\x00")
        found: dict[str, Path | str] = {"rpc": str(chain.rpc_url), "reverts": reverts}
        for name, gate in (("not_gate", reverts), ("silent_gate", silent), ("no_code", "0x" + "12" * 20)):
            path = folder / f"{name}.json"
            path.write_text(
                json.dumps(
                    {
                        "format": "zkmargin/deployment@1", "chain_id": w3.eth.chain_id, "chain": "rpc",
                        "gate": gate, "verifier": reverts, "block_number": 1, "max_market_age": 600,
                        "rpc_url": chain.rpc_url, "profile": "test",
                    }
                )
            )  # fmt: skip
            found[name] = path
        yield found


@pytest.fixture(scope="module")
def batch_bundle(files: dict[str, Path]) -> Path:
    """A real batch proof of the test profile naming alice (slow rows only: it needs the batch
    circuit's keys, compiled and set up when the cache has none)."""
    out = files["folder"].parent / "batch-proof.json"
    made = zkmargin(
        "prove", "--batch", "--market", files["market"], "--params", EXAMPLES / "params-test.json",
        "--account", EXAMPLES / "accounts-test.json", "--select", "alice-hedged-btc", "--out", out,
        cwd=files["folder"].parent,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    return out


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
        "prove, deep market",
        [
            "prove",
            "--market",
            "{deep}",
            "--params",
            "{params}",
            "--account",
            "{accounts}",
            "--select",
            "alice-hedged-btc",
            "--out",
            "{out}",
        ],
        "market: not valid JSON: nested deeper than 64 levels",
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
        "'--max-market-age': must satisfy 1 <= x < 2**64 seconds (a uint64 of the gate), got 0",
    ),
    (
        "chain deploy, max age 2**64",
        [
            "chain",
            "--chain",
            "embedded",
            "--deployment",
            "{out}",
            "deploy",
            "--verifier-sol",
            "{accounts}",
            "--batch-size",
            "4",
            "--max-market-age",
            str(2**64),
        ],
        "'--max-market-age': must satisfy 1 <= x < 2**64 seconds (a uint64 of the gate), got 18446744073709551616",
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
    (
        "chain deploy, deployment file under a file",
        [
            "chain",
            "--chain",
            "embedded",
            "--deployment",
            "{accounts}/sub/deployment.json",
            "deploy",
            "--verifier-sol",
            "{accounts}",
            "--batch-size",
            "4",
        ],
        "accounts-test.json is not a writable folder)",
    ),
    (
        "chain deploy, verifier source not UTF-8",
        [
            "chain",
            "--chain",
            "embedded",
            "--deployment",
            "{out}",
            "deploy",
            "--verifier-sol",
            "{not_text}",
            "--batch-size",
            "4",
        ],
        "not-text.sol: not UTF-8 text (a Solidity source)",
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
        "'--poll': must be a finite number of seconds in (0, 86400)",
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
        "'--poll': must be a finite number of seconds in (0, 86400)",
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
    # the settings file, read before anything else (a deep one ended in a RecursionError,
    # in `prove` after compiling the circuit)
    (
        "chain status, deep settings file ($ZKMARGIN_CONFIG)",
        ["chain", "--deployment", "{bad_gate}", "status"],
        "deep.toml: not valid TOML: nested deeper than 64 levels",
    ),
    (
        "chain status, deep zkmargin.toml in the folder",
        ["chain", "--deployment", "{bad_gate}", "status"],
        "zkmargin.toml: not valid TOML: nested deeper than 64 levels",
    ),
    (
        "operator run, deep zkmargin.toml in the folder",
        ["operator", "run", "--once", "{quotes}", "--accounts", "{accounts}", "--params", "{params}"],
        "zkmargin.toml: not valid TOML: nested deeper than 64 levels",
    ),
    (
        "operator status, deep settings file ($ZKMARGIN_CONFIG)",
        ["operator", "status", "--db", "{not_a_log}"],
        "deep.toml: not valid TOML: nested deeper than 64 levels",
    ),
    (
        "prove, deep settings file ($ZKMARGIN_CONFIG)",
        [
            "prove",
            "--market",
            "{market}",
            "--params",
            "{params}",
            "--account",
            "{accounts}",
            "--select",
            "alice-hedged-btc",
            "--out",
            "{out}",
        ],
        "deep.toml: not valid TOML: nested deeper than 64 levels",
    ),
    (
        "prove, deep zkmargin.toml in the folder",
        [
            "prove",
            "--market",
            "{market}",
            "--params",
            "{params}",
            "--account",
            "{accounts}",
            "--select",
            "alice-hedged-btc",
            "--out",
            "{out}",
        ],
        "zkmargin.toml: not valid TOML: nested deeper than 64 levels",
    ),
    (
        "operator run, 65 workers in the settings file",
        ["operator", "run", "--once", "{quotes}", "--accounts", "{accounts}", "--params", "{params}"],
        "many-workers.toml:operator.workers: must be an integer >= 1 and <= 64, got 65",
    ),
    (
        "chain status, settings file not UTF-8",
        ["chain", "--deployment", "{bad_gate}", "status"],
        "latin1.toml: the settings file is not UTF-8 text",
    ),
    # every field of a deployment file
    (
        "chain, deployment roles a list",
        ["chain", "--deployment", "{roles_list}", "status"],
        "deployment file: roles: must be an object of role name to address, got ['a', 'b']",
    ),
    (
        "chain, deployment rpc_url a number",
        ["chain", "--deployment", "{rpc_number}", "status"],
        "deployment file: rpc_url: must be an http:// or https:// URL or null, got 12345",
    ),
    (
        "operator run, deployment oracle address malformed",
        [
            "operator",
            "run",
            "--once",
            "{quotes}",
            "--accounts",
            "{accounts}",
            "--params",
            "{params}",
            "--deployment",
            "{short_oracle}",
        ],
        "deployment file: roles.oracle: not an address (0x and 40 hex digits): '0x1234'",
    ),
    # finite, bounded numbers (every float option of every command: the sweep below)
    (
        "operator run, max fee nan",
        [
            "operator",
            "run",
            "--once",
            "{quotes}",
            "--accounts",
            "{accounts}",
            "--params",
            "{params}",
            "--max-fee-gwei",
            "nan",
        ],
        "'--max-fee-gwei': must be a finite number of gwei in [0.001, 1e+06], got nan",
    ),
    (
        "operator run, replace-after nan",
        [
            "operator",
            "run",
            "--once",
            "{quotes}",
            "--accounts",
            "{accounts}",
            "--params",
            "{params}",
            "--replace-after",
            "nan",
        ],
        "'--replace-after': must be a finite number of seconds in [0.1, 3600], got nan",
    ),
    (
        "operator run, lease inf",
        [
            "operator",
            "run",
            "--once",
            "{quotes}",
            "--accounts",
            "{accounts}",
            "--params",
            "{params}",
            "--lease-seconds",
            "inf",
        ],
        "'--lease-seconds': must be a finite number of seconds in [1, 86400], got inf",
    ),
    # amounts in units: exact arithmetic on 1e99999999 overflowed (exit 70), on 1e999990 ran
    # for minutes, and 1e-9999999999 became a cash of 0
    (
        "account new, cash 1e99999999",
        ["account", "new", "--market", "{market}", "--id", "5", "--out", "{out}", "--cash", "1e99999999"],
        "--cash: must be below 10**1000 units in size, got '1e99999999'",
    ),
    (
        "account new, cash 1e999990",
        ["account", "new", "--market", "{market}", "--id", "5", "--out", "{out}", "--cash", "1e999990"],
        "--cash: must be below 10**1000 units in size, got '1e999990'",
    ),
    (
        "account new, cash 1e-9999999999",
        ["account", "new", "--market", "{market}", "--id", "5", "--out", "{out}", "--cash", "1e-9999999999"],
        "--cash: has more than 6 decimals: '1e-9999999999'",
    ),
    (
        "explain, trade size 1e5000",
        [
            "explain",
            "--market",
            "{market}",
            "--params",
            "{params}",
            "{accounts}",
            "--select",
            "alice-hedged-btc",
            "--trade",
            "BTC-PERP:1e5000",
        ],
        "--trade: must be below 10**1000 units in size, got '1e5000'",
    ),
    # a deployment whose gate is not a BatchGate, on a node
    (
        "chain status, gate a contract that reverts (as the verifier does)",
        ["chain", "--deployment", "{not_gate}", "status"],
        "is not a BatchGate: its batchSize() reverts",
    ),
    (
        "chain status, gate a contract that returns nothing",
        ["chain", "--deployment", "{silent_gate}", "status"],
        "is not a BatchGate: its batchSize() returns no BatchGate answer",
    ),
    (
        "chain status, no contract at the gate",
        ["chain", "--deployment", "{no_code}", "status"],
        "no gate at 0x1212121212121212121212121212121212121212",
    ),
]

#: Rows that need a real batch proof or the test profile's proving keys (slow in a fresh
#: checkout); the rule they check is also tested fast (open_gate, on the embedded chain).
SLOW_CASES: list[tuple[str, list[str], str]] = [
    (
        "audit --deployment, gate not a BatchGate",
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
            "{batch_bundle}",
            "--rpc",
            "{rpc}",
            "--deployment",
            "{not_gate}",
        ],
        "is not a BatchGate: its batchSize() reverts",
    ),
    (
        "audit --gate, not a BatchGate",
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
            "{batch_bundle}",
            "--rpc",
            "{rpc}",
            "--gate",
            "{reverts}",
        ],
        "is not a BatchGate: its batchSize() reverts",
    ),
    (
        "operator run, gate not a BatchGate",
        [
            "operator",
            "run",
            "--once",
            "{quotes}",
            "--accounts",
            "{accounts}",
            "--params",
            "{params}",
            "--deployment",
            "{not_gate}",
        ],
        "is not a BatchGate: its batchSize() reverts",
    ),
]

#: Environment of a row: ``$ZKMARGIN_CONFIG`` naming one of the files (the tests' own
#: settings file is the empty one).
ENVIRONMENT: dict[str, dict[str, str]] = {
    "chain status, deep settings file ($ZKMARGIN_CONFIG)": {"ZKMARGIN_CONFIG": "{deep_toml}"},
    "operator status, deep settings file ($ZKMARGIN_CONFIG)": {"ZKMARGIN_CONFIG": "{deep_toml}"},
    "prove, deep settings file ($ZKMARGIN_CONFIG)": {"ZKMARGIN_CONFIG": "{deep_toml}"},
    "operator run, 65 workers in the settings file": {"ZKMARGIN_CONFIG": "{many_workers}"},
    "chain status, settings file not UTF-8": {"ZKMARGIN_CONFIG": "{latin1_toml}"},
}
#: Rows run with this ``zkmargin.toml`` in the current folder (and no ``$ZKMARGIN_CONFIG``).
IN_FOLDER: dict[str, str] = {
    "chain status, deep zkmargin.toml in the folder": DEEP_TOML,
    "operator run, deep zkmargin.toml in the folder": DEEP_TOML,
    "prove, deep zkmargin.toml in the folder": DEEP_TOML,
}
#: Placeholders of the ``node`` and ``batch_bundle`` fixtures (started only for their rows).
NODE_KEYS = ("rpc", "reverts", "not_gate", "silent_gate", "no_code")

ROWS = [pytest.param(*c, id=c[0]) for c in CASES] + [
    pytest.param(*c, id=c[0], marks=pytest.mark.slow) for c in SLOW_CASES
]


@pytest.mark.parametrize(("name", "argv", "words"), ROWS)
def test_hostile_input_is_refused_clearly(
    name: str,
    argv: list[str],
    words: str,
    files: dict[str, Path],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    out = tmp_path / "out.json"
    values: dict[str, Any] = {k: str(v) for k, v in files.items()} | {
        "out": str(out),
        "params": str(EXAMPLES / "params-test.json"),
        "accounts": str(EXAMPLES / "accounts-test.json"),
        "quotes": str(EXAMPLES / "quotes-test.json"),
    }
    text = " ".join(argv)
    if any("{" + key + "}" in text for key in NODE_KEYS):
        values |= {k: str(v) for k, v in request.getfixturevalue("node").items()}
    if "{batch_bundle}" in text:
        values["batch_bundle"] = str(request.getfixturevalue("batch_bundle"))
    env: dict[str, str | None] = {k: v.format(**values) for k, v in ENVIRONMENT.get(name, {}).items()}
    placed = set()
    if name in IN_FOLDER:
        (tmp_path / "zkmargin.toml").write_text(IN_FOLDER[name])
        placed.add("zkmargin.toml")
        env["ZKMARGIN_CONFIG"] = None
    before = sorted(p.name for p in files["folder"].iterdir())
    result = zkmargin(*(a.format(**values) for a in argv), cwd=tmp_path, env=env)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert words in message, message
    assert "Traceback" not in result.stderr and "unexpected failure" not in result.stderr
    assert not out.exists() and not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    assert {p.name for p in tmp_path.iterdir()} == placed  # no job log, no tree, nothing
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


# ------------------------------------------------------------- every number option


def _options() -> Iterator[tuple[str, click.Parameter]]:
    """Every parameter of every command and group of the CLI, with its command line."""
    from zkmargin.cli.main import cli

    def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Parameter]]:
        for param in command.params:
            yield path, param
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                yield from walk(sub, f"{path} {name}")

    yield from walk(cli, "zkmargin")


def test_every_float_option_refuses_nan_and_infinity() -> None:
    """The class, not the instances: every float option of every command is a BoundedFloat
    (finite and in its range) and refuses NaN and both infinities naming the option."""
    from zkmargin.cli.options import BoundedFloat

    floats = [
        (path, p) for path, p in _options() if isinstance(p.type, click.types.FloatParamType | BoundedFloat)
    ]
    floats += [(path, p) for path, p in _options() if p.type.name == "float" and (path, p) not in floats]
    assert len(floats) >= 4  # operator run: --lease-seconds, --poll, --max-fee-gwei, --replace-after
    for path, param in floats:
        assert isinstance(param.type, BoundedFloat), f"{path} {param.opts[0]}: a float without bounds"
        for value in ("nan", "NaN", "inf", "-inf", "1e400", "Infinity"):
            with pytest.raises(click.BadParameter, match="must be a finite number"):
                param.type.convert(value, param, None)


def test_every_integer_option_is_bounded() -> None:
    """Every integer option of every command has both bounds in its type (its error names
    them), but for the one whose value the engine checks with the field's own bound."""
    from zkmargin.cli.options import BoundedInt

    checked_below = {("zkmargin market build", "--epoch")}  # "epoch: ... 0 <= epoch < 2**64"
    ints = [(path, p) for path, p in _options() if isinstance(p.type, click.types.IntParamType | BoundedInt)]
    assert len(ints) >= 15
    for path, param in ints:
        if (path, param.opts[0]) in checked_below:
            continue
        bounded = isinstance(param.type, BoundedInt) or (
            isinstance(param.type, click.IntRange)
            and param.type.min is not None
            and param.type.max is not None
        )
        assert bounded, f"{path} {param.opts[0]}: an integer without both bounds"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "86400", "true", '"5"'])
def test_the_settings_poll_is_finite_and_bounded(value: str, tmp_path: Path) -> None:
    from engine.errors import InputError
    from zkmargin.settings import load_settings

    config = tmp_path / "zkmargin.toml"
    config.write_text(f"[operator]\npoll = {value}\n")
    with pytest.raises(InputError, match=r"must be a number of seconds in \(0, 86400\)"):
        load_settings(config)


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("a = " + "[" * 65 + "]" * 65, True),
        ("a = " + "{b = " * 65 + "1" + "}" * 65, True),
        ("a = " + "[" * 64 + "]" * 64, False),
        ('a = "' + "[" * 100 + '"', False),  # brackets in strings and comments do not count
        ("a = '" + "[" * 100 + "'", False),
        ('a = """\n' + "[" * 100 + '\n"""', False),
        ("a = '''\n" + "{" * 100 + "\n'''", False),
        ('a = "\\"' + "[" * 100 + '"', False),
        ("# " + "[" * 100 + "\na = 1", False),
        ('a = "x" # ' + "{" * 100, False),
    ],
)
def test_the_toml_nesting_scan(text: str, deep: bool) -> None:
    """The scan of a settings file's raw text counts arrays and inline tables, not the
    brackets inside strings and comments; what it lets through, tomllib parses."""
    import tomllib

    from engine.errors import InputError
    from zkmargin.settings import check_toml_nesting

    if deep:
        with pytest.raises(InputError, match="nested deeper than 64 levels"):
            check_toml_nesting(text, "x.toml")
    else:
        check_toml_nesting(text, "x.toml")
        tomllib.loads(text)

"""`zkmargin prove --batch` and `zkmargin verify` of a batch proof bundle, through the CLI,
with the test profile's real batch circuit (K = 4) and the example accounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.errors import InputError
from prover.statements.batch_bundle import BatchBundle
from tests.test_cli_engine import EXAMPLES
from zkmargin.cli.main import cli

pytestmark = pytest.mark.circuit


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("market") / "market.json"
    built = _run(
        "market", "build", "--quotes", str(EXAMPLES / "quotes-test.json"), "--params",
        str(EXAMPLES / "params-test.json"), "--profile", "test", "--epoch", "1", "--out", str(out),
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    return out


def _prove(market: Path, out: Path, select: str) -> Result:
    return _run(
        "prove", "--batch", "--market", str(market), "--params", str(EXAMPLES / "params-test.json"),
        "--account", str(EXAMPLES / "accounts-test.json"), "--select", select, "--out", str(out),
    )  # fmt: skip


def test_prove_batch_then_verify(market: Path, tmp_path: Path) -> None:
    out = tmp_path / "batch-proof.json"
    proved = _prove(market, out, "dave-levered-btc, carol-short-vol")
    assert proved.exit_code == 0, proved.output
    bundle = BatchBundle.load(out)
    assert [(e.account_id, e.status) for e in bundle.entries] == [(1003, 2), (1004, 3)]  # id order
    assert sorted(bundle.paths) == ["1003", "1004"] and bundle.batch_size == 4
    verified = _run("verify", str(out), "--json")
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.output)
    assert report["valid"] and [e["status_name"] for e in report["entries"]] == ["liquidatable", "insolvent"]
    # an entry edited in the bundle: the proof no longer verifies (exit 1)
    data = json.loads(out.read_text())
    word = int(data["public_signals"][4])
    data["public_signals"][4] = str(word + (1 << 66))  # entry 0's shortfall + 1
    out.write_text(json.dumps(data))
    forged = _run("verify", str(out))
    assert forged.exit_code == 1 and "INVALID" in str(forged.exception)


@pytest.mark.parametrize(
    ("select", "words"),
    [
        ("carol-short-vol,carol-short-vol", "names an account twice"),
        ("alice-hedged-btc,bob-covered-eth,carol-short-vol,dave-levered-btc,nobody", "exactly one account"),
        ("", "name the accounts to prove"),
    ],
)
def test_prove_batch_refuses_a_bad_selection(market: Path, tmp_path: Path, select: str, words: str) -> None:
    out = tmp_path / "never.json"
    refused = _prove(market, out, select)
    assert isinstance(refused.exception, InputError) and words in str(refused.exception), refused.output
    assert not out.exists()

"""The demo, end to end, on the embedded chain with the small `test` profile.

Real circuit, real trusted setup (the shared dev ptau when present), real proofs,
real verifier contract, and the operator's real keeper: nothing is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from zkmargin.cli.main import cli
from zkmargin.demo.run import DemoOptions, run_demo

pytestmark = pytest.mark.circuit


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    console = Console(record=True, width=120, force_terminal=False)
    options = DemoOptions(profile="test", chain="embedded", accounts=12, out=tmp_path / "demo")
    summary = run_demo(options, console)
    text = console.export_text()

    # every status exists before the shock, and the shock makes accounts liquidatable
    assert all(summary.statuses_before[name] == 3 for name in summary.statuses_before)
    after = summary.statuses_after
    assert after["liquidatable"] + after["insolvent"] == len(summary.liquidatable_after) > 0
    # the keeper liquidated every account that was liquidatable at either epoch, each once,
    # in batches of at most K (one proof and one transaction per batch)
    assert len(set(summary.liquidated)) == len(summary.liquidated)
    assert set(summary.liquidated) == set(summary.liquidatable_before) | set(summary.liquidatable_after)
    batched = [i for b in summary.batches for i in b["opened"]]
    assert sorted(batched) == sorted(summary.liquidated)
    assert all(len(b["accounts"]) <= summary.batch_size for b in summary.batches)
    # one proof per batch plus the healthy attestation
    assert summary.proofs == len(summary.batches) + 1 == len(summary.proof_seconds)
    assert len(summary.attested) == 1
    # one accounts root for every account; gas per liquidated account below one proof's 285k
    assert len(summary.gas["postAccounts"]) == 1
    per_account = sum(b["gas"] for b in summary.batches) / len(batched)
    assert per_account < 285_000
    if max(len(b["accounts"]) for b in summary.batches) >= 2:
        assert min(b["gas_per_account"] for b in summary.batches) < 150_000
    assert summary.audit_ok
    assert "audit passed" in text
    assert "batch proof" in text

    # what the user holds was written, and the summary file matches
    written = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert written["liquidated"] == summary.liquidated
    user = tmp_path / "demo" / f"user-{summary.liquidated[0]}"
    for name in (
        "account.json",
        "market.json",
        "params.json",
        "proof.json",
        "vkey.json",
        "accounts-tree.json",
    ):
        assert (user / name).is_file(), name

    # the user audits the batch proof with the CLI; another user's account fails it
    def audit(account: Path, *more: str) -> Result:
        args = ["audit", "--account", str(account), "--market", str(user / "market.json")]
        args += ["--params", str(user / "params.json"), "--proof", str(user / "proof.json")]
        return CliRunner().invoke(cli, [*args, "--vkey", str(user / "vkey.json"), *more])

    passed = audit(user / "account.json")
    assert passed.exit_code == 0, passed.output
    assert "accounts tree" in passed.output and "audit passed" in passed.output
    published = audit(user / "account.json", "--accounts-tree", str(user / "accounts-tree.json"))
    assert published.exit_code == 0 and "published tree" in published.output, published.output
    stranger = tmp_path / "stranger.json"  # the same account with another salt
    account = json.loads((user / "account.json").read_text())
    account["salt"] = str(int(account["salt"]) + 1)
    stranger.write_text(json.dumps(account))
    failed = audit(stranger)
    assert failed.exit_code == 1 and "accounts tree" in failed.output, failed.output

    # the healthy user audits their attestation with their own files and sees where they
    # would be liquidated (a price, not "now")
    healthy = tmp_path / "demo" / f"user-{summary.attested[0]}"
    args = [f"--{name}={healthy / name}.json" for name in ("account", "market", "params", "proof", "vkey")]
    done = CliRunner().invoke(
        cli, ["audit", "--json", *args, f"--accounts-tree={healthy / 'accounts-tree.json'}"]
    )
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    assert doc["ok"] and doc["explanation"]["status"] == 0
    held = [a for a in doc["explanation"]["assets"] if a["held"]]
    assert held and not any(a["liquidatable_now"] for a in held)
    assert any(a["liquidation_below"] or a["liquidation_above"] for a in held)
    assert f"audit by account {summary.attested[0]} of their attestation" in text

"""A user's audit of their margin proof: real proofs of the `test` profile, real chain.

Positive case, then each way a proof can fail to be the user's: wrong salt, an
altered position, another account's proof, a stale market, a tampered proof, the
wrong verification key; and through the CLI (exit 0 / 1) and against the chain.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.errors import ZkmarginError
from engine.fileio import write_json_atomic
from engine.formats import (
    LabeledAccount,
    ParamsFile,
    QuotesFile,
    dump_account,
    dump_market,
    dump_params,
    make_market_file,
)
from engine.margin import compute_margin
from engine.market_builder import build_market
from engine.model import Account, Market, RiskParams, RowConfig, Slot
from engine.profiles import get_profile
from prover.backends.prove import Prover
from prover.keys.artifacts import CircuitArtifacts, prepare_artifacts
from prover.offline.bundle import ProofBundle
from prover.offline.prove_account import prove_account
from zkmargin.audit import audit_offline
from zkmargin.cli.main import cli
from zkmargin.demo.data import DEMO_AS_OF, demo_accounts, demo_market, shocked_quotes

pytestmark = pytest.mark.circuit

AS_OF = DEMO_AS_OF


@dataclasses.dataclass
class World:
    artifacts: CircuitArtifacts
    market: Market  # epoch 1
    later: Market  # epoch 2, after a shock
    params: RiskParams
    quotes: QuotesFile
    config: RowConfig
    mine: Account  # the user's account
    other: Account  # somebody else's
    bundle: ProofBundle  # proof of `mine` at epoch 1
    other_bundle: ProofBundle  # proof of `other` at epoch 1


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    profile = get_profile("test")
    base = demo_market(profile, epoch=1, as_of=AS_OF)
    shocked = shocked_quotes(base.quotes, {"BTC": -0.1, "ETH": -0.1}, 1.2)
    later = build_market(profile, 2, shocked, base.instruments, base.config, AS_OF)
    accounts, _ = demo_accounts(base.market, base.params, count=8, seed=3)
    mine, other = accounts[2], accounts[5]
    artifacts = prepare_artifacts("test")
    with Prover() as prover:
        proofs = [prove_account(base.market, base.params, a, artifacts, prover).bundle for a in (mine, other)]
    yield World(
        artifacts,
        base.market,
        later,
        base.params,
        QuotesFile(AS_OF, tuple(base.quotes), tuple(base.instruments)),
        base.config,
        mine,
        other,
        proofs[0],
        proofs[1],
    )


def audit(
    world: World, account: Account, bundle: ProofBundle, market: Market | None = None
) -> dict[str, bool]:
    report = audit_offline(account, market or world.market, world.params, bundle, world.artifacts.vkey_json())
    return {c.name: c.ok for c in report.checks}


def test_honest_audit_passes(world: World) -> None:
    report = audit_offline(world.mine, world.market, world.params, world.bundle, world.artifacts.vkey_json())
    assert report.ok, report.checks
    assert report.result == compute_margin(world.market, world.params, world.mine)
    assert [c.name for c in report.checks] == [
        "verification key",
        "bundle fields",
        "commitment",
        "market root",
        "params hash",
        "margin",
        "proof",
    ]


def test_wrong_salt_fails_the_commitment(world: World) -> None:
    wrong = dataclasses.replace(world.mine, salt=world.mine.salt + 1)
    result = audit(world, wrong, world.bundle)
    assert result["commitment"] is False
    assert result["proof"] is True  # the proof itself is fine: it is just not about this file


def test_altered_position_fails(world: World) -> None:
    first = world.mine.slots[0]
    slots = (Slot(first.instrument_id, first.q * 2), *world.mine.slots[1:])
    altered = dataclasses.replace(world.mine, slots=slots)
    result = audit(world, altered, world.bundle)
    assert result["commitment"] is False


def test_other_accounts_proof_fails(world: World) -> None:
    result = audit(world, world.mine, world.other_bundle)
    assert result["commitment"] is False
    # and the other account's own audit passes
    assert all(audit(world, world.other, world.other_bundle).values())


def test_stale_market_fails_the_market_root(world: World) -> None:
    result = audit(world, world.mine, world.bundle, market=world.later)
    assert result["market root"] is False
    assert result["commitment"] is True


def test_tampered_proof_and_signal_fail(world: World) -> None:
    d = world.bundle.to_dict()
    d["proof"] = json.loads(json.dumps(d["proof"]))
    d["proof"]["pi_a"][0] = str(int(d["proof"]["pi_a"][0]) + 1)
    assert audit(world, world.mine, ProofBundle.from_dict(d))["proof"] is False
    d = world.bundle.to_dict()
    d["public_signals"] = list(d["public_signals"])
    d["public_signals"][1] = str(int(d["public_signals"][1]) + 1)  # shortfall
    result = audit(world, world.mine, ProofBundle.from_dict(d))
    assert result["proof"] is False and result["margin"] is False


def test_wrong_verification_key_fails(world: World) -> None:
    vkey = json.loads(json.dumps(world.artifacts.vkey_json()))
    vkey["IC"] = vkey["IC"][::-1]
    report = audit_offline(world.mine, world.market, world.params, world.bundle, vkey)
    checks = {c.name: c.ok for c in report.checks}
    assert checks["verification key"] is False and checks["proof"] is False


def _write_user_files(world: World, folder: Path, account: Account, bundle: ProofBundle) -> dict[str, Path]:
    mf = make_market_file(world.market, world.quotes, world.config, world.params.rho)
    names = world.quotes.asset_names
    kappa = {n: world.params.kappa[i] for i, n in enumerate(names)}
    files = {
        "market": folder / "market.json",
        "params": folder / "params.json",
        "account": folder / "account.json",
        "proof": folder / "proof.json",
        "vkey": folder / "vkey.json",
    }
    write_json_atomic(files["market"], dump_market(mf))
    pf = ParamsFile(world.params.mm_factor, kappa, world.params.rho, world.config)
    write_json_atomic(files["params"], dump_params(pf))
    write_json_atomic(files["account"], dump_account(LabeledAccount(account, "me")))
    bundle.save(files["proof"])
    write_json_atomic(files["vkey"], world.artifacts.vkey_json())
    return files


def _cli_args(files: dict[str, Path]) -> list[str]:
    return [
        "audit",
        "--account",
        str(files["account"]),
        "--market",
        str(files["market"]),
        "--params",
        str(files["params"]),
        "--proof",
        str(files["proof"]),
        "--vkey",
        str(files["vkey"]),
    ]


def test_cli_audit_exit_codes(world: World, tmp_path: Path) -> None:
    files = _write_user_files(world, tmp_path / "ok", world.mine, world.bundle)
    ok = CliRunner().invoke(cli, _cli_args(files))
    assert ok.exit_code == 0, ok.output
    assert "audit passed" in ok.output and "liq." in ok.output
    bad = _write_user_files(world, tmp_path / "bad", world.mine, world.other_bundle)
    failed = CliRunner().invoke(cli, _cli_args(bad))
    assert failed.exit_code == 1, failed.output
    assert "audit FAILED" in failed.output


def test_edited_bundle_fields_fail_the_audit(world: World) -> None:
    """The profile and epoch a bundle names are not signals of the proof: the audit checks
    them against the market file (an edited field fails only that check)."""
    for change in ({"profile": "standard"}, {"market_epoch": world.bundle.market_epoch + 1}):
        edited = ProofBundle.from_dict(world.bundle.to_dict() | change)
        result = audit(world, world.mine, edited)
        assert result["bundle fields"] is False and result["proof"] is True, change


def test_verify_refuses_a_bundle_whose_profile_was_edited(world: World, tmp_path: Path) -> None:
    honest = tmp_path / "honest.json"
    world.bundle.save(honest)
    ok = CliRunner().invoke(cli, ["verify", str(honest), "--vkey", str(world.artifacts.vkey), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["vkey_profile"] == "test"
    edited = tmp_path / "edited.json"
    ProofBundle.from_dict(world.bundle.to_dict() | {"profile": "demo"}).save(edited)
    refused = CliRunner().invoke(cli, ["verify", str(edited), "--vkey", str(world.artifacts.vkey)])
    assert refused.exit_code == 1
    assert "the bundle says profile 'demo', but its verification key is the 'test' circuit's" in str(
        refused.exception
    )


def test_a_one_account_proof_is_never_audited_on_chain(world: World, tmp_path: Path) -> None:
    """The gate takes batch proofs only: --rpc with a one-account bundle is refused before
    any node is contacted, saying which proof to audit on chain instead."""
    files = _write_user_files(world, tmp_path / "ok", world.mine, world.bundle)
    args = [*_cli_args(files), "--rpc", "http://127.0.0.1:9", "--gate", "0x" + "11" * 20]
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, ZkmarginError), result.output  # exit code 2 in `main`
    assert "is never on chain" in str(result.exception) and "zkmargin/batch-proof@1" in str(result.exception)


def test_the_browser_audit_of_a_one_account_proof(world: World, tmp_path: Path) -> None:
    """The page's audit (web/src/audit.js, run by node) on a one-account bundle: the CLI's
    checks in the CLI's order; another account's proof fails the commitment and the margin."""
    from tests.web.node import run_mjs
    from zkmargin.web_audit import build_site

    profiles = build_site() / "profiles.json"
    order = ["account", "market", "params", "proof", "vkey"]

    def page(files: dict[str, Path]) -> list[dict[str, object]]:
        out = run_mjs("audit_cli.mjs", profiles, *(files[k] for k in order))
        return list(out["checks"])

    honest = _write_user_files(world, tmp_path / "ok", world.mine, world.bundle)
    checks = page(honest)
    cli_doc = json.loads(CliRunner().invoke(cli, [*_cli_args(honest), "--json"]).output)
    assert [c["name"] for c in checks] == [c["name"] for c in cli_doc["checks"]]
    assert all(c["ok"] for c in checks), checks
    other = page(_write_user_files(world, tmp_path / "bad", world.mine, world.other_bundle))
    assert {c["name"] for c in other if not c["ok"]} >= {"commitment"}, other

"""The browser audit (web/, ``zkmargin audit web``) in headless Chromium, on the files the
demo made on anvil: the honest audit passes every check, on chain too; each failure is
shown as the check that failed (wrong salt, altered position, another account, stale
market, a file that breaks a bound, a ZKPM-1 params file, a missing file); a phone-sized
viewport; no console error, and no request leaves the page's origin except to the RPC URL the user gave."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from engine.commitments import MarketCommitments
from engine.formats import dump_market, load_accounts, load_market
from engine.formats.account import dump_account
from engine.paths import project_root
from prover.statements.batch_bundle import BatchBundle
from tests.web.browser import drive
from verifier_contracts.chain import anvil
from zkmargin.cli.main import cli
from zkmargin.demo.run import USER_FILES, DemoOptions, run_demo
from zkmargin.web_audit import SiteServer, build_site

pytestmark = [pytest.mark.circuit, pytest.mark.anvil]

SCREENSHOT = project_root() / "build" / "web-audit" / "passing-audit.png"
SCREENSHOT_HEALTHY = SCREENSHOT.with_name("passing-audit-healthy.png")


@dataclasses.dataclass
class Made:
    user: Path
    healthy: Path
    work: Path
    gate: str
    rpc: str
    results: dict[str, dict[str, Any]]
    server_url: str


def _write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc, indent=1))
    return path


def _variants(user: Path, keeper: Path, work: Path) -> dict[str, dict[str, Path]]:
    """The honest files and, for each failure the page must show, one file changed."""
    honest = {slot: user / name for slot, name in USER_FILES.items()}
    account = json.loads((user / "account.json").read_text())
    wrong_salt = _write(work / "wrong-salt.json", {**account, "salt": str(int(account["salt"]) + 1)})
    positions = [dict(p) for p in account["positions"]]
    positions[0]["q"] = int(positions[0]["q"]) + 1_000_000
    altered = _write(work / "altered.json", {**account, "positions": positions})
    mf = load_market(user / "market.json")
    bundle = BatchBundle.load(user / "proof.json")
    named = {e.account_id for e in bundle.entries}
    other = next(
        a for a in load_accounts(keeper / "accounts.json", mf.market) if a.account.account_id not in named
    )
    stranger = _write(work / "other-account.json", dump_account(other))
    old = dataclasses.replace(mf.market, epoch=mf.market.epoch + 1)
    stale_file = dataclasses.replace(mf, market=old, market_root=MarketCommitments(old).market_root)
    stale = _write(work / "stale-market.json", dump_market(stale_file))
    too_big = _write(work / "too-big.json", {**account, "cash": str(2**80)})
    params = json.loads((user / "params.json").read_text())
    zkpm1 = _write(work / "zkpm1-params.json", {**params, "format": "zkmargin/params@1"})
    return {
        "honest": honest,
        "wrong salt": {**honest, "account": wrong_salt},
        "altered position": {**honest, "account": altered},
        "another account": {**honest, "account": stranger},
        "stale market": {**honest, "market": stale},
        "bound broken": {**honest, "account": too_big},
        "ZKPM-1 params": {**honest, "params": zkpm1},
        "missing file": {k: v for k, v in honest.items() if k != "vkey"},
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("web")
    site = build_site(work / "site")
    served = site / "files"  # the healthy user's files also at URLs of the page's own origin
    with anvil() as chain:
        assert chain.rpc_url is not None
        console = Console(record=True, width=120, force_terminal=False)
        summary = run_demo(
            DemoOptions(profile="test", chain=chain.rpc_url, accounts=8, out=work / "demo"), console
        )
        assert summary.audit_ok and summary.gate
        user = work / "demo" / f"user-{summary.liquidated[0]}"
        healthy = work / "demo" / f"user-{summary.attested[0]}"
        shutil.copytree(healthy, served)
        variants = _variants(user, work / "demo" / "keeper", work)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        with SiteServer(site) as server:
            scenarios: list[dict[str, Any]] = [
                {"url": server.url, "files": {k: str(v) for k, v in files.items()}}
                for files in variants.values()
            ]
            names = list(variants)
            scenarios.append(
                {
                    "url": server.url,
                    "files": {k: str(v) for k, v in variants["honest"].items()},
                    "rpc": chain.rpc_url,
                    "gate": summary.gate,
                    "screenshot": str(SCREENSHOT),
                }
            )
            names.append("on chain")
            scenarios.append(
                {
                    "url": server.url,
                    "files": {k: str(healthy / n) for k, n in USER_FILES.items()},
                    "rpc": chain.rpc_url,
                    "gate": summary.gate,
                    "screenshot": str(SCREENSHOT_HEALTHY),
                }
            )
            names.append("healthy, on chain")
            scenarios.append(
                {
                    "url": server.url,
                    "urls": {k: f"{server.url}files/{n}" for k, n in USER_FILES.items()},
                    "viewport": {"width": 390, "height": 844},
                    "screenshot": str(work / "phone.png"),
                }
            )
            names.append("phone, from URLs")
            scenarios.append(
                {
                    "url": server.url,
                    "files": {k: str(v) for k, v in variants["honest"].items()},
                    "rpc": chain.rpc_url,
                    "gate": "0x" + "11" * 20,
                }
            )
            names.append("no gate there")
            scenarios.append({"url": server.url, "drop": [str(p) for p in variants["honest"].values()]})
            names.append("dropped")
            results = drive(scenarios, work)
            yield Made(
                user,
                healthy,
                work,
                summary.gate,
                chain.rpc_url,
                dict(zip(names, results, strict=True)),
                server.url,
            )


def failed(result: dict[str, Any]) -> set[str]:
    return {c["name"] for c in result["checks"] if not c["ok"]}


def test_no_console_error_and_nothing_leaves_the_page(made: Made) -> None:
    for name, result in made.results.items():
        assert result["consoleErrors"] == [] and result["pageErrors"] == [], name
        assert result["error"] is None, name
        for url in result["requests"]:
            assert url.startswith((made.server_url, "blob:" + made.server_url.rstrip("/"), made.rpc)), (
                name,
                url,
            )
        assert "No data leaves this page" in result["privacy"]


def test_the_honest_audit_passes_every_check(made: Made) -> None:
    honest = made.results["honest"]
    names = [c["name"] for c in honest["checks"]]
    assert names == [
        "verification key",
        "bundle fields",
        "entry",
        "accounts tree",
        "market root",
        "params hash",
        "margin",
        "proof",
        "published tree",
    ]
    assert failed(honest) == set() and honest["verdict"].startswith("audit passed")
    assert honest["marginShown"] and honest["assets"]


@pytest.mark.parametrize("who", ["honest", "healthy, on chain"])
def test_the_page_shows_the_cli_audit_numbers(made: Made, who: str) -> None:
    """The margin panel shows the very amounts of `zkmargin audit --json`, in the CLI's money format:
    R and its two parts, per asset the worst loss, its directional part with its side and the
    non-directional rest; and the liquidation prices as the CLI prints them."""
    from engine.money import money
    from zkmargin.cli.render import spot_text

    user = made.user if who == "honest" else made.healthy
    args = ["audit", "--json"] + [
        f"--{opt}={user / USER_FILES[slot]}"
        for opt, slot in [
            ("account", "account"),
            ("market", "market"),
            ("params", "params"),
            ("proof", "proof"),
            ("vkey", "vkey"),
        ]
    ]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert failed(made.results[who]) == set(), made.results[who]["checks"]
    shown = made.results[who]["margin"]
    assert shown["status"] == doc["status_name"]
    assert shown["equity"] == money(int(doc["equity"]))
    assert shown["initial margin (IM)"] == money(int(doc["im"]))
    assert shown["maintenance margin (MM)"] == money(int(doc["mm"]))
    assert shown["shortfall"] == money(int(doc["shortfall"]))
    why = doc["explanation"]
    assert shown["scenario risk R"] == money(int(why["r"]))
    assert shown["directional, correlated"] == money(int(why["r_directional"]))
    assert shown["non-directional"] == money(int(why["r_non_directional"]))
    worst = sum(int(a["worst_loss"]) for a in why["assets"])
    assert shown["credit for offsets"] == money(worst - int(why["r"]))
    parts = {row[0]: row[1:4] for row in made.results[who]["assets"]}
    assert set(parts) <= {a["name"] for a in why["assets"]}
    for a in why["assets"]:
        if a["name"] not in parts:  # an asset slot the market leaves unnamed: nothing held
            assert int(a["worst_loss"]) == 0, a
            continue
        s = int(a["directional"])
        side = "" if s == 0 else " long" if s > 0 else " short"
        assert parts[a["name"]] == [
            money(int(a["worst_loss"])),
            money(abs(s)) + side,
            money(int(a["non_directional"])),
        ], a["name"]
    held = [a for a in doc["explanation"]["assets"] if a["held"]]
    assert held and made.results[who]["liquidation"] == [
        [a["name"], spot_text(a["spot"])]
        + (
            ["now", "now"]
            if a["liquidatable_now"]
            else [spot_text(a["liquidation_below"]), spot_text(a["liquidation_above"])]
        )
        for a in held
    ]
    if who != "honest":  # the healthy user sees a price, not "now"
        assert doc["status_name"] == "healthy"
        assert any(cell not in ("now", "-") for row in made.results[who]["liquidation"] for cell in row[2:])
    cli_names = [c["name"] for c in doc["checks"]]
    page_names = [c["name"] for c in made.results[who]["checks"]]
    assert cli_names == page_names[: len(cli_names)]


def test_on_chain_checks_pass_through_the_users_rpc(made: Made) -> None:
    result = made.results["on chain"]
    assert failed(result) == set(), result["checks"]
    names = {c["name"] for c in result["checks"]}
    assert {"accounts posted", "market posted", "on-chain params", "on-chain record"} <= names
    record = next(c for c in result["checks"] if c["name"] == "on-chain record")
    assert "gate: status" in record["detail"]
    assert any(u.startswith(made.rpc) for u in result["requests"])
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 10_000


def test_a_gate_that_is_not_there_is_one_failed_check(made: Made) -> None:
    result = made.results["no gate there"]
    assert failed(result) == {"on chain"}
    assert "no contract at this address" in result["checks"][-1]["detail"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong salt", {"accounts tree"}),
        ("altered position", {"accounts tree", "margin"}),
        ("another account", {"entry", "accounts tree", "margin"}),
        ("stale market", {"bundle fields", "market root"}),
    ],
)
def test_each_failure_names_its_check(made: Made, case: str, expected: set[str]) -> None:
    result = made.results[case]
    got = failed(result)
    assert expected <= got and got <= expected | {"margin"}, (case, result["checks"])
    assert result["verdict"].startswith("audit failed")


def test_a_file_that_breaks_a_bound_names_the_field(made: Made) -> None:
    result = made.results["bound broken"]
    assert [c["name"] for c in result["checks"]] == ["account file"]
    assert "account.cash: must satisfy |cash| < 2**80" in result["checks"][0]["detail"]
    zkpm1 = made.results["ZKPM-1 params"]
    assert [c["name"] for c in zkpm1["checks"]] == ["params file"]
    assert "params.format: a ZKPM-1 params file: this audit computes ZKPM-2" in zkpm1["checks"][0]["detail"]
    missing = made.results["missing file"]
    assert failed(missing) == {"files"} and "vkey" in missing["checks"][0]["detail"]


def test_a_phone_sized_page_fetches_the_files_from_urls(made: Made) -> None:
    """The healthy user's audit (their liquidation prices are the widest cells) fits the screen."""
    phone = made.results["phone, from URLs"]
    assert failed(phone) == set() and len(phone["checks"]) == 9
    assert any(cell not in ("now", "-") for row in phone["liquidation"] for cell in row[2:])
    assert phone["scrollWidth"] <= 390  # nothing wider than the screen
    assert phone["assets"] and all(len(row) == 6 for row in phone["assets"])  # every part shown


def test_files_dropped_at_once_are_each_recognised(made: Made) -> None:
    dropped = made.results["dropped"]
    assert failed(dropped) == set() and len(dropped["checks"]) == 9

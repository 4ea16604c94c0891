"""The CLI's structure: lazy commands, one registry, examples in every help, exit codes,
the settings object, the chain-target rule, one money format and one status enum."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError
from engine.money import money, money_amount
from engine.status import Status
from zkmargin.cli.main import COMMANDS, cli
from zkmargin.cli.options import chain_target
from zkmargin.cli.render import CliError
from zkmargin.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def _every_command() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []

    def walk(cmd: click.Command, path: str) -> None:
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                walk(sub, f"{path} {name}".strip())
        else:
            found.append((path, cmd))

    walk(cli, "")
    return found


def test_top_level_help_imports_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "from zkmargin.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('web3', 'eth_tester', 'scipy', 'py_ecc', 'eth_abi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert "Commands:" in out.stdout and "operator" in out.stdout


def test_registry_help_is_each_command_own_first_line() -> None:
    ctx = click.Context(cli)
    for name, (_, _, short) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=200) == short, name


def test_every_command_help_shows_an_example() -> None:
    commands = _every_command()
    assert len(commands) >= 20
    for path, command in commands:
        assert "Example" in (command.help or ""), f"zkmargin {path} --help has no example"


def test_exit_codes(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "zkmargin.cli.main", *args], capture_output=True, text=True, cwd=tmp_path
        )

    assert run("--help").returncode == 0
    bad = run("margin", "--market", str(tmp_path / "none.json"), "--params", "x", "y")
    assert bad.returncode == 2 and "does not exist" in bad.stderr
    empty = tmp_path / "market.json"
    empty.write_text("{}")
    params = ROOT / "examples" / "params.json"
    bad_input = run("margin", "--market", str(empty), "--params", str(params), str(params))
    assert bad_input.returncode == 2 and "invalid input: market.format" in bad_input.stderr
    no_chain = run("chain", "--deployment", str(tmp_path / "d.json"), "status")
    assert no_chain.returncode == 2 and "no deployment file" in no_chain.stderr


# ---------------------------------------------------------------------- money


def test_money_rounds_down_to_the_cent_and_names_the_currency() -> None:
    assert money(-27_500 * 10**6) == "-27,500.00 USD"
    assert money_amount(12_903_089_999) == "12,903.08"
    assert money_amount(-1) == "-0.01"  # toward minus infinity
    assert money_amount(9_999) == "0.00"
    assert money_amount(2**254).endswith(".00") or "," in money_amount(2**254)


@given(st.integers(min_value=-(2**200), max_value=2**200))
def test_money_amount_is_exact(x: int) -> None:
    text = money_amount(x)
    units, cents = text.replace(",", "").split(".")
    value = int(units) * 100 + (int(cents) if not units.startswith("-") else -int(cents))
    assert value == x // 10**4


def test_status_enum() -> None:
    assert [s.label for s in Status] == ["healthy", "restricted", "liquidatable", "insolvent"]
    assert [s.opens_liquidation for s in Status] == [False, False, True, True]
    assert Status.label_of(7) == "unknown" and Status(2) == 2


# ------------------------------------------------------------------- settings


def test_settings_flag_beats_environment_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "zkmargin.toml"
    config.write_text('[chain]\nrpc = "http://file:1"\ndeployment = "d.json"\n[operator]\nworkers = 3\n')
    monkeypatch.setenv("ZKMARGIN_CONFIG", str(config))
    monkeypatch.delenv("ZKMARGIN_RPC", raising=False)
    settings = load_settings()
    assert settings.get("chain.rpc") == "http://file:1"
    assert settings.get("chain.deployment") == tmp_path / "d.json"  # relative to the file
    assert settings.get("operator.workers") == 3 and settings.get("operator.poll") == 5.0
    monkeypatch.setenv("ZKMARGIN_RPC", "http://env:2")
    assert settings.get("chain.rpc") == "http://env:2"
    assert settings.get("chain.rpc", "http://flag:3") == "http://flag:3"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("[chain]\nrpcc = 1\n", "zkmargin.toml:chain.rpcc", "unknown setting"),
        ("[operator]\nworkers = 0\n", "zkmargin.toml:operator.workers", "integer >= 1"),
        ("[operator]\npoll = -1\n", "zkmargin.toml:operator.poll", "(0, 86400)"),
        ("chain = 3\n", "zkmargin.toml:chain", "[section] table"),
        ("[chain\n", str(Path("zkmargin.toml")), "not valid TOML"),
    ],
)
def test_bad_settings_name_the_key(
    text: str, field: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "zkmargin.toml"
    config.write_text(text)
    monkeypatch.setenv("ZKMARGIN_CONFIG", str(config))
    with pytest.raises(InputError) as err:
        load_settings()
    assert err.value.field.endswith(field) and words in err.value.message


def test_example_operator_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKMARGIN_CONFIG", str(ROOT / "examples" / "zkmargin.toml"))
    settings = load_settings()
    assert settings.get("operator.profile") == "test"
    assert settings.get("operator.accounts") == ROOT / "examples" / "accounts-test.json"


def test_chain_target_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZKMARGIN_RPC", raising=False)
    assert chain_target(None, "http://a:1", "http://rec:9") == "http://a:1"
    assert chain_target("anvil", None, "http://rec:9") == "anvil"
    assert chain_target(None, None, "http://rec:9") == "http://rec:9"
    monkeypatch.setenv("ZKMARGIN_RPC", "http://env:2")
    assert chain_target(None, None, "http://rec:9") == "http://env:2"
    monkeypatch.delenv("ZKMARGIN_RPC")
    with pytest.raises(CliError, match="lived only inside the deploying process"):
        chain_target(None, None, None, "embedded")
    with pytest.raises(CliError, match="no chain given"):
        chain_target(None, None, None)
    with pytest.raises(click.UsageError):
        chain_target("embedded", "http://a:1", None)


# -------------------------------------------------------------- account new


def test_account_new_and_named_trades(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_cli_engine import HISTORY, run_cli

    examples = ROOT / "examples"
    market = tmp_path / "market.json"
    argv = [
        "market",
        "build",
        "--quotes",
        str(examples / "quotes.json"),
        "--params",
        str(examples / "params.json"),
    ]
    assert (
        run_cli(
            [*argv, "--profile", "demo", "--epoch", "1", "--history", str(HISTORY), "--out", str(market)],
            capsys,
        )[0]
        == 0
    )
    account = tmp_path / "a.json"
    code, out, err = run_cli(
        [
            "account",
            "new",
            "--market",
            str(market),
            "--id",
            "2001",
            "--cash",
            "10000.5",
            "--position",
            "BTC-PERP:-2.5",
            "--position",
            "ETH:12",
            "--label",
            "zoe",
            "--out",
            str(account),
        ],
        capsys,
    )
    assert code == 0, err
    doc = json.loads(account.read_text())
    assert doc["format"] == "zkmargin/account@1" and doc["cash"] == 10_000_500_000
    assert sorted((p["q"]) for p in doc["positions"]) == [-2_500_000, 12_000_000]
    assert int(doc["salt"]) > 0 and "commitment" in out
    again = tmp_path / "b.json"
    assert (
        run_cli(["account", "new", "--market", str(market), "--id", "1", "--out", str(again)], capsys)[0] == 0
    )
    assert json.loads(again.read_text())["salt"] != doc["salt"]  # a fresh random salt

    # the same trade by name and size, and by id and x10^6 units, give one explanation
    params = str(examples / "params.json")
    base = ["explain", "--market", str(market), "--params", params, str(account), "--json"]
    by_name = run_cli([*base, "--trade", "BTC-PERP:2.5"], capsys)
    rows = json.loads(market.read_text())["rows"]
    perp_id = next(r["instrument_id"] for r in rows if r.get("name") == "BTC-PERP")
    by_id = run_cli([*base, "--trade", f"{perp_id}:2500000"], capsys)
    assert by_name[0] == by_id[0] == 0
    assert json.loads(by_name[1])["what_if"] == json.loads(by_id[1])["what_if"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--position", "BTC-PERP:0.0000001"], "--position[0]: has more than 6 decimals"),
        (["--position", "DOGE-PERP:1"], "--position[0]: unknown instrument 'DOGE-PERP'"),
        (["--position", "BTC-PERP"], "--position[0]: must be NAME:SIZE"),
        (["--cash", "1e400"], "account.cash: |cash| must be < 2**80"),
        (["--cash", "abc"], "--cash: must be a decimal number"),
        (["--id", "-1"], "account.account_id"),
    ],
)
def test_account_new_bad_input(
    args: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_cli_engine import run_cli

    examples = ROOT / "examples"
    market = tmp_path / "market.json"
    build = [
        "market",
        "build",
        "--quotes",
        str(examples / "quotes-test.json"),
        "--params",
        str(examples / "params-test.json"),
    ]
    assert run_cli([*build, "--profile", "test", "--epoch", "1", "--out", str(market)], capsys)[0] == 0
    base = {"--id": "5", "--out": str(tmp_path / "acc.json")}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    argv = ["account", "new", "--market", str(market)]
    for key, value in base.items():
        if key != "--position":
            argv += [key, value]
    if "--position" in base:
        argv += ["--position", base["--position"]]
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert words in " ".join(err.split())
    assert not (tmp_path / "acc.json").exists()

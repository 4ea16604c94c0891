"""`zkmargin chain` on the embedded chain: a deploy works; later processes get a clear hint.
The one way every command reaches a node (`from_rpc`, its roles and keys) and a gate
(`open_gate`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3

from engine.errors import ZkmarginError
from tests.contracts.conftest import GateEnv
from tests.contracts.toy_prover import BATCH_TOY_SIZE, BatchToyProofSource
from verifier_contracts.chain import (
    NO_ACCOUNT,
    SIGNING_ROLES,
    Chain,
    ChainError,
    free_port,
    from_rpc,
    resolve_roles,
    signing_keys,
)
from verifier_contracts.deployment import (
    Deployment,
    DeploymentError,
    NoGate,
    NotAGate,
    load_deployment,
    open_gate,
    save_deployment,
)
from zkmargin.cli.chain import ChainOptions, _session
from zkmargin.cli.main import cli, main
from zkmargin.cli.render import CliError


def test_deploy_on_embedded_then_next_command_explains(proofs: BatchToyProofSource, tmp_path: Path) -> None:
    verifier_sol = tmp_path / "Groth16Verifier.sol"
    verifier_sol.write_text(proofs.verifier_sol, encoding="utf-8")
    deployment = tmp_path / "deployment.json"
    base = ["chain", "--deployment", str(deployment)]
    deploy = ["deploy", "--verifier-sol", str(verifier_sol), "--batch-size", str(BATCH_TOY_SIZE)]
    result = CliRunner().invoke(cli, [*base, "--chain", "embedded", *deploy], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"batches of {BATCH_TOY_SIZE}" in result.output
    saved = load_deployment(deployment)
    assert saved.chain == "embedded" and saved.gate.startswith("0x")
    assert set(saved.roles) == {"owner", "governance", "oracle", "operator", "liquidator", "user"}

    later = CliRunner().invoke(cli, [*base, "post-market", "--root", "5", "--epoch", "1"])
    assert isinstance(later.exception, ZkmarginError)
    assert "lived only inside the deploying process" in str(later.exception)


def test_missing_deployment_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["chain", "--deployment", str(tmp_path / "none.json"), "status"])
    assert exc.value.code == 2
    assert "zkmargin chain deploy" in capsys.readouterr().err


def test_a_verifier_without_its_batch_size_is_refused(proofs: BatchToyProofSource, tmp_path: Path) -> None:
    verifier_sol = tmp_path / "Groth16Verifier.sol"
    verifier_sol.write_text(proofs.verifier_sol, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["chain", "--chain", "embedded", "deploy", "--verifier-sol", str(verifier_sol)]
    )
    assert isinstance(result.exception, ZkmarginError)
    assert "--verifier-sol needs --batch-size K" in str(result.exception)


# ---------------------------------------------- one way to a node, one way to a gate


def test_open_gate_checks_the_chain_and_the_contract(bare: GateEnv) -> None:
    """`open_gate` (chain, operator run and audit): the gate of a deployment on its own chain;
    another chain id, or no contract at the address, is NoGate naming where it looked."""
    chain, gate = bare.chain, bare.gate
    deployment = Deployment(
        chain_id=chain.w3.eth.chain_id,
        chain="embedded",
        gate=gate.address,
        verifier=gate.verifier(),
        block_number=1,
        max_market_age=3600,
    )
    assert open_gate(chain, deployment).address == gate.address
    assert open_gate(chain, gate.address).batch_size() == BATCH_TOY_SIZE
    elsewhere = replace(deployment, chain_id=deployment.chain_id + 1)
    with pytest.raises(
        NoGate, match=rf"no gate at {gate.address} on embedded \(chain id \d+\) \(it was deployed"
    ):
        open_gate(chain, elsewhere)
    nothing = "0x" + "12" * 20
    with pytest.raises(NoGate, match=f"no gate at {nothing} on embedded"):
        open_gate(chain, replace(deployment, gate=nothing, chain="rpc"))
    with pytest.raises(DeploymentError, match="gate: not an address"):
        open_gate(chain, "0x1234")


def test_a_missing_gate_tells_chain_commands_how_to_deploy(bare: GateEnv, tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    save_deployment(
        Deployment(
            chain_id=bare.chain.w3.eth.chain_id,
            chain="rpc",
            gate="0x" + "12" * 20,
            verifier=bare.gate.verifier(),
            block_number=1,
            max_market_age=3600,
        ),
        path,
    )
    opts = ChainOptions(chain_kind="embedded", rpc=None, deployment_file=path)
    with pytest.raises(CliError, match=r"no gate at 0x1212.*: run `zkmargin chain node`"), _session(opts):
        pass


def test_roles_resolve_from_node_then_deployment_then_keys() -> None:
    node = [f"0x{i:040x}" for i in range(1, 7)]
    key = Account.create()
    recorded = {"oracle": "0x" + "ab" * 20, "stranger": "0x" + "cd" * 20}
    roles = resolve_roles(node, recorded, {"liquidator": key})
    assert roles.owner == Web3.to_checksum_address(node[0])
    assert roles.oracle == Web3.to_checksum_address(recorded["oracle"])
    assert roles.liquidator == key.address
    assert roles.user == Web3.to_checksum_address(node[5])
    # the keeper on a node without accounts: every sender signs with its key, the rest unused
    keys = {r: Account.create() for r in SIGNING_ROLES}
    lone = resolve_roles([], {}, keys, SIGNING_ROLES)
    assert lone.operator == keys["operator"].address
    assert lone.owner == Web3.to_checksum_address(NO_ACCOUNT)
    with pytest.raises(
        ChainError, match="no oracle account: the node has no unlocked accounts; set ZKMARGIN_ORACLE_KEY"
    ):
        resolve_roles([], {}, {}, SIGNING_ROLES)
    # chain commands take no keys: the node's accounts must cover every role
    with pytest.raises(ChainError, match="the node has 2 unlocked accounts; 6 are needed"):
        resolve_roles(node[:2], {}, None)


def test_signing_keys_come_from_the_environment() -> None:
    key = Account.create()
    keys = signing_keys({"ZKMARGIN_OPERATOR_KEY": " 0x" + key.key.hex() + "\n", "ZKMARGIN_ORACLE_KEY": ""})
    assert set(keys) == {"operator"} and keys["operator"].address == key.address
    with pytest.raises(ChainError, match="ZKMARGIN_LIQUIDATOR_KEY is not a private key"):
        signing_keys({"ZKMARGIN_LIQUIDATOR_KEY": "0x12"})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ws://127.0.0.1:8545", "WebSocket URLs need an async client"),
        ("127.0.0.1:8545", "not an RPC URL"),
        (f"http://127.0.0.1:{free_port()}", "no node answers at"),
    ],
)
def test_from_rpc_refuses_what_is_not_a_node(url: str, message: str) -> None:
    with pytest.raises(ChainError, match=message):
        from_rpc(url)


#: Contract creation code that leaves ``runtime`` at the new address (CODECOPY and RETURN).
def _creation(runtime: bytes) -> bytes:
    return (
        bytes([0x60, len(runtime), 0x60, 0x0C, 0x60, 0x00, 0x39, 0x60, len(runtime), 0x60, 0x00, 0xF3])
        + runtime
    )


#: A contract whose every call reverts with no data (as the Groth16 verifier does for any
#: function but its own) and one whose every call stops and returns nothing.
REVERTS = bytes.fromhex("60006000fd")
RETURNS_NOTHING = bytes.fromhex("00")


def deploy_code(chain: Chain, runtime: bytes) -> str:
    """Deploy a contract with this runtime code; its address."""
    tx = chain.w3.eth.send_transaction({"from": chain.roles.owner, "data": _creation(runtime)})
    address = chain.w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    assert chain.w3.eth.get_code(address) == runtime
    return str(address)


def test_open_gate_refuses_a_contract_that_is_not_a_batch_gate(bare: GateEnv) -> None:
    """The verifier's address (or any other contract) where the gate should be: NotAGate,
    naming the address and what failed, before any command reads or sends anything."""
    chain, gate = bare.chain, bare.gate
    verifier = gate.verifier()
    with pytest.raises(
        NotAGate,
        match=rf"the contract at {verifier} on embedded .* is not a BatchGate: its batchSize\(\) reverts",
    ):
        open_gate(chain, verifier)
    silent = deploy_code(chain, RETURNS_NOTHING)
    with pytest.raises(
        NotAGate, match=f"{silent} .* is not a BatchGate: its batchSize.. returns no BatchGate answer"
    ):
        open_gate(chain, silent)
    deployment = Deployment(
        chain_id=chain.w3.eth.chain_id, chain="rpc", gate=deploy_code(chain, REVERTS), verifier=verifier,
        block_number=1, max_market_age=3600,
    )  # fmt: skip
    with pytest.raises(NotAGate, match="is not a BatchGate"):
        open_gate(chain, deployment)
    assert isinstance(open_gate(chain, gate.address), type(gate))

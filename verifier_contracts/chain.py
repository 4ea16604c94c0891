"""Connect to a chain: embedded (py-evm in this process), anvil (started and stopped here), or RPC.

* ``embedded`` (default): web3's EthereumTesterProvider on py-evm. It lives only inside
  this Python process, so it suits tests and the one-process demo, not a sequence of CLI
  commands in separate processes.
* ``anvil``: starts ``node_modules/.bin/anvil`` on a free 127.0.0.1 port and stops it, by
  its pid, when the context ends.
* any ``http(s)://`` URL: a running node with unlocked, funded accounts (for example
  ``zkmargin chain node`` or an anvil started by hand).

Every connection exposes the same :class:`Roles` (owner, governance, oracle, operator,
liquidator, user). :func:`from_rpc` is the one way every command reaches a node and
resolves its roles: the node's first accounts, then the addresses a deployment file
recorded, then the private keys given (:func:`signing_keys`, which the keeper reads from
the environment).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_tester import EthereumTester
from web3 import EthereumTesterProvider, Web3

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

from engine.errors import ZkmarginError
from prover.paths import node_modules

EMBEDDED = "embedded"
ANVIL = "anvil"
ANVIL_HARDFORK = "prague"
ANVIL_START_TIMEOUT = 30.0
ROLE_NAMES = ("owner", "governance", "oracle", "operator", "liquidator", "user")
#: Roles the keeper sends transactions for (each may sign with its own key).
SIGNING_ROLES = ("oracle", "operator", "liquidator")
#: Seconds an RPC request may take.
RPC_TIMEOUT = 60
#: The address of a role that never sends a transaction of the caller.
NO_ACCOUNT = "0x" + "00" * 20


class ChainError(ZkmarginError):
    """A chain could not be reached or started; the message says why."""


@dataclass(frozen=True)
class Roles:
    """Funded accounts for every role (addresses, checksummed)."""

    owner: str
    governance: str
    oracle: str
    operator: str
    liquidator: str
    user: str

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in ROLE_NAMES}


@dataclass
class Chain:
    """A connected chain: web3 handle, role accounts, and how it was reached."""

    w3: Web3
    roles: Roles
    kind: str
    rpc_url: str | None = None
    tester: EthereumTester | None = field(default=None, repr=False)

    def local_keys(self) -> list[LocalAccount]:
        """The private keys of the embedded chain's funded accounts (its node signs nothing);
        none for other chains, whose nodes sign for their unlocked accounts."""
        if self.tester is None:
            return []
        from eth_account import Account as EthAccount

        return [EthAccount.from_key(key.to_bytes()) for key in self.tester.backend.account_keys]

    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance_time(self, seconds: int) -> None:
        """Move chain time forward by ``seconds``. Embedded: the next block is at exactly
        latest + ``seconds`` (eth-tester mines one block a second before it). Nodes: a block
        is mined at latest + ``seconds``, so the next one is at least a second later."""
        if seconds < 0:
            raise ValueError("advance_time: seconds must be >= 0")
        if self.tester is not None:
            self.tester.time_travel(self.now() + seconds)
            return
        self._rpc("evm_setNextBlockTimestamp", [self.now() + seconds])
        self._rpc("evm_mine", [])

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise ChainError(f"{method} failed on {self.kind}: {response['error']}")
        return response.get("result")


def embedded() -> Chain:
    """A fresh in-process py-evm chain (with the faster ecPairing precompile:
    :mod:`verifier_contracts.fast_pairing`)."""
    from verifier_contracts.fast_pairing import install

    install()
    tester = EthereumTester()
    w3 = Web3(EthereumTesterProvider(tester))
    return Chain(w3=w3, roles=resolve_roles(list(w3.eth.accounts), {}, None), kind=EMBEDDED, tester=tester)


def from_rpc(
    url: str,
    kind: str = "rpc",
    *,
    recorded: Mapping[str, str] | None = None,
    keys: Mapping[str, LocalAccount] | None = None,
    senders: Sequence[str] = ROLE_NAMES,
) -> Chain:
    """Connect to a running node at ``url`` (HTTP) and resolve the roles: the node's unlocked
    accounts in :data:`ROLE_NAMES` order, then the ``recorded`` addresses (a deployment
    file's), then the addresses of the private ``keys`` given. Every role in ``senders``
    must have an address; the others not found stand at :data:`NO_ACCOUNT`."""
    if not isinstance(url, str):
        raise ChainError(f"not an RPC URL: {url!r} (expected an http:// or https:// string)")
    if url.startswith(("ws://", "wss://")):
        raise ChainError("WebSocket URLs need an async client; use the node's HTTP URL")
    if not url.startswith(("http://", "https://")):
        raise ChainError(f"not an RPC URL: {url!r} (expected http:// or https://)")
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": RPC_TIMEOUT}))
    if not w3.is_connected():
        raise ChainError(f"no node answers at {url}")
    roles = resolve_roles(node_accounts(w3), recorded or {}, keys, senders)
    return Chain(w3=w3, roles=roles, kind=kind, rpc_url=url)


def node_accounts(w3: Web3) -> list[str]:
    """The node's unlocked accounts; none where the node does not serve ``eth_accounts``
    (a public node may not)."""
    from web3.exceptions import Web3Exception

    try:
        return list(w3.eth.accounts)
    except Web3Exception:
        return []


def resolve_roles(
    accounts: Sequence[str],
    recorded: Mapping[str, str],
    keys: Mapping[str, LocalAccount] | None,
    senders: Sequence[str] = ROLE_NAMES,
) -> Roles:
    """The role addresses (see :func:`from_rpc`); a sender without one is an error that says
    what is missing: more unlocked accounts, or (where keys are taken) the role's key."""
    roles: dict[str, str] = dict(zip(ROLE_NAMES, accounts, strict=False))
    roles |= {k: v for k, v in recorded.items() if k in ROLE_NAMES}
    roles |= {role: key.address for role, key in (keys or {}).items()}
    for role in senders:
        if role in roles:
            continue
        if keys is None:
            needed = 1 + max(ROLE_NAMES.index(r) for r in senders)
            raise ChainError(f"the node has {len(accounts)} unlocked accounts; {needed} are needed")
        raise ChainError(f"no {role} account: the node has no unlocked accounts; set {key_variable(role)}")
    return Roles(**{r: Web3.to_checksum_address(roles.get(r, NO_ACCOUNT)) for r in ROLE_NAMES})


def key_variable(role: str) -> str:
    """The environment variable of a role's private key: ``ZKMARGIN_ORACLE_KEY``."""
    return f"ZKMARGIN_{role.upper()}_KEY"


def signing_keys(environ: Mapping[str, str] | None = None) -> dict[str, LocalAccount]:
    """Private keys of the :data:`SIGNING_ROLES` from ``ZKMARGIN_ORACLE_KEY``,
    ``ZKMARGIN_OPERATOR_KEY`` and ``ZKMARGIN_LIQUIDATOR_KEY`` (hex); a role without one is
    signed for by the node."""
    from eth_account import Account

    env = os.environ if environ is None else environ
    keys: dict[str, LocalAccount] = {}
    for role in SIGNING_ROLES:
        name = key_variable(role)
        value = env.get(name)
        if value:
            try:
                keys[role] = Account.from_key(value.strip())
            except (ValueError, TypeError):
                raise ChainError(f"{name} is not a private key (64 hex digits)") from None
    return keys


def anvil_binary() -> Path:
    """The anvil binary from node_modules (env ZKMARGIN_ANVIL overrides)."""
    env = os.environ.get("ZKMARGIN_ANVIL")
    path = Path(env) if env else node_modules() / ".bin" / "anvil"
    if not path.exists():
        raise ChainError(f"anvil not found at {path}: run `make setup` (npm ci)")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def anvil_command(port: int) -> list[str]:
    """The command line that runs anvil on 127.0.0.1:``port``."""
    return [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(port), "--hardfork", ANVIL_HARDFORK]


@contextmanager
def anvil(port: int | None = None) -> Iterator[Chain]:
    """Start anvil on ``port`` (default: a free loopback port), yield a connection, stop it
    by its pid."""
    port = free_port() if port is None else port
    proc = subprocess.Popen(
        [*anvil_command(port), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        chain = _wait_for_anvil(proc, f"http://127.0.0.1:{port}")
        yield chain
    finally:
        _stop(proc)


def _wait_for_anvil(proc: subprocess.Popen[bytes], url: str) -> Chain:
    deadline = time.monotonic() + ANVIL_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise ChainError(f"anvil exited with {proc.returncode}: {err.strip()[-1000:]}")
        try:
            return from_rpc(url, kind=ANVIL)
        except ChainError:
            time.sleep(0.05)
    raise ChainError(f"anvil did not answer at {url} within {ANVIL_START_TIMEOUT:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stderr:
        proc.stderr.close()


@contextmanager
def connect(target: str = EMBEDDED) -> Iterator[Chain]:
    """Connect to ``target``: ``embedded``, ``anvil``, or an RPC URL."""
    if target == EMBEDDED:
        yield embedded()
    elif target == ANVIL:
        with anvil() as chain:
            yield chain
    else:
        yield from_rpc(target)

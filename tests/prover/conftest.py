"""Fixtures for the prover tests: a toy circuit with MarginCheck's public interface.

Everything is built once per session in a private cache folder (never the
project's ``.cache``): compile, a locally generated 2^8 ptau, the Groth16 setup,
a node worker, and one proof from the worker and one from the snarkjs CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prover.backends.node_worker import NodeWorker
from prover.backends.snarkjs_cli import cli_prove
from prover.keys.ptau import PtauChoice, resolve_ptau
from prover.keys.setup import SetupResult, setup_keys
from prover.results import ProofResult
from prover.toolchain.build import MARGIN_PUBLIC, BuildResult, CircuitSpec, build_circuit
from prover.toolchain.tools import Toolchain, find_toolchain

FIXTURES = Path(__file__).parent / "fixtures"
TOY_FILE = FIXTURES / "toy.circom"
TOY_POWER = 8  # Toy(4): 244 constraints + 5 public signals < 2^8


def toy_spec(n: int = 4, template_file: Path = TOY_FILE) -> CircuitSpec:
    return CircuitSpec(
        label=f"toy-{n}", template_file=template_file, template="Toy", args=(n,), public=MARGIN_PUBLIC
    )


def toy_input(
    x: tuple[int, ...] = (2, 3, 2, 2), salt: int = 5, market_root: int = 7, params_hash: int = 11
) -> dict[str, Any]:
    """A satisfying input: commitment = prod(x) + salt."""
    product = 1
    for v in x:
        product *= v
    return {
        "commitment": str(product + salt),
        "market_root": str(market_root),
        "params_hash": str(params_hash),
        "x": [str(v) for v in x],
        "salt": str(salt),
    }


@dataclass(frozen=True)
class Toy:
    tools: Toolchain
    cache: Path
    build: BuildResult
    ptau: PtauChoice
    ptau_messages: list[str]
    setup: SetupResult

    @property
    def vkey(self) -> dict[str, Any]:
        return json.loads(self.setup.vkey.read_text())


@pytest.fixture(scope="session")
def tools() -> Toolchain:
    return find_toolchain()


@pytest.fixture(scope="session")
def empty_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-shared-ptau")


@pytest.fixture(scope="session")
def toy(tools: Toolchain, tmp_path_factory: pytest.TempPathFactory, empty_dir: Path) -> Toy:
    cache = tmp_path_factory.mktemp("zkcache")
    build = build_circuit(toy_spec(), tools=tools, cache=cache)
    messages: list[str] = []
    ptau = resolve_ptau(TOY_POWER, tools=tools, cache=cache, shared_dir=empty_dir, notify=messages.append)
    setup = setup_keys(build, ptau, tools=tools)
    return Toy(tools, cache, build, ptau, messages, setup)


@pytest.fixture(scope="session")
def worker(tools: Toolchain) -> Iterator[NodeWorker]:
    with NodeWorker(tools) as w:
        yield w


@pytest.fixture(scope="session")
def worker_proof(toy: Toy, worker: NodeWorker) -> ProofResult:
    return worker.prove(toy.build.wasm, toy.setup.zkey, toy_input())


@pytest.fixture(scope="session")
def cli_proof(toy: Toy) -> ProofResult:
    return cli_prove(toy.build.wasm, toy.setup.zkey, toy_input(), tools=toy.tools)

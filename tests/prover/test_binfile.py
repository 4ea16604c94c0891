"""Header parsing of r1cs and ptau files, and snarkjs's ptau power rule."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from prover.curve import SCALAR_FIELD
from prover.errors import ProverError
from prover.toolchain.binfile import read_ptau_info, read_r1cs_info, required_power
from prover.toolchain.tools import strip_ansi

from .conftest import Toy

pytestmark = pytest.mark.circuit


@pytest.mark.parametrize(
    ("constraints", "public", "power"),
    [
        (244, 5, 8),
        (250, 5, 8),
        (251, 5, 9),
        (255, 0, 8),
        (256, 0, 9),
        (1, 0, 1),
        (65530, 5, 16),
        (65531, 5, 17),
    ],
)
def test_required_power_is_snarkjs_rule(constraints: int, public: int, power: int) -> None:
    # snarkjs zkey new: cirPower = floor(log2(constraints + public)) + 1
    assert required_power(constraints, public) == power
    assert 2**power > constraints + public >= 2 ** (power - 1) or constraints + public == 1


def test_r1cs_header_matches_snarkjs_r1cs_info(toy: Toy) -> None:
    info = read_r1cs_info(toy.build.r1cs)
    out = strip_ansi(
        subprocess.run(
            toy.tools.snarkjs_cmd("r1cs", "info", str(toy.build.r1cs)),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    def field(name: str) -> int:
        match = re.search(rf"# of {name}: (\d+)", out)
        assert match, out
        return int(match.group(1))

    assert info.prime == SCALAR_FIELD
    assert info.constraints == field("Constraints") == toy.build.constraints
    assert info.wires == field("Wires")
    assert info.public_inputs == field("Public Inputs") == 3
    assert info.public_outputs == field("Outputs") == 2
    assert info.private_inputs == field("Private Inputs")


def test_ptau_header(toy: Toy) -> None:
    info = read_ptau_info(toy.ptau.path)
    assert info.power == 8
    assert info.prepared


def test_not_a_ptau_file(tmp_path: Path, toy: Toy) -> None:
    bogus = tmp_path / "x.ptau"
    bogus.write_bytes(b"nope" + bytes(20))
    with pytest.raises(ProverError, match="not a ptau file"):
        read_ptau_info(bogus)
    with pytest.raises(ProverError, match="not a ptau file"):
        read_ptau_info(toy.build.r1cs)


def test_truncated_ptau(tmp_path: Path, toy: Toy) -> None:
    cut = tmp_path / "cut.ptau"
    cut.write_bytes(toy.ptau.path.read_bytes()[:40])
    with pytest.raises(ProverError, match="truncated"):
        read_ptau_info(cut)

"""Read the headers of the iden3 binary files the prover handles (r1cs, ptau).

Both formats share one layout: a 4-byte magic, ``u32`` version, ``u32`` section
count, then sections as ``u32`` type, ``u64`` size, payload (little endian).
Only the header sections are parsed; nothing large is read into memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from prover.errors import ProverError


def read_sections(fh: BinaryIO, path: Path, magic: bytes) -> dict[int, tuple[int, int]]:
    """Map section type -> (offset of payload, size); check the magic."""
    head = fh.read(12)
    if len(head) < 12 or head[:4] != magic:
        raise ProverError(f"{path}: not a {magic.decode()} file")
    (n_sections,) = struct.unpack_from("<I", head, 8)
    sections: dict[int, tuple[int, int]] = {}
    pos = 12
    for _ in range(n_sections):
        fh.seek(pos)
        raw = fh.read(12)
        if len(raw) < 12:
            raise ProverError(f"{path}: truncated {magic.decode()} file")
        kind, size = struct.unpack("<IQ", raw)
        sections.setdefault(kind, (pos + 12, size))
        pos += 12 + size
    return sections


@dataclass(frozen=True)
class R1csInfo:
    """Header of a circom ``.r1cs`` file."""

    prime: int
    wires: int
    public_outputs: int
    public_inputs: int
    private_inputs: int
    labels: int
    constraints: int

    @property
    def public_signals(self) -> int:
        """Outputs plus public inputs: the number of public signals of a proof."""
        return self.public_outputs + self.public_inputs


def read_r1cs_info(path: Path) -> R1csInfo:
    """Parse the header section (type 1) of an r1cs file."""
    with path.open("rb") as fh:
        sections = read_sections(fh, path, b"r1cs")
        if 1 not in sections:
            raise ProverError(f"{path}: r1cs file has no header section")
        offset, _ = sections[1]
        fh.seek(offset)
        (n8,) = struct.unpack("<I", fh.read(4))
        prime = int.from_bytes(fh.read(n8), "little")
        wires, outs, pubs, prvs, labels, constraints = struct.unpack("<IIIIQI", fh.read(28))
    return R1csInfo(prime, wires, outs, pubs, prvs, labels, constraints)


@dataclass(frozen=True)
class PtauInfo:
    """Header of a powers-of-tau file."""

    power: int
    ceremony_power: int
    prime: int
    prepared: bool  # has the phase-2 Lagrange sections (12..15) Groth16 setup needs


PREPARED_SECTIONS = (12, 13, 14, 15)


def read_ptau_info(path: Path) -> PtauInfo:
    """Parse the header section (type 1) of a ptau file and note whether it is phase-2 prepared."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ProverError(f"ptau {path}: cannot read ({exc.strerror})") from None
    with fh:
        sections = read_sections(fh, path, b"ptau")
        if 1 not in sections:
            raise ProverError(f"{path}: ptau file has no header section")
        offset, _ = sections[1]
        fh.seek(offset)
        (n8,) = struct.unpack("<I", fh.read(4))
        prime = int.from_bytes(fh.read(n8), "little")
        power, ceremony_power = struct.unpack("<II", fh.read(8))
    prepared = all(s in sections for s in PREPARED_SECTIONS)
    return PtauInfo(power, ceremony_power, prime, prepared)


def required_power(constraints: int, public_signals: int) -> int:
    """Smallest ptau power snarkjs accepts for a circuit (``zkey new``'s rule).

    snarkjs computes ``cirPower = log2(nConstraints + nPubInputs + nOutputs) + 1``
    with an integer floor log2, i.e. it needs ``2**power > constraints + public``.
    """
    return max(1, (constraints + public_signals).bit_length())

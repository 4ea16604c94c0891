"""Read circom's ``.r1cs``, ``.wtns`` and ``.sym`` files and check a witness in Python.

An independent check of a witness against the constraint system: for every
constraint ``<A, w> * <B, w> == <C, w> (mod p)``. Used by the circuit tests to show
that an honest witness satisfies the R1CS and that changing one signal breaks it.

Binary formats (iden3): a file is a 4-byte magic, a ``u32`` version, a ``u32``
section count, then sections ``(u32 type, u64 size, payload)``; integers are
little-endian, field elements ``n8`` bytes little-endian in normal (not Montgomery)
form.

* ``.r1cs`` section 1 header: ``n8, prime, nWires, nPubOut, nPubIn, nPrvIn, nLabels
  (u64), nConstraints``; section 2: per constraint three linear combinations, each
  ``u32 nTerms`` then ``(u32 wire, n8-byte coefficient)`` terms; section 3: wire ->
  label map (``u64`` per wire).
* ``.wtns`` section 1: ``n8, prime, nWitness``; section 2: the values.
* ``.sym``: CSV lines ``label,wire,component,name``; ``wire = -1`` for a signal the
  optimiser removed.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

from prover.toolchain.binfile import read_sections

LinearCombination = tuple[tuple[int, int], ...]  # (wire index, coefficient)
Constraint = tuple[LinearCombination, LinearCombination, LinearCombination]


@dataclass(frozen=True)
class R1CS:
    """A parsed constraint system."""

    prime: int
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_labels: int
    constraints: tuple[Constraint, ...]
    wire_to_label: tuple[int, ...] = ()

    @property
    def n_public(self) -> int:
        """Public signals: outputs then public inputs (wires 1..n_public)."""
        return self.n_pub_out + self.n_pub_in


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u32(self) -> int:
        (v,) = struct.unpack_from("<I", self.data, self.pos)
        self.pos += 4
        return int(v)

    def u64(self) -> int:
        (v,) = struct.unpack_from("<Q", self.data, self.pos)
        self.pos += 8
        return int(v)

    def big(self, n8: int) -> int:
        v = int.from_bytes(self.data[self.pos : self.pos + n8], "little")
        self.pos += n8
        return v


def _sections(path: Path, magic: bytes) -> tuple[_Reader, dict[int, tuple[int, int]]]:
    """The whole file in memory and its section table (``prover.toolchain.binfile.read_sections``)."""
    data = path.read_bytes()
    return _Reader(data), read_sections(io.BytesIO(data), path, magic)


def read_r1cs(path: Path | str) -> R1CS:
    """Parse a circom ``.r1cs`` file."""
    r, sections = _sections(Path(path), b"r1cs")
    r.pos = sections[1][0]
    n8 = r.u32()
    prime = r.big(n8)
    n_wires, n_pub_out, n_pub_in, n_prv_in = r.u32(), r.u32(), r.u32(), r.u32()
    n_labels = r.u64()
    n_constraints = r.u32()

    r.pos = sections[2][0]

    def lc() -> LinearCombination:
        n = r.u32()
        return tuple((r.u32(), r.big(n8)) for _ in range(n))

    constraints = tuple((lc(), lc(), lc()) for _ in range(n_constraints))

    labels: tuple[int, ...] = ()
    if 3 in sections:
        r.pos = sections[3][0]
        labels = tuple(r.u64() for _ in range(n_wires))
    return R1CS(prime, n_wires, n_pub_out, n_pub_in, n_prv_in, n_labels, constraints, labels)


def read_wtns(path: Path | str) -> list[int]:
    """Parse a ``.wtns`` file: the witness values, wire 0 (the constant 1) first."""
    r, sections = _sections(Path(path), b"wtns")
    r.pos = sections[1][0]
    n8 = r.u32()
    r.big(n8)  # prime
    n = r.u32()
    r.pos = sections[2][0]
    return [r.big(n8) for _ in range(n)]


def read_sym(path: Path | str) -> dict[str, int]:
    """Signal name -> witness (wire) index from a ``.sym`` file; removed signals are left out."""
    table: dict[str, int] = {}
    for line in Path(path).read_text().splitlines():
        if not line:
            continue
        _label, wire, _component, name = line.split(",", 3)
        if int(wire) >= 0:
            table[name] = int(wire)
    return table


def _evaluate(lc: LinearCombination, witness: list[int] | tuple[int, ...], p: int) -> int:
    return sum(coeff * witness[wire] for wire, coeff in lc) % p


def failing_constraints(
    r1cs: R1CS, witness: list[int] | tuple[int, ...], limit: int | None = None
) -> list[int]:
    """Indices of the constraints ``A * B == C`` that the witness breaks (at most ``limit``)."""
    if len(witness) != r1cs.n_wires:
        raise ValueError(f"witness has {len(witness)} values, the R1CS {r1cs.n_wires} wires")
    if witness[0] != 1:
        raise ValueError("witness[0] must be 1 (the constant wire)")
    p = r1cs.prime
    bad: list[int] = []
    for i, (a, b, c) in enumerate(r1cs.constraints):
        if (_evaluate(a, witness, p) * _evaluate(b, witness, p) - _evaluate(c, witness, p)) % p:
            bad.append(i)
            if limit is not None and len(bad) >= limit:
                break
    return bad


def is_satisfied(r1cs: R1CS, witness: list[int] | tuple[int, ...]) -> bool:
    """True when every constraint holds modulo the R1CS's prime."""
    return not failing_constraints(r1cs, witness, limit=1)

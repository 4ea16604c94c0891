"""BN254's two prime fields, the one place the prover layer names them (without loading a
curve library): the scalar field, in which circom, the witness and the public signals live
(the engine's ``FIELD_P``), and the base field of the curve's point coordinates."""

from __future__ import annotations

from engine.fixedpoint import FIELD_P

#: The scalar field r: public signals and witness values are below it.
SCALAR_FIELD = FIELD_P
#: The base field p: every coordinate of a proof's points is below it.
BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583

"""A faster ecPairing precompile (address 0x08) for the embedded py-evm chain.

py-evm checks a pairing product with py_ecc's pairing, one Miller loop per pair and a
plain final exponentiation: about a second for a Groth16 verification, which is most of
the time the embedded chain spends on a liquidation (and of the demo's). This module
computes the same check with :mod:`prover.verification.bn254_fast` (one shared Miller loop, a
Frobenius-split final exponentiation; its results are tested equal to py_ecc's), after
exactly py-evm's own input checks, in py-evm's order: every G1 point valid (py-evm's
``validate_point``), G2 coordinates below the field modulus, G2 points on the twist and
in the order-r subgroup. Refusals raise the same ``ValidationError``, which py-evm turns
into the precompile's failure; the gas charged is py-evm's, untouched.

:func:`install` swaps py-evm's internal ``_ecpairing`` for this one (once per process);
the embedded chain installs it. Anvil and real nodes are not affected.
"""

from __future__ import annotations

import importlib
from typing import Any

from eth._utils.bn128 import validate_point
from eth_utils import ValidationError
from py_ecc.optimized_bn128 import FQ2, b2, curve_order, field_modulus, is_inf, is_on_curve, multiply

from prover.verification import bn254_fast

_MODULE = importlib.import_module("eth.precompiles.ecpairing")  # the module, not the function
_ORIGINAL = _MODULE._ecpairing
CHUNK = 192  # one (G1, G2) pair: x1, y1, x2_i, x2_r, y2_i, y2_r, 32 bytes each


def pairing_check(data: Any) -> bool:
    """True when the product of the pairings of ``data``'s pairs is 1 (EIP-197)."""
    raw = bytes(data)
    pairs = []
    for start in range(0, len(raw), CHUNK):
        x1, y1, x2_i, x2_r, y2_i, y2_r = _MODULE._extract_point(raw[start : start + CHUNK])
        p1 = validate_point(x1, y1)
        for v in (x2_i, x2_r, y2_i, y2_r):
            if v >= field_modulus:
                raise ValidationError("value greater than field modulus")
        if (x2_i, x2_r, y2_i, y2_r) == (0, 0, 0, 0):
            continue  # the point at infinity of G2: its pairing is 1
        q = (FQ2([x2_r, x2_i]), FQ2([y2_r, y2_i]), FQ2.one())
        if not is_on_curve(q, b2):
            raise ValidationError("point is not on curve")
        if not is_inf(multiply(q, curve_order)):
            raise ValidationError("G2 point is not in the order-r subgroup")
        if is_inf(p1):
            continue  # the point at infinity of G1: its pairing is 1
        pairs.append((((x2_r, x2_i), (y2_r, y2_i)), (x1, y1)))
    try:
        product = bn254_fast.miller_loop(pairs)
    except bn254_fast.DegenerateLoop:  # never for subgroup points; py-evm's path as a fallback
        return bool(_ORIGINAL(data))
    return bool(bn254_fast.final_exponentiate(product) == bn254_fast.ONE)


def install() -> None:
    """Use :func:`pairing_check` for py-evm's ecPairing precompile in this process."""
    setattr(_MODULE, "_ecpairing", pairing_check)  # noqa: B010  (py-evm's module-level helper)


def original(data: Any) -> bool:
    """py-evm's own check (for tests and comparisons)."""
    return bool(_ORIGINAL(data))

"""The public signals of a ZKPM-2 proof, in their one order (docs/margin-model.md section 6).

The circuit declares the inputs in this order, snarkjs lists the outputs first, and the
prover, the proof bundles, the gate and the audit all read them by this order.
"""

from __future__ import annotations

#: Public outputs of MarginCheck.
PUBLIC_OUTPUTS = ("status", "shortfall")
#: Public inputs of MarginCheck, in declaration order.
PUBLIC_INPUTS = ("commitment", "market_root", "params_hash")
#: Every public signal of a proof: the outputs, then the inputs.
PUBLIC_SIGNALS = (*PUBLIC_OUTPUTS, *PUBLIC_INPUTS)

#: Public inputs of MarginBatch (no outputs), in declaration order; ``words`` is an
#: array of ceil(K / 2), two entries of the batch per word (docs/margin-model.md section 6b).
BATCH_PUBLIC_INPUTS = ("accounts_root", "market_root", "params_hash", "count", "words")

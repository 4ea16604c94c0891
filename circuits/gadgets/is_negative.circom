pragma circom 2.1.0;

include "signed_bits.circom";

// IsNegative(n): out = 1 if in < 0 else 0, reading in as a signed integer.
// Precondition (enforced: the proof fails otherwise): -2^n <= in < 2^n.
// Cost: n + 2 constraints.
template IsNegative(n) {
    signal input in;
    signal output out;
    component sb = SignedBits(n);
    sb.in <== in;
    out <== sb.neg;
}

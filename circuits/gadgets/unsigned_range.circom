pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";

// UnsignedRange(n): proves 0 <= in < 2^n.
// Preconditions: n <= 252 (so that the bit decomposition is unique in the field).
// Cost: n + 1 constraints (n booleanity checks, one recomposition).
template UnsignedRange(n) {
    assert(n >= 1 && n <= 252);
    signal input in;
    component bits = Num2Bits(n);
    bits.in <== in;
    for (var i = 0; i < n; i++) {
        _ <== bits.out[i];  // constrained inside Num2Bits; only the range matters
    }
}

pragma circom 2.1.0;

include "signed_bits.circom";

// LessThanSigned(n): out = 1 if a < b else 0, for signed integers a, b.
// Precondition: -2^n <= a, b < 2^n, so |a - b| < 2^(n+1); the difference is
// range-checked (the proof fails if it is wider) and its sign is the answer.
// Preconditions: n <= 250.  Cost: n + 3 constraints.
template LessThanSigned(n) {
    signal input a;
    signal input b;
    signal output out;
    component sb = SignedBits(n + 1);
    sb.in <== a - b;
    out <== sb.neg;
}

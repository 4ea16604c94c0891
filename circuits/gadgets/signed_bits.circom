pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";

// SignedBits(n): proves -2^n <= in < 2^n (two's-complement range of n + 1 bits)
// and outputs neg = 1 exactly when in < 0.
// How: y = in + 2^n is decomposed into n + 1 bits, so 0 <= y < 2^(n+1);
// bit n of y is 1 exactly when in >= 0.
// Preconditions: 1 <= n <= 251 (y's decomposition unique mod p).
// Cost: n + 2 constraints.
template SignedBits(n) {
    assert(n >= 1 && n <= 251);
    signal input in;
    signal output neg;
    component bits = Num2Bits(n + 1);
    bits.in <== in + (1 << n);
    neg <== 1 - bits.out[n];
    for (var i = 0; i < n; i++) {
        _ <== bits.out[i];  // constrained inside Num2Bits; only bit n is read
    }
}
